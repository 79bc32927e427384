"""Test helpers: a live stack handle, per-test tenants with every role, and condition waits."""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import uvicorn
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from clearchart import admin
from clearchart.secret_box import secret_keys
from clearchart.settings import Settings
from integrations.sandbox.bundles import synthetic_bundle
from integrations.sandbox.ehr import push_bundle
from models.encounters.tables import Tenant as TenantRow

T = TypeVar("T")

ROLE_USERS = {
    "ops": ("ops-1", None),
    "admin": ("admin-1", None),
    "coder": ("coder-1", "v1"),
    "coder2": ("coder-2", "v1"),
    "coder_other_vendor": ("coder-3", "v2"),
    "vendor_lead": ("lead-1", "v1"),
    "auditor": ("auditor-1", None),
    "physician": ("dr-1", None),
    "integrator": ("integrator-1", None),
}


@dataclass
class LiveStack:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    temporal: Client
    url: str
    admin_sessions: async_sessionmaker[AsyncSession] | None = None  # a superuser's, for tampering tests


@dataclass
class Tenant:
    id: str
    stack: LiveStack
    tokens: dict[str, str]
    source_id: str
    secret: str
    http: httpx.AsyncClient
    pushed: list[str] = field(default_factory=list)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    @property
    def webhook_url(self) -> str:
        return f"{self.stack.url}/v1/webhooks/ehr?source={self.source_id}"

    async def push(self, bundle: dict[str, Any], msg_id: str | None = None) -> httpx.Response:
        return await push_bundle(self.http, self.webhook_url, self.secret, bundle, msg_id=msg_id)

    async def new_encounter(self, *, doc_types: tuple[str, ...] = ("11506-3",), encounter_type: str = "AMB") -> dict[str, Any]:
        """Push a synthetic encounter and return its intake answer ({id, external_id, status})."""
        key = uuid.uuid4().hex[:10]
        bundle = synthetic_bundle(
            encounter_id=f"enc-{key}", patient_id=f"pt-{key}", doc_types=doc_types, encounter_type=encounter_type
        )
        response = await self.push(bundle)
        assert response.status_code == 202, response.text
        found: dict[str, Any] = response.json()["encounters"][0]
        return found

    async def get(self, path: str, who: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(f"{self.stack.url}{path}", headers=self.auth(who), **kwargs)

    async def post(self, path: str, who: str, **kwargs: Any) -> httpx.Response:
        return await self.http.post(f"{self.stack.url}{path}", headers=self.auth(who), **kwargs)


async def operator_tenant(stack: LiveStack, http: httpx.AsyncClient) -> Tenant:
    """The installation's operations tenant (`CLEARCHART_OPERATOR_TENANT`), made once, new tokens each call."""
    tenant_id = stack.settings.operator_tenant
    async with stack.sessions() as session:
        exists = await session.scalar(select(TenantRow.id).where(TenantRow.id == tenant_id))
    if exists is None:
        return await make_tenant(stack, http, tenant_id=tenant_id)
    tokens = {}
    for role_key, (user, vendor) in ROLE_USERS.items():
        role = "coder" if role_key.startswith("coder") else role_key
        tokens[role_key] = await admin.create_token(
            stack.sessions, stack.settings.secret_key, tenant_id=tenant_id, role=role, user_id=user, vendor_id=vendor
        )
    return Tenant(tenant_id, stack, tokens, "", "", http)


async def make_tenant(stack: LiveStack, http: httpx.AsyncClient, *, tenant_id: str | None = None, **settings: Any) -> Tenant:
    tenant_id = tenant_id or f"t-{uuid.uuid4().hex[:10]}"
    sessions = stack.sessions
    policy = {"required_documents": {"AMB": ["11506-3"], "*": []}, "default_queue": "q1", **settings}
    await admin.create_tenant(sessions, tenant_id, f"Tenant {tenant_id}", policy)
    await admin.create_vendor(sessions, tenant_id, "v1", "Vendor One")
    await admin.create_vendor(sessions, tenant_id, "v2", "Vendor Two")
    await admin.create_queue(sessions, tenant_id, "q1", "Queue One", ["v1"])
    await admin.create_queue(sessions, tenant_id, "er", "Emergency", ["v2"])
    await admin.add_route(sessions, tenant_id, "er", encounter_type="EMER", priority=5)
    await admin.add_sandbox_payers(sessions, tenant_id)
    tokens = {}
    for role_key, (user, vendor) in ROLE_USERS.items():
        role = "coder" if role_key.startswith("coder") else role_key
        npi = "1234567893" if role == "physician" else None
        tokens[role_key] = await admin.create_token(
            sessions, stack.settings.secret_key, tenant_id=tenant_id, role=role, user_id=user, vendor_id=vendor, npi=npi
        )
    source_id, secret = await admin.create_source(sessions, tenant_id, "ehr", secret_keys(stack.settings))
    return Tenant(tenant_id, stack, tokens, str(source_id), secret, http)


# The suite's one polling interval. State outside the test (HTTP answers, rows written by a
# worker, processes) offers no event to await, so `eventually` re-reads a condition until its
# deadline; timers are never waited on in real time (the time-skipping server covers those).
POLL_SECONDS = 0.05


async def eventually(
    probe: Callable[[], Awaitable[T]], *, until: Callable[[T], bool], within: float = 20.0, every: float = POLL_SECONDS
) -> T:
    """Poll `probe` every `every` seconds until `until(value)` holds; fail with the last value after `within`."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s; last value: {value!r}")
        await asyncio.sleep(every)


async def started(server: uvicorn.Server, serving: "asyncio.Task[None]", within: float = 30.0) -> None:
    """Wait until uvicorn accepts connections, surfacing its error if it fails to start."""

    async def state() -> bool:
        if serving.done():
            await serving
        return bool(server.started)

    await eventually(state, until=bool, within=within)
