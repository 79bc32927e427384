"""PostgreSQL or Temporal gone: 503 problem+json with Retry-After within a second, /readyz says
which one, reads that need only the other still served, and service back without a restart."""

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest_asyncio
from sqlalchemy.engine import make_url
from temporalio.client import Client

from api.main import create_app
from clearchart.db import make_engine, make_sessions
from clearchart.embedded import TemporalDevServer, free_port
from clearchart.temporal import connect
from integrations.ehr.signing import signed_headers
from integrations.sandbox.bundles import synthetic_bundle
from tests.reliability.tcp_proxy import TcpProxy
from tests.support import LiveStack, Tenant, eventually

PROBLEM = "application/problem+json"
FAST = 1.5  # "within about a second", with room for a loaded CI machine


@dataclass
class Degradable:
    client: httpx.AsyncClient
    database: TcpProxy
    temporal: TcpProxy
    temporal_client: Client


def _database_proxy(database_url: str) -> tuple[TcpProxy, str]:
    url = make_url(database_url)
    port = free_port()
    socket_dir = url.query.get("host")
    if isinstance(socket_dir, str):
        proxy = TcpProxy(port=port, target_socket=Path(socket_dir) / ".s.PGSQL.5432")
    else:
        proxy = TcpProxy(port=port, target_host=url.host or "127.0.0.1", target_port=url.port or 5432)
    proxied = url.set(host="127.0.0.1", port=port, query={}).render_as_string(hide_password=False)
    return proxy, proxied


@pytest_asyncio.fixture(loop_scope="session")
async def degradable(live: LiveStack, database_url: str, dev_server: TemporalDevServer) -> AsyncIterator[Degradable]:
    """The API reaching the test stack's PostgreSQL and Temporal through proxies a test can cut."""
    database, proxied_url = _database_proxy(database_url)
    temporal = TcpProxy(port=free_port(), target_host="127.0.0.1", target_port=dev_server.port)
    await database.start()
    await temporal.start()
    settings = live.settings.model_copy(update={"database_url": proxied_url, "temporal_address": temporal.address})
    engine = make_engine(settings.sqlalchemy_url)
    temporal_client = await connect(settings, interactive=True)
    app = create_app(settings, sessions=make_sessions(engine), temporal=temporal_client)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://degraded", timeout=30) as client:
        yield Degradable(client, database, temporal, temporal_client)
    await database.cut()
    await temporal.cut()
    await engine.dispose()


def _assert_unavailable(response: httpx.Response, elapsed: float) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["detail"]
    assert elapsed < FAST, f"took {elapsed:.2f}s to say so"


async def _timed(call: "httpx.Response | object") -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await call  # type: ignore[misc]
    return response, time.monotonic() - started


class TestDatabaseDown:
    async def test_requests_get_503_fast_and_service_returns_without_restart(self, degradable: Degradable, tenant: Tenant) -> None:
        api = degradable.client
        assert (await api.get("/v1/queues", headers=tenant.auth("ops"))).status_code == 200
        await degradable.database.cut()

        response, elapsed = await _timed(api.get("/v1/queues", headers=tenant.auth("ops")))
        _assert_unavailable(response, elapsed)
        ready, elapsed = await _timed(api.get("/readyz"))
        _assert_unavailable(ready, elapsed)
        assert ready.json()["dependencies"] == {"database": "down", "temporal": "ok"}
        assert "database" in ready.json()["detail"]

        await degradable.database.start()
        back = await eventually(lambda: api.get("/v1/queues", headers=tenant.auth("ops")), until=lambda r: r.status_code == 200, within=10)
        assert back.json() is not None
        assert (await api.get("/readyz")).status_code == 200


class TestTemporalDown:
    async def test_webhooks_get_503_fast_reads_are_served_and_a_redelivery_completes(
        self, degradable: Degradable, tenant: Tenant
    ) -> None:
        api = degradable.client
        url = f"/v1/webhooks/ehr?source={tenant.source_id}"
        key = uuid.uuid4().hex[:8]
        body = httpx.Request("POST", "http://x", json=synthetic_bundle(encounter_id=f"down-{key}", patient_id=f"p-{key}")).content
        msg_id = f"down-{key}"

        def headers() -> dict[str, str]:
            return {**signed_headers(tenant.secret, msg_id, body), "content-type": "application/fhir+json"}

        assert (await api.get("/readyz")).status_code == 200  # connected first, then the server dies
        await degradable.temporal.cut()
        response, elapsed = await _timed(api.post(url, content=body, headers=headers()))
        _assert_unavailable(response, elapsed)
        listed = await api.get("/v1/encounters", headers=tenant.auth("ops"))
        assert listed.status_code == 200, "reads from PostgreSQL do not need Temporal"
        ready, elapsed = await _timed(api.get("/readyz"))
        _assert_unavailable(ready, elapsed)
        assert ready.json()["dependencies"] == {"database": "ok", "temporal": "down"}

        await degradable.temporal.start()
        accepted = await eventually(lambda: api.post(url, content=body, headers=headers()), until=lambda r: r.status_code == 202, within=15)
        encounters = accepted.json()["encounters"]
        assert [e["external_id"] for e in encounters] == [f"down-{key}"]
        again = await api.post(url, content=body, headers=headers())
        assert again.json() == accepted.json(), "the redelivery after recovery created nothing new"

    async def test_an_api_started_while_temporal_is_down_answers_503(self, live: LiveStack, tenant: Tenant) -> None:
        settings = live.settings.model_copy(update={"temporal_address": f"127.0.0.1:{free_port()}"})
        app = create_app(settings, sessions=live.sessions, temporal=await connect(settings, interactive=True))
        body = httpx.Request("POST", "http://x", json=synthetic_bundle(encounter_id=f"lazy-{uuid.uuid4().hex[:8]}", patient_id="p")).content
        headers = {**signed_headers(tenant.secret, f"lazy-{uuid.uuid4().hex}", body), "content-type": "application/fhir+json"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lazy") as api:
            response, elapsed = await _timed(api.post(f"/v1/webhooks/ehr?source={tenant.source_id}", content=body, headers=headers))
        _assert_unavailable(response, elapsed)
