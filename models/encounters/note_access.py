"""Who may read a chart's note text, and how much of it a page or an answer shows at once."""

from datetime import datetime

from models.access import Principal

# Characters of a document shown inline; the rest is one download away (a 15 MB note would
# otherwise make every page and answer of its chart slow).
DISPLAY_LIMIT = 100_000
_READERS = frozenset({"ops", "admin", "auditor"})


def may_read_note(who: Principal, *, assignee: str | None, lease_expires_at: datetime | None, now: datetime) -> bool:
    """Operations and auditors read every chart's notes; a coder only the chart it holds the lease on."""
    if who.role in _READERS:
        return True
    if who.role == "coder":
        return assignee == who.user_id and (lease_expires_at is None or lease_expires_at > now)
    return False
