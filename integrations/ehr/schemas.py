"""Domain intake objects produced from a FHIR Bundle.

Plain frozen dataclasses rather than pydantic models: they are built by our own parser (which
already validated the FHIR), passed between our own layers, and must be cheap and hashable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class FacilityIn:
    """A Location with a name and a full street address; `npi` only when it carries one."""

    name: str
    address_line: str
    city: str
    state: str
    postal_code: str
    address_line2: str | None = None
    npi: str | None = None


@dataclass(frozen=True)
class PatientIn:
    external_id: str
    mrn: str | None
    family: str | None
    given: str | None
    birth_date: date | None
    sex: str | None  # FHIR administrative gender: 'male' | 'female' | 'other' | 'unknown'
    address_line: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None


@dataclass(frozen=True)
class PractitionerIn:
    external_id: str | None  # None when only known through a conditional (NPI) reference
    npi: str | None
    name: str | None
    family: str | None = None  # from a resolved Practitioner's HumanName (the claim's NM1*82)
    given: str | None = None
    taxonomy: str | None = None  # a NUCC provider taxonomy in Practitioner.qualification (PRV*PE)


@dataclass(frozen=True)
class OrganizationIn:
    external_id: str | None
    npi: str | None
    name: str | None


@dataclass(frozen=True)
class SubscriberIn:
    """The policy holder when it is not the patient (Coverage.subscriber: Patient or RelatedPerson)."""

    family: str | None
    given: str | None
    birth_date: date | None
    sex: str | None
    address_line: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None


@dataclass(frozen=True)
class CoverageIn:
    external_id: str | None
    payer_id: str | None
    payer_name: str | None
    member_id: str | None
    plan: str | None
    # Coverage.relationship (subscriber-relationship code: self, spouse, child, …); None = unsaid.
    relationship: str | None = None
    subscriber: SubscriberIn | None = None


@dataclass(frozen=True)
class DocumentIn:
    external_id: str
    type_code: str | None
    type_display: str | None
    status: str
    content_type: str | None
    text: str | None  # decoded inline text; None for binary or by-URL content
    url: str | None
    sha256: str  # hex SHA-256 of the inline bytes, else of the URL string (dedup key)
    created: datetime | None
    title: str | None = None
    attachment_hash: str | None = None  # Attachment.hash as sent (base64 SHA-1 in R4)


@dataclass(frozen=True)
class EncounterIntake:
    external_id: str
    status: str
    class_code: str | None
    type_codes: tuple[str, ...]
    type_display: str | None
    specialty: str | None
    period_start: datetime | None
    period_end: datetime | None
    patient: PatientIn
    practitioners: tuple[PractitionerIn, ...]
    coverage: CoverageIn | None
    organization: OrganizationIn | None
    documents: tuple[DocumentIn, ...]
    # Total charges of the EHR's Claim(s) for this encounter, when the feed sends them; "$ at
    # hold" (DNFB) is measured with it.
    charges_cents: int | None = None
    # The Location the encounter took place at (integrations.ehr.location), for 837P loop 2310C.
    service_facility: FacilityIn | None = None
