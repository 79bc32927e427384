"""Facts the 837P needs that only the chart can give: checked before a claim is built.

Pure. A missing fact is a hard scrub edit that names it, so the claim is never sent with an
invented value (a member id made from our patient id, a payer called UNKNOWN, the billing
provider's address as the patient's).
"""

from dataclasses import dataclass
from typing import Any

from models.claims.scrub import ScrubEdit

CHECK = "claim_facts"


@dataclass(frozen=True)
class ClaimFacts:
    payer_id: str | None
    member_id: str | None
    payer_known: bool
    address_line: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    relationship: str | None = None  # Coverage.relationship (FHIR subscriber-relationship code)
    subscriber: dict[str, Any] | None = None  # the policy holder when not the patient


# FHIR subscriber-relationship → X12 PAT01 (individual relationship code).
PAT01 = {"spouse": "01", "child": "19", "common": "53", "injured": "21", "parent": "G8", "other": "G8"}
_SUBSCRIBER_FACTS = (("family", "last name"), ("given", "first name"), ("birth_date", "birth date"), ("address_line", "street"),
                     ("city", "city"), ("state", "state"), ("postal_code", "postal code"))  # fmt: skip


def is_dependent(relationship: str | None) -> bool:
    return relationship is not None and relationship != "self"


def claim_fact_edits(facts: ClaimFacts) -> list[ScrubEdit]:
    edits = []
    if not facts.payer_id:
        edits.append(ScrubEdit("coverage_missing", "hard", None, "", "the chart has no Coverage naming a payer; add the patient's insurance in the EHR"))
    elif not facts.payer_known:
        edits.append(ScrubEdit("payer_unknown", "hard", None, facts.payer_id,
                               f"payer {facts.payer_id!r} is not in this tenant's payer table; add it with 'clearchart payer add' or POST /v1/payers"))  # fmt: skip
    if facts.payer_id and not facts.member_id:
        edits.append(ScrubEdit("member_id_missing", "hard", None, "", "the Coverage has no subscriberId (member id)"))
    missing = [name for name, value in (("street", facts.address_line), ("city", facts.city), ("state", facts.state),
                                        ("postal code", facts.postal_code)) if not value]  # fmt: skip
    if missing:
        edits.append(ScrubEdit("patient_address_missing", "hard", None, "", f"the patient's address lacks {', '.join(missing)}"))
    if is_dependent(facts.relationship):
        person = facts.subscriber or {}
        lacking = [label for key, label in _SUBSCRIBER_FACTS if not person.get(key)]
        if lacking:
            edits.append(ScrubEdit("subscriber_missing", "hard", None, facts.relationship or "",
                                   f"the patient is the subscriber's {facts.relationship}; the Coverage's subscriber lacks {', '.join(lacking)}"))  # fmt: skip
    return edits
