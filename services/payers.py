"""The tenant's payer table: add (or correct) and list the payers its claims are billed to."""

import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.claims.payer_tables import FILING_INDICATORS
from models.repositories import payers as repo

_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_X12_ID = re.compile(r"[A-Za-z0-9]{2,80}")


class PayerRefused(ValueError):
    """A payer row that would put a wrong value on a claim."""


def check(payer_id: str, name: str, x12_payer_id: str, filing_indicator: str) -> None:
    if not _ID.fullmatch(payer_id):
        raise PayerRefused("payer_id must be 1-64 letters, digits, '.', '_' or '-' (as the Coverage names the payer)")
    if not name.strip() or len(name) > 60 or any(c in name for c in "~*:^|"):
        raise PayerRefused("name must be 1-60 characters without X12 delimiters (~ * : ^ |)")
    if not _X12_ID.fullmatch(x12_payer_id):
        raise PayerRefused("x12_payer_id (NM1*PR09) must be 2-80 letters or digits")
    if filing_indicator not in FILING_INDICATORS:
        raise PayerRefused(f"filing_indicator {filing_indicator!r} is not an SBR09 code; use one of {', '.join(FILING_INDICATORS)}")


async def add(session: AsyncSession, tenant_id: str, payer_id: str, name: str, x12_payer_id: str, filing_indicator: str) -> dict[str, Any]:
    """Add a payer, or correct one already there (same payer_id); commits."""
    check(payer_id, name, x12_payer_id, filing_indicator)
    values = {"name": name.strip(), "x12_payer_id": x12_payer_id, "filing_indicator": filing_indicator}
    await repo.upsert(session, tenant_id, payer_id, values)
    await session.commit()
    return {"payer_id": payer_id, **values}


async def listing(session: AsyncSession, tenant_id: str) -> list[dict[str, Any]]:
    rows = await repo.payers(session, tenant_id)
    return [{"payer_id": p.payer_id, "name": p.name, "x12_payer_id": p.x12_payer_id, "filing_indicator": p.filing_indicator} for p in rows]
