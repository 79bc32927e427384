"""Tenant administration used by the CLI and the demo seed: every write is one transaction."""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth import new_token, token_hash
from clearchart.keys import KeySet
from clearchart.secret_box import seal
from integrations.ehr.signing import generate_secret
from models.access import ROLES
from models.encounters.tables import ApiToken, Queue, RoutingRule, Tenant, Vendor, WebhookSource
from models.repositories import tenants
from models.repositories.users import is_user
from services import payers


class AdminError(Exception):
    """A refusal the CLI prints as is: it says what to do instead."""


async def _tenant(session: AsyncSession, tenant_id: str) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise AdminError(f"tenant '{tenant_id}' does not exist; create it with 'clearchart tenant create --id {tenant_id} --name …'")
    return tenant


async def create_tenant(
    sessions: async_sessionmaker[AsyncSession], tenant_id: str, name: str, settings: dict[str, Any] | None = None
) -> None:
    async with sessions.begin() as session:
        await tenants.upsert_tenant(session, tenant_id, name, settings or {})


async def set_query_delegates(
    sessions: async_sessionmaker[AsyncSession], tenant_id: str, physician: str, delegates: Sequence[str]
) -> None:
    """Name who may answer `physician`'s queries (user id or NPI); an empty list removes them all."""
    async with sessions.begin() as session:
        tenant = await _tenant(session, tenant_id)
        for user in delegates:
            if not await is_user(session, tenant_id, user, role="physician"):
                raise AdminError(f"'{user}' holds no physician token in tenant '{tenant_id}'; issue one with 'clearchart token create --role physician --user {user}'")
        table = {k: v for k, v in dict(tenant.settings.get("query_delegates") or {}).items() if k != physician}
        if delegates:
            table[physician] = sorted(set(delegates))
        tenant.settings = {**tenant.settings, "query_delegates": table}


async def create_vendor(sessions: async_sessionmaker[AsyncSession], tenant_id: str, vendor_id: str, name: str) -> None:
    async with sessions.begin() as session:
        await _tenant(session, tenant_id)
        await tenants.upsert_vendor(session, tenant_id, vendor_id, name)


async def create_queue(
    sessions: async_sessionmaker[AsyncSession], tenant_id: str, queue_id: str, name: str, vendor_ids: Sequence[str]
) -> None:
    async with sessions.begin() as session:
        await _tenant(session, tenant_id)
        known = await tenants.vendor_ids(session, tenant_id)
        unknown = sorted(set(vendor_ids) - known)
        if unknown:
            raise AdminError(f"unknown vendor(s) {', '.join(unknown)}; create them with 'clearchart vendor create'")
        await tenants.upsert_queue(session, tenant_id, queue_id, name, vendor_ids)


async def add_route(
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: str,
    queue_id: str,
    *,
    encounter_type: str | None = None,
    specialty: str | None = None,
    payer_id: str | None = None,
    priority: int = 0,
) -> int:
    async with sessions.begin() as session:
        await _tenant(session, tenant_id)
        if await session.get(Queue, (tenant_id, queue_id)) is None:
            raise AdminError(f"queue '{queue_id}' does not exist; create it with 'clearchart queue create'")
        position = await tenants.next_route_position(session, tenant_id)
        session.add(
            RoutingRule(
                tenant_id=tenant_id,
                position=position,
                encounter_type=encounter_type,
                specialty=specialty,
                payer_id=payer_id,
                queue_id=queue_id,
                priority=priority,
            )
        )
        return position


async def create_token(
    sessions: async_sessionmaker[AsyncSession],
    secret_key: str,
    *,
    tenant_id: str,
    role: str,
    user_id: str,
    vendor_id: str | None = None,
    npi: str | None = None,
) -> str:
    """Returns the token once; only its keyed hash is stored."""
    if role not in ROLES:
        raise AdminError(f"unknown role '{role}'; choose one of {', '.join(ROLES)}")
    if role in ("coder", "vendor_lead") and not vendor_id:
        raise AdminError(f"a {role} belongs to a vendor: pass --vendor")
    async with sessions.begin() as session:
        await _tenant(session, tenant_id)
        if vendor_id and await session.get(Vendor, (tenant_id, vendor_id)) is None:
            raise AdminError(f"vendor '{vendor_id}' does not exist in tenant '{tenant_id}'; create it with 'clearchart vendor create'")
        token = new_token()
        session.add(
            ApiToken(
                tenant_id=tenant_id,
                token_hash=token_hash(secret_key, token),
                role=role,
                user_id=user_id,
                vendor_id=vendor_id,
                npi=npi,
            )
        )
    return token


async def create_source(
    sessions: async_sessionmaker[AsyncSession], tenant_id: str, name: str, keys: KeySet
) -> tuple[uuid.UUID, str]:
    """A webhook source and its signing secret (shown once, stored encrypted under `keys`;
    rotate by creating a new source)."""
    async with sessions.begin() as session:
        await _tenant(session, tenant_id)
        existing = await tenants.source_named(session, tenant_id, name)
        if existing is not None:
            raise AdminError(f"source '{name}' already exists in tenant '{tenant_id}'; pick another name")
        secret = generate_secret()
        source = WebhookSource(id=uuid.uuid4(), tenant_id=tenant_id, name=name, secret=seal(keys, secret))
        session.add(source)
    return source.id, secret


# The payers the sandbox EHR's bundles name, so demo and test charts bill cleanly.
SANDBOX_PAYERS = (("MEDICARE", "MEDICARE PART B", "MEDICARE", "MB"), ("ACME", "ACME HEALTH PLAN", "ACME01", "CI"),
                  ("AETNA", "AETNA", "60054", "CI"), ("WESTAIR01", "WESTERN AIRLINES HEALTH PLAN", "WESTAIR01", "CI"))  # fmt: skip


async def add_sandbox_payers(sessions: async_sessionmaker[AsyncSession], tenant_id: str) -> None:
    async with sessions() as session:
        for payer_id, name, x12_id, filing in SANDBOX_PAYERS:
            await payers.add(session, tenant_id, payer_id, name, x12_id, filing)
