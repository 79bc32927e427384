"""Tenant administration over HTTP: the caller's own tenant's policy, for administrators only."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.deps import require
from api.errors import Conflict, NotFound, Unprocessable
from api.schemas.tenant_policy import PolicyChangeOut, TenantPolicyIn, TenantPolicyOut
from models.access import Principal
from models.tenant_policy import DOCUMENT_TYPES, ENCOUNTER_CLASSES, PolicyInvalid
from services import tenant_policy as service

router = APIRouter(prefix="/v1/admin", tags=["admin"])

Admin = Annotated[Principal, Depends(require("tenant.manage"))]


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return sessions


def out(view: service.PolicyView) -> TenantPolicyOut:
    return TenantPolicyOut(
        tenant_id=view.tenant_id,
        version=view.version,
        changed_at=view.changed_at,
        changed_by=view.changed_by,
        policy=view.policy.as_dict(),
        encounter_classes=dict(ENCOUNTER_CLASSES),
        document_types=dict(DOCUMENT_TYPES),
    )


async def read_policy(sessions: async_sessionmaker[AsyncSession], who: Principal) -> TenantPolicyOut:
    try:
        return out(await service.show_policy(sessions, who.tenant_id))
    except service.TenantNotFound as exc:
        raise NotFound(str(exc)) from exc


async def change_policy(sessions: async_sessionmaker[AsyncSession], who: Principal, body: TenantPolicyIn) -> TenantPolicyOut:
    """Shared by the API and the admin page: domain refusals become problem+json."""
    try:
        view = await service.update_policy(
            sessions, who.tenant_id, body.policy, actor=who.user_id, role=who.role, reason=body.reason, expected_version=body.version
        )
    except PolicyInvalid as exc:
        raise Unprocessable(
            f"the policy was not changed: {exc}",
            errors=[{"path": e.split(":", 1)[0], "message": e.split(":", 1)[-1].strip()} for e in exc.errors],
        ) from exc
    except service.PolicyConflict as exc:
        raise Conflict(str(exc)) from exc
    except service.TenantNotFound as exc:
        raise NotFound(str(exc)) from exc
    return out(view)


@router.get("/tenant-policy", response_model=TenantPolicyOut)
async def get_tenant_policy(request: Request, who: Admin) -> TenantPolicyOut:
    return await read_policy(_sessions(request), who)


@router.put("/tenant-policy", response_model=TenantPolicyOut, responses={409: {}, 422: {}})
async def put_tenant_policy(request: Request, body: TenantPolicyIn, who: Admin) -> TenantPolicyOut:
    return await change_policy(_sessions(request), who, body)


@router.get("/tenant-policy/versions", response_model=list[PolicyChangeOut])
async def tenant_policy_versions(request: Request, who: Admin) -> list[PolicyChangeOut]:
    changes = await service.history(_sessions(request), who.tenant_id)
    return [PolicyChangeOut(**vars(c)) for c in changes]
