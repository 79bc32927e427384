"""Practitioners, organizations and coverage attached to an encounter.

These are looked up leniently: EHRs routinely reference people and payers that are not in the
pushed bundle, so an unresolvable relative or conditional reference keeps what it tells us (id,
NPI, display) instead of failing intake. Only ``urn:uuid`` references, which exist solely inside
the bundle, are reported as problems when they do not resolve.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from integrations.ehr.fhir import (
    NPI_SYSTEM,
    SNOMED_SYSTEM,
    codings,
    display_name,
    first_code,
    human_name,
    identifier_value,
    nonblank,
    obj,
    objs,
)
from integrations.ehr.references import (
    BundleIndex,
    Located,
    parse_conditional,
    reference_id,
    reference_type,
)
from integrations.ehr.schemas import CoverageIn, OrganizationIn, PractitionerIn, SubscriberIn

_PRACTITIONER_TYPES = frozenset({"Practitioner", "PractitionerRole"})


def _unresolved(path: str, ref: str, problems: list[str]) -> None:
    if ref.startswith("urn:"):
        problems.append(f"{path}: reference {ref!r} does not resolve inside the bundle")


def practitioner(
    index: BundleIndex, ref_obj: dict[str, Any], container: Located, path: str, problems: list[str]
) -> tuple[PractitionerIn, str | None] | None:
    """(practitioner, specialty code) for a reference, or None if it names no practitioner."""
    ref = nonblank(ref_obj.get("reference"))
    display = nonblank(ref_obj.get("display"))
    logical_npi = identifier_value([ref_obj.get("identifier")], system=NPI_SYSTEM)
    if ref is None:
        return (
            (PractitionerIn(None, logical_npi, display), None) if display or logical_npi else None
        )
    found = index.resolve(ref, container)
    if found is None:
        _unresolved(path, ref, problems)
        if reference_type(ref) not in _PRACTITIONER_TYPES:
            return None
        conditional = parse_conditional(ref)
        if conditional:
            npi = conditional.value if conditional.system == NPI_SYSTEM else None
            return PractitionerIn(None, npi or logical_npi, display), None
        return PractitionerIn(reference_id(ref), logical_npi, display), None
    specialty = None
    if found.type == "PractitionerRole":
        specialty = next(
            (c for s in objs(found.resource.get("specialty")) if (c := _specialty_code(s))), None
        )
        inner = obj(found.resource.get("practitioner")) or {}
        role_ref = nonblank(inner.get("reference"))
        person = index.resolve(role_ref, found) if role_ref else None
        if person is None or person.type != "Practitioner":
            name = nonblank(inner.get("display")) or display
            return PractitionerIn(reference_id(role_ref or ""), None, name), specialty
        found = person
    if found.type != "Practitioner":
        return None
    res = found.resource
    npi = identifier_value(res.get("identifier"), system=NPI_SYSTEM)
    family, given = human_name(res.get("name"))
    taxonomy = next(
        (c.get("code") for q in objs(res.get("qualification")) for c in codings(q.get("code")) if c.get("system") == NUCC_SYSTEM and c.get("code")),
        None,
    )
    return PractitionerIn(found.id, npi, display_name(res.get("name")) or display, family, given, taxonomy), specialty


NUCC_SYSTEM = "http://nucc.org/provider-taxonomy"


def _specialty_code(concept: Any) -> str | None:
    return first_code(concept, prefer_system=SNOMED_SYSTEM)


def organization(
    index: BundleIndex, ref_obj: Any, container: Located, path: str, problems: list[str]
) -> OrganizationIn | None:
    """The organization a reference names (resolved, or what the reference itself says)."""
    ref_dict = obj(ref_obj)
    if ref_dict is None:
        return None
    ref = nonblank(ref_dict.get("reference"))
    display = nonblank(ref_dict.get("display"))
    found = index.resolve(ref, container) if ref else None
    if found is not None and found.type == "Organization":
        res = found.resource
        npi = identifier_value(res.get("identifier"), system=NPI_SYSTEM)
        return OrganizationIn(found.id, npi, nonblank(res.get("name")) or display)
    if ref and found is None:
        _unresolved(path, ref, problems)
        conditional = parse_conditional(ref)
        if conditional:
            npi = conditional.value if conditional.system == NPI_SYSTEM else None
            return OrganizationIn(None, npi, display)
        return OrganizationIn(reference_id(ref), None, display)
    return OrganizationIn(None, None, display) if display else None


def coverage_for(index: BundleIndex, encounter: Located, patient: Located) -> CoverageIn | None:
    """Coverage for an encounter.

    First an active Coverage whose beneficiary is the encounter's patient; failing that, the
    (focal first) insurance of a Claim/ExplanationOfBenefit billed for this encounter, which is
    the only place Synthea exports coverage.
    """
    active = _active_coverage_by_patient(index).get(id(patient.resource))
    if active is not None:
        return _coverage(index, active)
    display_only: CoverageIn | None = None
    billed = id(encounter.resource)
    for loc in _billing(index, "ExplanationOfBenefit").get(billed, []) + _billing(index, "Claim").get(billed, []):
        insurance = sorted(
            objs(loc.resource.get("insurance")), key=lambda i: i.get("focal") is not True
        )
        for entry in insurance:
            cov = obj(entry.get("coverage")) or {}
            ref = nonblank(cov.get("reference"))
            found = index.resolve(ref, loc) if ref else None
            if found is not None and found.type == "Coverage":
                return _coverage(index, found)
            if display_only is None and (name := nonblank(cov.get("display"))):
                display_only = CoverageIn(None, None, name, None, None)
    return display_only


def charges_for(index: BundleIndex, encounter: Located) -> int | None:
    """Sum of Claim.total for the Claims billing this encounter, in cents (None when none says)."""
    totals: list[int] = []
    for loc in _billing(index, "Claim").get(id(encounter.resource), []):
        value = (obj(loc.resource.get("total")) or {}).get("value")
        if isinstance(value, int | float) and value >= 0:
            totals.append(int(Decimal(str(value)) * 100))
    return sum(totals) if totals else None


def _active_coverage_by_patient(index: BundleIndex) -> dict[int, Located]:
    """The first active Coverage per beneficiary (keyed by the patient resource's identity)."""
    found: dict[int, Located] | None = index.memo.get("coverage_by_patient")
    if found is None:
        found = {}
        for loc in index.of_type("Coverage"):
            res = loc.resource
            ref = nonblank((obj(res.get("beneficiary")) or {}).get("reference"))
            target = index.resolve(ref, loc) if ref else None
            if res.get("status") == "active" and target is not None:
                found.setdefault(id(target.resource), loc)
        index.memo["coverage_by_patient"] = found
    return found


def _billing(index: BundleIndex, resource_type: str) -> dict[int, list[Located]]:
    """Claims (or EOBs) in bundle order, per encounter they bill (keyed by resource identity)."""
    key = f"billing:{resource_type}"
    found: dict[int, list[Located]] | None = index.memo.get(key)
    if found is None:
        found = {}
        for claim in index.of_type(resource_type):
            billed: dict[int, None] = {}
            for item in objs(claim.resource.get("item")):
                for ref_obj in objs(item.get("encounter")):
                    ref = nonblank(ref_obj.get("reference"))
                    target = index.resolve(ref, claim) if ref else None
                    if target is not None:
                        billed[id(target.resource)] = None
            for target_id in billed:
                found.setdefault(target_id, []).append(claim)
        index.memo[key] = found
    return found


def _coverage(index: BundleIndex, loc: Located) -> CoverageIn:
    res = loc.resource
    payer_id, payer_name = _payer(index, loc)
    member_id = nonblank(res.get("subscriberId")) or next(
        (
            v
            for i in objs(res.get("identifier"))
            if any(c.get("code") == "MB" for c in codings(i.get("type")))
            and (v := nonblank(i.get("value")))
        ),
        None,
    )
    if member_id is None:
        member_id = next(
            (v for i in objs(res.get("identifier")) if (v := nonblank(i.get("value")))), None
        )
    plan = next(
        (
            nonblank(c.get("name")) or nonblank(c.get("value"))
            for c in objs(res.get("class"))
            if any(code.get("code") == "plan" for code in codings(c.get("type")))
        ),
        None,
    )
    external_id = loc.id if ".contained[" not in loc.path else None
    relationship = next((c for concept in [res.get("relationship")] for c in _codes(concept)), None)
    return CoverageIn(external_id, payer_id, payer_name, member_id, plan, relationship, _subscriber(index, loc))


def _codes(concept: Any) -> list[str]:
    return [code for c in codings(concept) if (code := nonblank(c.get("code")))]


def _subscriber(index: BundleIndex, loc: Located) -> SubscriberIn | None:
    """The policy holder, when Coverage.subscriber resolves to someone other than the beneficiary."""
    res = loc.resource
    ref = nonblank((obj(res.get("subscriber")) or {}).get("reference"))
    beneficiary = nonblank((obj(res.get("beneficiary")) or {}).get("reference"))
    found = index.resolve(ref, loc) if ref else None
    patient = index.resolve(beneficiary, loc) if beneficiary else None
    if found is None or found.type not in ("Patient", "RelatedPerson") or (patient and found.resource is patient.resource):
        return None
    person = found.resource
    family, given = human_name(person.get("name"))
    addresses = objs(person.get("address"))
    home = next((a for a in addresses if a.get("use") == "home"), addresses[0] if addresses else {})
    lines = [str(x) for x in home.get("line", []) if isinstance(x, str) and x.strip()]
    born = nonblank(person.get("birthDate"))
    try:
        birth_date = date.fromisoformat(born) if born else None
    except ValueError:
        birth_date = None
    return SubscriberIn(family, given, birth_date, nonblank(person.get("gender")), lines[0] if lines else None,
                        nonblank(home.get("city")), nonblank(home.get("state")), nonblank(home.get("postalCode")))  # fmt: skip


def _payer(index: BundleIndex, loc: Located) -> tuple[str | None, str | None]:
    """(payer id, payer name) from ``payor[0]``: a resolved Organization, else the reference."""
    payors = objs(loc.resource.get("payor"))
    if not payors:
        return None, None
    payor = payors[0]
    logical_id = nonblank((obj(payor.get("identifier")) or {}).get("value"))
    ref = nonblank(payor.get("reference"))
    found = index.resolve(ref, loc) if ref else None
    if found is not None:
        res = found.resource
        ident = next(
            (v for i in objs(res.get("identifier")) if (v := nonblank(i.get("value")))), None
        )
        name = display_name(res.get("name"))
        return ident or logical_id, name or nonblank(payor.get("display"))
    return logical_id, nonblank(payor.get("display"))
