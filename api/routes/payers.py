"""The tenant's payer table over HTTP (admin writes, operations read)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.deps import SessionDep, require
from api.errors import Unprocessable
from models.access import Principal
from services import payers

router = APIRouter(prefix="/v1/payers", tags=["payers"])


class PayerIn(BaseModel):
    payer_id: str = Field(description="the payer id as the EHR's Coverage names it (e.g. MEDICARE)")
    name: str = Field(description="the payer's name on the claim (NM1*PR03)")
    x12_payer_id: str = Field(description="the clearinghouse payer id (NM1*PR09)")
    filing_indicator: str = Field(description="SBR09: MB, MA, MC, CI, BL, HM, 12, …")


@router.get("")
async def list_payers(session: SessionDep, who: Annotated[Principal, Depends(require("claims.read"))]) -> list[dict[str, Any]]:
    return await payers.listing(session, who.tenant_id)


@router.post("", status_code=201)
async def add_payer(body: PayerIn, session: SessionDep, who: Annotated[Principal, Depends(require("payers.manage"))]) -> dict[str, Any]:
    """Add a payer, or correct the one with the same payer_id."""
    try:
        return await payers.add(session, who.tenant_id, body.payer_id, body.name, body.x12_payer_id, body.filing_indicator)
    except payers.PayerRefused as exc:
        raise Unprocessable(str(exc)) from exc
