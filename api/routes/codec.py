"""The Temporal UI's codec server protocol: POST /codec/decode (and /codec/encode).

Temporal keeps only encrypted payloads; an authorised operator's UI (Temporal UI setting
`codec.endpoint` with `passAccessToken`) sends them here with a ClearChart bearer token and gets
them back readable. Every decode is written to the PHI access log.

Workflow ids carry no tenant, and the Temporal UI's codec calls name only the namespace, so a key
per tenant could not tell which tenant's history a payload came from: decoding is an
installation operator's task instead. Only admins of the operations tenant the installation names
(`CLEARCHART_OPERATOR_TENANT`) may call it; a customer tenant's admin is refused, and the refusal
is logged too.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from google.protobuf.json_format import MessageToDict, ParseDict
from pydantic import BaseModel, Field
from temporalio.api.common.v1 import Payload

from api.access_log import CODEC_DECODE
from api.deps import SessionDep, require
from api.errors import Forbidden, Unprocessable
from clearchart.payload_codec import EncryptionCodec, payload_codec
from models.access import Principal
from models.evidence.access_log_tables import PhiAccess

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


def _log(who: Principal, request: Request, path: str, status: int) -> PhiAccess:
    return PhiAccess(
        tenant_id=who.tenant_id, user_id=who.user_id, role=who.role, vendor_id=who.vendor_id,
        action=CODEC_DECODE, method="POST", path=path, status_code=status,
        outcome="allowed" if status < 400 else "refused",
        reason=request.headers.get("x-namespace", "")[:256] or None,
    )  # fmt: skip


async def operator(request: Request, who: Annotated[Principal, Depends(require("payloads.decode"))]) -> Principal:
    """An admin of the installation's operations tenant; anyone else is refused (and logged)."""
    tenant = request.app.state.settings.operator_tenant
    if tenant and who.tenant_id == tenant:
        return who
    async with request.app.state.sessions.begin() as session:
        session.add(_log(who, request, request.url.path, 403))
    raise Forbidden(
        f"role '{who.role}' of tenant '{who.tenant_id}' may not decrypt Temporal payloads: only admins of the "
        "installation's operations tenant (CLEARCHART_OPERATOR_TENANT) may; ask the installation's operator"
    )


Operator = Annotated[Principal, Depends(operator)]


def _parse(raw: list[dict[str, Any]]) -> list[Payload]:
    try:
        return [ParseDict(p, Payload()) for p in raw]
    except Exception as exc:  # protobuf raises several types for malformed JSON
        raise Unprocessable(f"not Temporal payloads in proto3 JSON form: {exc}") from exc


def _out(payloads: list[Payload]) -> PayloadsOut:
    return PayloadsOut(payloads=[MessageToDict(p) for p in payloads])


@router.post("/decode", response_model=PayloadsOut)
async def decode(
    body: PayloadsIn, request: Request, session: SessionDep, who: Operator
) -> PayloadsOut:
    try:
        plain = await _codec(request).decode(_parse(body.payloads))
    except ValueError as exc:
        raise Unprocessable(f"cannot decrypt: {exc}") from exc
    except Exception as exc:  # a tampered or foreign ciphertext fails authentication
        raise Unprocessable("cannot decrypt: a payload is not one this deployment encrypted, or it was altered") from exc
    session.add(_log(who, request, "/codec/decode", 200))
    await session.commit()
    return _out(plain)


@router.post("/encode", response_model=PayloadsOut, dependencies=[Depends(operator)])
async def encode(body: PayloadsIn, request: Request) -> PayloadsOut:
    return _out(await _codec(request).encode(_parse(body.payloads)))

