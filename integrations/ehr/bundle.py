"""Turn a FHIR R4 Bundle pushed by an EHR into encounter intakes.

Validation is ours rather than a full FHIR validator's: we check exactly what intake relies on
and report every problem with its FHIR path in one :class:`FhirValidationError`, because the
integrator reading the 422 needs the whole list to fix a feed in one round trip.
"""

from __future__ import annotations

from typing import Any

from integrations.ehr.documents import documents_by_encounter
from integrations.ehr.errors import FhirValidationError
from integrations.ehr.fhir import (
    SNOMED_SYSTEM,
    codings,
    concept_display,
    first_code,
    human_name,
    nonblank,
    obj,
    objs,
    parse_date,
    parse_datetime,
)
from integrations.ehr.location import service_location
from integrations.ehr.participants import charges_for, coverage_for, organization, practitioner
from integrations.ehr.references import BundleIndex, Located
from integrations.ehr.schemas import DocumentIn, EncounterIntake, PatientIn, PractitionerIn

ACCEPTED_BUNDLE_TYPES = frozenset(
    {"transaction", "batch", "collection", "message", "searchset", "document"}
)
_SEXES = frozenset({"male", "female", "other", "unknown"})
_MRN_TYPE = "MR"


def parse_bundle(data: Any) -> list[EncounterIntake]:
    """Parse every Encounter in the bundle, or raise with all problems found."""
    problems: list[str] = []
    index = _index(data, problems)
    intakes: list[EncounterIntake] = []
    if index is not None:
        encounters = index.of_type("Encounter")
        if not encounters:
            problems.append("Bundle contains no Encounter")
        documents = documents_by_encounter(index, problems)
        seen: dict[str, str] = {}
        for loc in encounters:
            if loc.id in seen:
                problems.append(
                    f"{loc.path}: duplicate Encounter id {loc.id!r} (also {seen[loc.id]})"
                )
                continue
            if loc.id:
                seen[loc.id] = loc.path
            intake = _encounter(index, loc, documents.get(id(loc.resource), []), problems)
            if intake is not None:
                intakes.append(intake)
    if problems:
        # A resource shared by several encounters (the Patient) is checked once per encounter.
        raise FhirValidationError(list(dict.fromkeys(problems)))
    return intakes


def _index(data: Any, problems: list[str]) -> BundleIndex | None:
    """Check the Bundle envelope and index its entries; None when nothing more can be checked."""
    if not isinstance(data, dict):
        problems.append(f"Bundle must be a JSON object, got {type(data).__name__}")
        return None
    if data.get("resourceType") != "Bundle":
        problems.append(f"resourceType must be 'Bundle', got {data.get('resourceType')!r}")
        return None
    bundle_type = data.get("type")
    if not isinstance(bundle_type, str) or bundle_type not in ACCEPTED_BUNDLE_TYPES:
        allowed = ", ".join(sorted(ACCEPTED_BUNDLE_TYPES))
        problems.append(f"type must be one of {allowed}; got {bundle_type!r}")
    entries = data.get("entry")
    if not isinstance(entries, list) or not entries:
        problems.append("Bundle has no entry: send the Encounter and its resources as entries")
        return None
    located: list[Located] = []
    full_urls: dict[str, Located] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            problems.append(f"entry[{i}]: must be an object")
            continue
        resource = entry.get("resource")
        method = (obj(entry.get("request")) or {}).get("method")
        if resource is None and method in ("DELETE", "GET", "HEAD"):
            continue
        if not isinstance(resource, dict):
            problems.append(f"entry[{i}]: resource is required")
            continue
        if not nonblank(resource.get("resourceType")):
            problems.append(f"entry[{i}].resource: resourceType is required")
            continue
        full_url = nonblank(entry.get("fullUrl"))
        loc = Located(f"entry[{i}].resource", resource, full_url)
        located.append(loc)
        if full_url:
            full_urls.setdefault(full_url, loc)
    return BundleIndex(located, full_urls)


def _encounter(
    index: BundleIndex, loc: Located, documents: list[DocumentIn], problems: list[str]
) -> EncounterIntake | None:
    res = loc.resource
    label = f"{loc.path} ({loc.label})"
    before = len(problems)
    if loc.id is None:
        problems.append(f"{loc.path} (Encounter): id is required")
    status = nonblank(res.get("status"))
    if status is None:
        problems.append(f"{label}: status is required")
    patient = _subject(index, loc, label, problems)
    period = obj(res.get("period")) or {}
    start = parse_datetime(period.get("start"), f"{loc.path}.period.start", problems)
    end = parse_datetime(period.get("end"), f"{loc.path}.period.end", problems)
    if start and end and end < start:
        problems.append(
            f"{loc.path}.period: end {end.isoformat()} is before start {start.isoformat()}"
        )
    practitioners, role_specialty = _practitioners(index, loc, problems)
    provider = organization(
        index, res.get("serviceProvider"), loc, f"{loc.path}.serviceProvider", problems
    )
    types = objs(res.get("type"))
    class_field = res.get("class")
    class_concept = class_field[0] if isinstance(class_field, list) and class_field else class_field
    if len(problems) > before or patient is None or status is None or loc.id is None:
        return None
    return EncounterIntake(
        external_id=loc.id,
        status=status,
        class_code=first_code(class_concept),
        type_codes=tuple(
            dict.fromkeys(
                code for t in types for c in codings(t) if (code := nonblank(c.get("code")))
            )
        ),
        type_display=concept_display(types[0]) if types else None,
        specialty=first_code(res.get("serviceType"), prefer_system=SNOMED_SYSTEM) or role_specialty,
        period_start=start,
        period_end=end,
        patient=patient[1],
        practitioners=practitioners,
        coverage=coverage_for(index, loc, patient[0]),
        organization=provider,
        documents=tuple(documents),
        charges_cents=charges_for(index, loc),
        service_facility=service_location(index, loc),
    )


def _subject(
    index: BundleIndex, loc: Located, label: str, problems: list[str]
) -> tuple[Located, PatientIn] | None:
    ref = nonblank((obj(loc.resource.get("subject")) or {}).get("reference"))
    if ref is None:
        problems.append(f"{label}: subject is required (a reference to the Patient)")
        return None
    found = index.resolve(ref, loc)
    if found is None:
        problems.append(
            f"{loc.path}.subject: reference {ref!r} does not resolve inside the bundle; "
            "include the Patient as an entry"
        )
        return None
    if found.type != "Patient":
        problems.append(
            f"{loc.path}.subject: reference {ref!r} is a {found.type}, expected Patient"
        )
        return None
    patient = _patient(found, problems)
    return (found, patient) if patient else None


def _patient(loc: Located, problems: list[str]) -> PatientIn | None:
    res = loc.resource
    if loc.id is None:
        problems.append(f"{loc.path} (Patient): id is required")
    gender = res.get("gender")
    if gender is not None and (not isinstance(gender, str) or gender not in _SEXES):
        allowed = ", ".join(sorted(_SEXES))
        problems.append(f"{loc.path}.gender: must be one of {allowed}; got {gender!r}")
        gender = None
    birth_date = parse_date(res.get("birthDate"), f"{loc.path}.birthDate", problems)
    family, given = human_name(res.get("name"))
    if loc.id is None:
        return None
    return PatientIn(loc.id, _mrn(res), family, given, birth_date, gender, *_address(res))


def _address(patient: dict[str, Any]) -> tuple[str | None, str | None, str | None, str | None]:
    """Home (else first) address: street line, city, state, postal code — the claim needs them."""
    addresses = objs(patient.get("address"))
    home = next((a for a in addresses if a.get("use") == "home"), addresses[0] if addresses else {})
    raw_lines = home.get("line")
    lines = [x for x in raw_lines if isinstance(x, str) and x.strip()] if isinstance(raw_lines, list) else []
    return (
        lines[0] if lines else None,
        nonblank(home.get("city")),
        nonblank(home.get("state")),
        nonblank(home.get("postalCode")),
    )


def _mrn(patient: dict[str, Any]) -> str | None:
    """MRN: identifier typed MR, else a system mentioning 'mrn', else the first identifier."""
    with_value = [i for i in objs(patient.get("identifier")) if nonblank(i.get("value"))]
    typed = [
        i for i in with_value if any(c.get("code") == _MRN_TYPE for c in codings(i.get("type")))
    ]
    by_system = [i for i in with_value if "mrn" in str(i.get("system", "")).lower()]
    chosen = (typed or by_system or with_value)[:1]
    return nonblank(chosen[0].get("value")) if chosen else None


def _practitioners(
    index: BundleIndex, loc: Located, problems: list[str]
) -> tuple[tuple[PractitionerIn, ...], str | None]:
    """Distinct participating practitioners, in order, plus the first specialty a role states."""
    found: dict[tuple[str, str | None], PractitionerIn] = {}
    specialty: str | None = None
    for i, participant in enumerate(objs(loc.resource.get("participant"))):
        ref_obj = obj(participant.get("individual"))
        if ref_obj is None:
            continue
        path = f"{loc.path}.participant[{i}].individual"
        result = practitioner(index, ref_obj, loc, path, problems)
        if result is None:
            continue
        person, role_specialty = result
        specialty = specialty or role_specialty
        key = (
            ("id", person.external_id)
            if person.external_id
            else ("npi", person.npi)
            if person.npi
            else ("name", person.name)
        )
        found.setdefault(key, person)
    return tuple(found.values()), specialty
