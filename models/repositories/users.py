"""Who exists: a user is anyone holding an unrevoked token of the tenant (tokens are the registry)."""

from collections.abc import Sequence
from typing import cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.access import Principal, Role
from models.encounters.tables import ApiToken, Queue, Vendor
from models.errors import InvalidRequest


async def is_user(session: AsyncSession, tenant_id: str, user_id: str, *, role: str, vendor_id: str | None = None) -> bool:
    stmt = select(ApiToken.id).where(
        ApiToken.tenant_id == tenant_id,
        ApiToken.user_id == user_id,
        ApiToken.role == role,
        ApiToken.revoked_at.is_(None),
    )
    if vendor_id is not None:
        stmt = stmt.where(ApiToken.vendor_id == vendor_id)
    return await session.scalar(stmt.limit(1)) is not None


async def require_coder(
    session: AsyncSession, tenant_id: str, user_id: str, vendor_id: str, *, queue_id: str | None = None
) -> None:
    """A chart may be handed only to an existing coder of a vendor its queue is routed to."""
    if not await is_user(session, tenant_id, user_id, role="coder", vendor_id=vendor_id):
        raise InvalidRequest(
            f"'{user_id}' is not a coder of vendor '{vendor_id}' in this tenant; reassign to an existing coder "
            f"(issue one with 'clearchart token create --role coder --user {user_id} --vendor {vendor_id}')"
        )
    if queue_id is None:
        return
    served = await session.scalar(select(Queue.vendor_ids).where(Queue.tenant_id == tenant_id, Queue.id == queue_id))
    if served is not None and vendor_id not in served:
        raise InvalidRequest(
            f"queue '{queue_id}' is routed to {', '.join(served) or 'no vendor'}, not '{vendor_id}': "
            f"'{user_id}' cannot receive this chart; pick a coder of a vendor the queue serves"
        )


async def active_token(session: AsyncSession, token_hash: str) -> ApiToken | None:
    """The unrevoked token with this hash: who a bearer token or a web session speaks for."""
    return await session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None)))


async def vendors(session: AsyncSession, tenant_id: str) -> Sequence[Vendor]:
    return (await session.scalars(select(Vendor).where(Vendor.tenant_id == tenant_id).order_by(Vendor.id))).all()


def principal_of(token: ApiToken) -> Principal:
    """Who a token speaks for (its role was checked against `Role` when it was issued)."""
    return Principal(token.tenant_id, token.user_id, cast(Role, token.role), token.vendor_id, token.npi)
