"""Building an X12 5010 professional claim (837P, 005010X222A1).

One interchange, one functional group, one transaction holding every claim: the billing
provider is HL 1 (code 20) and each distinct subscriber/payer pair is a child HL (code 22,
HL04=0 because the subscriber is the patient). Input problems raise `X12BuildError` before
anything is serialized, so a half-written claim never leaves the building.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from integrations.billing.errors import X12BuildError
from integrations.billing.schemas import (
    BillingProvider,
    Claim837,
    DependentPatient,
    Interchange,
    Payer,
    Receiver,
    ServiceLine,
    Submitter,
    Subscriber,
)
from integrations.billing.writer import amount, clean, envelope, segment

VERSION = "005010X222A1"
MAX_DIAGNOSES = 12  # HI01..HI12
MAX_LINES = 50  # loop 2400 repeat
MAX_MODIFIERS = 4
MAX_POINTERS = 4
PATIENT_RELATIONSHIPS = frozenset({"01", "19", "20", "21", "39", "40", "53", "G8"})

ClaimEntry = tuple[Subscriber, Payer, Claim837]


def build_837p(
    interchange: Interchange,
    submitter: Submitter,
    receiver: Receiver,
    billing_provider: BillingProvider,
    claims: Sequence[ClaimEntry],
) -> str:
    """The complete interchange text; one segment per line."""
    if not claims:
        raise X12BuildError("an 837P needs at least one claim")
    at = interchange.created_at
    body = [
        segment("BHT", "0019", "00", str(interchange.control_number), at.strftime("%Y%m%d"),
                at.strftime("%H%M"), "CH"),
        segment("NM1", "41", "2", clean(submitter.name, "submitter name"), "", "", "", "", "46",
                clean(submitter.submitter_id, "submitter id")),
        segment("PER", "IC", clean(submitter.contact_name, "contact name"), "TE",
                _digits(submitter.contact_phone, "contact phone")),
        segment("NM1", "40", "2", clean(receiver.name, "receiver name"), "", "", "", "", "46",
                clean(receiver.receiver_id, "receiver id")),
        segment("HL", "1", "", "20", "1"),
        *_taxonomy(billing_provider.taxonomy),
        segment("NM1", "85", "2", clean(billing_provider.name, "billing provider name"), "", "",
                "", "", "XX", _npi(billing_provider.npi)),
        *_address(billing_provider.address_line1, billing_provider.address_line2,
                  billing_provider.city, billing_provider.state, billing_provider.zip_code),
        segment("REF", "EI", _digits(billing_provider.tax_id, "billing provider tax id")),
    ]  # fmt: skip
    hl = 1
    for (subscriber, payer), group in _group(claims):
        own = [c for c in group if c.patient is None]
        if own:  # 2000B with its claims: the subscriber is the patient (SBR02 = 18)
            hl += 1
            body += [segment("HL", str(hl), "1", "22", "0"), *_subscriber(subscriber, payer, is_patient=True)]
            body += [line for claim in own for line in _claim(claim)]
        dependents: dict[DependentPatient, list[Claim837]] = {}
        for claim in group:
            if claim.patient is not None:
                dependents.setdefault(claim.patient, []).append(claim)
        if dependents:  # 2000B without claims, then one 2000C per patient (SBR02 blank)
            hl += 1
            parent = hl
            body += [segment("HL", str(parent), "1", "22", "1"), *_subscriber(subscriber, payer, is_patient=False)]
            for patient, theirs in dependents.items():
                hl += 1
                body += [segment("HL", str(hl), str(parent), "23", "0"), *_patient(patient)]
                body += [line for claim in theirs for line in _claim(claim)]
    return envelope(interchange, "HC", VERSION, "837", [body])


def _patient(patient: DependentPatient) -> list[str]:
    if patient.relationship not in PATIENT_RELATIONSHIPS:
        raise X12BuildError(f"patient relationship {patient.relationship!r} is not a PAT01 code {sorted(PATIENT_RELATIONSHIPS)}")
    return [
        segment("PAT", patient.relationship),
        segment("NM1", "QC", "1", clean(patient.last_name, "patient last name"), clean(patient.first_name, "patient first name")),
        *_address(patient.address_line1, patient.address_line2, patient.city, patient.state, patient.zip_code),
        segment("DMG", "D8", patient.birth_date.strftime("%Y%m%d"), patient.sex),
    ]  # fmt: skip


def _taxonomy(code: str, qualifier: str = "BI") -> list[str]:
    """PRV*BI (loop 2000A) or PRV*PE (2310B) when a taxonomy is known; never a guessed one."""
    if not code:
        return []
    if not re.fullmatch(r"[0-9]{3}[0-9A-Z]{6}X", code):
        raise X12BuildError(f"provider taxonomy {code!r} is not a NUCC code (e.g. 207Q00000X)")
    return [segment("PRV", qualifier, "PXC", code)]


def _group(claims: Sequence[ClaimEntry]) -> list[tuple[tuple[Subscriber, Payer], list[Claim837]]]:
    """Claims of one subscriber with one payer share an HL, in first-seen order."""
    groups: dict[tuple[Subscriber, Payer], list[Claim837]] = {}
    for subscriber, payer, claim in claims:
        groups.setdefault((subscriber, payer), []).append(claim)
    return list(groups.items())


def _subscriber(subscriber: Subscriber, payer: Payer, *, is_patient: bool = True) -> list[str]:
    return [
        segment("SBR", "P", "18" if is_patient else "", "", "", "", "", "", "", clean(payer.filing_indicator, "SBR09")),
        segment("NM1", "IL", "1", clean(subscriber.last_name, "subscriber last name"),
                clean(subscriber.first_name, "subscriber first name"), "", "", "", "MI",
                clean(subscriber.member_id, "member id")),
        *_address(subscriber.address_line1, subscriber.address_line2, subscriber.city,
                  subscriber.state, subscriber.zip_code),
        segment("DMG", "D8", subscriber.birth_date.strftime("%Y%m%d"), subscriber.sex),
        segment("NM1", "PR", "2", clean(payer.name, "payer name"), "", "", "", "", "PI",
                clean(payer.payer_id, "payer id")),
    ]  # fmt: skip


def _claim(claim: Claim837) -> list[str]:
    ccn = clean(claim.claim_control_number, "claim control number")
    if not 0 < len(ccn) <= 20:
        raise X12BuildError(f"claim control number {ccn!r} must be 1-20 characters (CLM01)")
    if not claim.lines or len(claim.lines) > MAX_LINES:
        raise X12BuildError(f"claim {ccn}: needs 1-{MAX_LINES} service lines")
    if sum(line.charge_cents for line in claim.lines) != claim.total_charge_cents:
        raise X12BuildError(f"claim {ccn}: total charge must equal the sum of line charges")
    out = [
        segment("CLM", ccn, amount(claim.total_charge_cents), "", "",
                [clean(claim.place_of_service, "place of service"), "B",
                 clean(claim.frequency_code, "frequency code")], "Y", "A", "Y", "Y"),
        segment("HI", *_diagnoses(ccn, claim.diagnoses)),
    ]  # fmt: skip
    if claim.rendering_provider is not None:
        rp = claim.rendering_provider
        out.append(
            segment("NM1", "82", "1", clean(rp.last_name, "rendering last name"),
                    clean(rp.first_name, "rendering first name"), "", "", "", "XX", _npi(rp.npi))
        )  # fmt: skip
        out += _taxonomy(rp.taxonomy, "PE")
    if claim.service_facility is not None:
        sf = claim.service_facility
        out.append(
            segment("NM1", "77", "2", clean(sf.name, "service facility name"), "", "", "", "",
                    *(("XX", _npi(sf.npi)) if sf.npi else ()))
        )  # fmt: skip
        out += _address(sf.address_line1, sf.address_line2, sf.city, sf.state, sf.zip_code)
    for number, line in enumerate(claim.lines, start=1):
        out += _line(ccn, number, line, len(claim.diagnoses))
    return out


def _diagnoses(ccn: str, diagnoses: Sequence[str]) -> list[list[str]]:
    if not 0 < len(diagnoses) <= MAX_DIAGNOSES:
        raise X12BuildError(f"claim {ccn}: needs 1-{MAX_DIAGNOSES} diagnoses, got {len(diagnoses)}")
    codes = [clean(code, "diagnosis").replace(".", "").upper() for code in diagnoses]
    for code in codes:
        if not (3 <= len(code) <= 7 and code[0].isalpha() and code.isalnum()):
            raise X12BuildError(f"claim {ccn}: {code!r} is not an ICD-10-CM code")
    return [["ABK" if i == 0 else "ABF", code] for i, code in enumerate(codes)]


def _line(ccn: str, number: int, line: ServiceLine, diagnosis_count: int) -> list[str]:
    where = f"claim {ccn} line {number}"
    if len(line.modifiers) > MAX_MODIFIERS:
        raise X12BuildError(f"{where}: at most {MAX_MODIFIERS} modifiers")
    if not 0 < len(line.pointers) <= MAX_POINTERS:
        raise X12BuildError(f"{where}: needs 1-{MAX_POINTERS} diagnosis pointers")
    if any(not 1 <= p <= diagnosis_count for p in line.pointers):
        raise X12BuildError(f"{where}: pointers {line.pointers} must be in 1..{diagnosis_count}")
    if line.units <= 0 or line.charge_cents < 0:
        raise X12BuildError(f"{where}: units must be positive and the charge not negative")
    procedure = ["HC", clean(line.procedure_code, "procedure code")]
    procedure += [clean(m, "modifier") for m in line.modifiers]
    return [
        segment("LX", str(number)),
        segment("SV1", procedure, amount(line.charge_cents), "UN", str(line.units), "", "",
                [str(p) for p in line.pointers]),
        segment("DTP", "472", "D8", line.service_date.strftime("%Y%m%d")),
    ]  # fmt: skip


def _address(line1: str, line2: str, city: str, state: str, zip_code: str) -> list[str]:
    return [
        segment("N3", clean(line1, "address"), clean(line2, "address line 2")),
        segment("N4", clean(city, "city"), clean(state, "state"), _digits(zip_code, "zip code")),
    ]


def _digits(value: str, what: str) -> str:
    digits = "".join(ch for ch in value if ch.isdigit())
    if not digits:
        raise X12BuildError(f"{what} {value!r} has no digits")
    return digits


def valid_npi(npi: str) -> bool:
    """Ten digits with a valid Luhn check digit over the 80840 prefix."""
    if len(npi) != 10 or not npi.isdigit():
        return False
    total = 24  # the Luhn contribution of the 80840 prefix
    for i, ch in enumerate(reversed(npi[:9])):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return (10 - total % 10) % 10 == int(npi[9])


def _npi(npi: str) -> str:
    """NPI with its Luhn check (prefix 80840), so a typo fails here and not at the payer."""
    if len(npi) != 10 or not npi.isdigit():
        raise X12BuildError(f"NPI {npi!r} must be 10 digits")
    if not valid_npi(npi):
        raise X12BuildError(f"NPI {npi!r} fails its check digit")
    return npi
