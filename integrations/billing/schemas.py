"""Plain frozen inputs for building outbound X12.

They are Temporal-payload friendly (no pydantic, no I/O) and carry exactly what the 837P
needs; money is integer cents so no float ever reaches a claim.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal


@dataclass(frozen=True)
class Interchange:
    """ISA/GS envelope data. `control_number` is ISA13 and GS06 (1..999999999)."""

    sender_id: str
    receiver_id: str
    control_number: int
    created_at: datetime
    usage: Literal["T", "P"] = "T"
    sender_qualifier: str = "ZZ"
    receiver_qualifier: str = "ZZ"


@dataclass(frozen=True)
class Submitter:
    """Loop 1000A: who sends the file (us), with the contact the clearinghouse calls."""

    name: str
    submitter_id: str
    contact_name: str
    contact_phone: str


@dataclass(frozen=True)
class Receiver:
    """Loop 1000B: the clearinghouse or payer receiving the file."""

    name: str
    receiver_id: str


@dataclass(frozen=True)
class BillingProvider:
    """Loop 2010AA. `tax_id` is the EIN (REF*EI), digits only. `taxonomy` (PRV*BI) is the NUCC
    provider taxonomy code, written only when the tenant configured one."""

    npi: str
    name: str
    tax_id: str
    address_line1: str
    city: str
    state: str
    zip_code: str
    address_line2: str = ""
    taxonomy: str = ""


@dataclass(frozen=True)
class Subscriber:
    """Loop 2010BA. The subscriber is the patient (SBR02=18), the common professional case."""

    member_id: str
    last_name: str
    first_name: str
    birth_date: date
    sex: Literal["F", "M", "U"]
    address_line1: str
    city: str
    state: str
    zip_code: str
    address_line2: str = ""


Patient = Subscriber


@dataclass(frozen=True)
class Payer:
    """Loop 2010BB. `filing_indicator` is SBR09 (CI commercial, MB Medicare B, MC Medicaid)."""

    payer_id: str
    name: str
    filing_indicator: str = "CI"


@dataclass(frozen=True)
class RenderingProvider:
    """Loop 2310B: the clinician who performed the service, when not the billing entity."""

    npi: str
    last_name: str
    first_name: str
    taxonomy: str = ""  # PRV*PE, only when the chart names one


@dataclass(frozen=True)
class ServiceFacility:
    """Loop 2310C: where the service was rendered, only when that is not the billing provider's
    address. NM109 carries the facility's NPI when the chart gives one (it is situational)."""

    name: str
    address_line1: str
    city: str
    state: str
    zip_code: str
    npi: str = ""
    address_line2: str = ""


@dataclass(frozen=True)
class ServiceLine:
    """Loop 2400. `pointers` are 1-based positions in the claim's diagnoses (max 4)."""

    procedure_code: str
    charge_cents: int
    units: int
    pointers: list[int]
    service_date: date
    modifiers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DependentPatient:
    """Loop 2000C/2010CA: the patient when not the subscriber. `relationship` is PAT01
    (01 spouse, 19 child, 53 life partner, G8 other, 21 unknown)."""

    relationship: str
    last_name: str
    first_name: str
    birth_date: date
    sex: Literal["F", "M", "U"]
    address_line1: str
    city: str
    state: str
    zip_code: str
    address_line2: str = ""


@dataclass(frozen=True)
class Claim837:
    """Loop 2300. `diagnoses` are ICD-10-CM codes with or without the dot; the first is principal."""

    claim_control_number: str
    total_charge_cents: int
    place_of_service: str
    diagnoses: list[str]
    lines: list[ServiceLine]
    rendering_provider: RenderingProvider | None = None
    frequency_code: str = "1"
    patient: DependentPatient | None = None  # None: the subscriber is the patient
    service_facility: ServiceFacility | None = None  # None: rendered at the billing provider's address
