"""The hash-chain verification result as JSON: the same fields for the API and `clearchart audit verify`."""

from typing import Any

from models.repositories.evidence_chain import VerifyResult


def verify_json(result: VerifyResult) -> dict[str, Any]:
    """What was checked and the first broken event (None when every chain verified)."""
    brk = result.first_break
    return {
        "verified": result.verified,
        "encounters_checked": result.encounters_checked,
        "events_checked": result.events_checked,
        "broken_encounters": result.broken_encounters,
        "first_break": None
        if brk is None
        else {
            "encounter_id": brk.encounter_id,
            "seq": brk.seq,
            "action": brk.action,
            "occurred_at": brk.occurred_at.isoformat() if brk.occurred_at else None,
            "problem": brk.problem,
        },
    }
