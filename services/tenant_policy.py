"""Tenant administration: show and change a tenant's policy (CLI, API and admin page share this).

A change is validated whole, then stored with a new version number and a hash-chained record
of who changed which values and why, in one transaction. Charts that arrive afterwards run on
the new policy; workflows already running keep the durations they started with.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.evidence.chain import GENESIS, event_hash
from models.repositories.tenant_policy import TenantPolicyRepository
from models.tenants.policy import PolicyInvalid, TenantPolicy, apply_changes, parse_policy
from models.tenants.tables import TenantPolicyVersion

log = structlog.get_logger(__name__)



class TenantNotFound(LookupError):
    """No such tenant."""


class PolicyConflict(Exception):
    """The caller changed a version that is no longer the current one."""


@dataclass(frozen=True)
class PolicyView:
    tenant_id: str
    version: int  # 0: never changed, the defaults and whatever the tenant was created with
    policy: TenantPolicy
    changed_at: datetime | None = None
    changed_by: str | None = None


@dataclass(frozen=True)
class PolicyChange:
    version: int
    changed: list[str]
    actor: str
    role: str
    reason: str | None
    changed_at: datetime


async def show_policy(sessions: async_sessionmaker[AsyncSession], tenant_id: str) -> PolicyView:
    async with sessions() as session:
        repo = TenantPolicyRepository(session)
        tenant = await repo.tenant(tenant_id)
        if tenant is None:
            raise TenantNotFound(f"tenant '{tenant_id}' does not exist")
        latest = await repo.latest(tenant_id)
    return PolicyView(
        tenant_id,
        latest.version if latest else 0,
        parse_policy(tenant.settings or {}),
        latest.changed_at if latest else None,
        latest.actor if latest else None,
    )


async def update_policy(
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: str,
    changes: Mapping[str, Any],
    *,
    actor: str,
    role: str,
    reason: str | None = None,
    expected_version: int | None = None,
) -> PolicyView:
    """Apply `changes` (a subset of the policy's keys) or refuse them all."""
    if not changes:
        raise PolicyInvalid(["nothing to change: give at least one policy value"])
    async with sessions.begin() as session:
        repo = TenantPolicyRepository(session)
        tenant = await repo.tenant(tenant_id, for_update=True)  # serializes concurrent changes
        if tenant is None:
            raise TenantNotFound(f"tenant '{tenant_id}' does not exist")
        latest = await repo.latest(tenant_id)
        current_version = latest.version if latest else 0
        if expected_version is not None and expected_version != current_version:
            raise PolicyConflict(
                f"the policy is at version {current_version}, not {expected_version}: reload it and apply your change again"
            )
        current = parse_policy(tenant.settings or {})
        policy = apply_changes(current, changes)
        if policy.default_queue is not None and not await repo.queue_exists(tenant_id, policy.default_queue):
            raise PolicyInvalid([f"default_queue: queue '{policy.default_queue}' does not exist; create it with 'clearchart queue create'"])
        before, after = current.as_dict(), policy.as_dict()
        changed = sorted(k for k in after if after[k] != before[k])
        if not changed:
            return PolicyView(tenant_id, current_version, current, latest.changed_at if latest else None, latest.actor if latest else None)
        now = datetime.now(UTC).replace(microsecond=0)
        prev_hash = latest.hash if latest else GENESIS
        version = current_version + 1
        fields = {
            "tenant_id": tenant_id, "version": version, "policy": after, "changed": changed,
            "actor": actor, "role": role, "reason": reason,
            "changed_at": now.isoformat(),
        }
        repo.add_version(
            TenantPolicyVersion(
                tenant_id=tenant_id, version=version, policy=after, changed=changed, actor=actor, role=role,
                reason=reason, changed_at=now, prev_hash=prev_hash, hash=event_hash(prev_hash, fields),
            )
        )
        repo.store(tenant, after)
    log.info("tenant_policy.changed", tenant_id=tenant_id, version=version, changed=changed, actor=actor)
    return PolicyView(tenant_id, version, policy, now, actor)


async def history(sessions: async_sessionmaker[AsyncSession], tenant_id: str, limit: int = 50) -> list[PolicyChange]:
    async with sessions() as session:
        rows = await TenantPolicyRepository(session).versions(tenant_id, limit)
    return [PolicyChange(r.version, list(r.changed), r.actor, r.role, r.reason, r.changed_at) for r in rows]
