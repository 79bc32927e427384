"""The Temporal UI's codec server protocol: POST /codec/decode (and /codec/encode).

Temporal keeps only encrypted payloads; an authorised operator's UI (Temporal UI setting
`codec.endpoint` with `passAccessToken`) sends them here with a ClearChart bearer token and gets
them back readable. Every decode is written to the PHI access log.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from google.protobuf.json_format import MessageToDict, ParseDict
from pydantic import BaseModel, Field
from temporalio.api.common.v1 import Payload

from api.access_log import CODEC_DECODE
from api.deps import SessionDep, require
from api.errors import Unprocessable
from clearchart.payload_codec import EncryptionCodec, payload_codec
from models.access import Principal
from models.access_log_tables import PhiAccess

router = APIRouter(prefix="/codec", tags=["operations"])


class PayloadsIn(BaseModel):
    payloads: list[dict[str, Any]] = Field(max_length=1000, description="Temporal payloads in proto3 JSON form")


class PayloadsOut(BaseModel):
    payloads: list[dict[str, Any]]


def _codec(request: Request) -> EncryptionCodec:
    codec: EncryptionCodec | None = getattr(request.app.state, "payload_codec", None)
    if codec is None:
        codec = request.app.state.payload_codec = payload_codec(request.app.state.settings)
    return codec


def _parse(raw: list[dict[str, Any]]) -> list[Payload]:
    try:
        return [ParseDict(p, Payload()) for p in raw]
    except Exception as exc:  # protobuf raises several types for malformed JSON
        raise Unprocessable(f"not Temporal payloads in proto3 JSON form: {exc}") from exc


def _out(payloads: list[Payload]) -> PayloadsOut:
    return PayloadsOut(payloads=[MessageToDict(p) for p in payloads])


@router.post("/decode", response_model=PayloadsOut)
async def decode(
    body: PayloadsIn, request: Request, session: SessionDep, who: Annotated[Principal, Depends(require("payloads.decode"))]
) -> PayloadsOut:
    try:
        plain = await _codec(request).decode(_parse(body.payloads))
    except ValueError as exc:
        raise Unprocessable(f"cannot decrypt: {exc}") from exc
    except Exception as exc:  # a tampered or foreign ciphertext fails authentication
        raise Unprocessable("cannot decrypt: a payload is not one this deployment encrypted, or it was altered") from exc
    session.add(
        PhiAccess(
            tenant_id=who.tenant_id, user_id=who.user_id, role=who.role, vendor_id=who.vendor_id,
            action=CODEC_DECODE, method="POST", path="/codec/decode", status_code=200, outcome="allowed",
            reason=request.headers.get("x-namespace", "")[:256] or None,
        )
    )  # fmt: skip
    await session.commit()
    return _out(plain)


@router.post("/encode", response_model=PayloadsOut, dependencies=[Depends(require("payloads.decode"))])
async def encode(body: PayloadsIn, request: Request) -> PayloadsOut:
    return _out(await _codec(request).encode(_parse(body.payloads)))

