"""Tenant administration over HTTP: the caller's own tenant's policy, for administrators only."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.deps import require
from api.schemas.tenant_policy import PolicyChangeOut, TenantPolicyIn, TenantPolicyOut
from api.views import change_policy, read_policy
from models.access import Principal
from services import tenant_policy as service

router = APIRouter(prefix="/v1/admin", tags=["admin"])

Admin = Annotated[Principal, Depends(require("tenant.manage"))]


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return sessions


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
