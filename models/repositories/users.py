"""Who exists: a user is anyone holding an unrevoked token of the tenant (tokens are the registry)."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.errors import InvalidRequest
from models.tables import ApiToken


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


async def require_coder(session: AsyncSession, tenant_id: str, user_id: str, vendor_id: str) -> None:
    """A chart may be handed only to an existing coder of the named vendor."""
    if not await is_user(session, tenant_id, user_id, role="coder", vendor_id=vendor_id):
        raise InvalidRequest(
            f"'{user_id}' is not a coder of vendor '{vendor_id}' in this tenant; reassign to an existing coder "
            f"(issue one with 'clearchart token create --role coder --user {user_id} --vendor {vendor_id}')"
        )
