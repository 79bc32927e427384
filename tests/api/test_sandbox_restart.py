"""The sandbox clearinghouse keeps its mailbox in the database: a restart between submission and
remittance loses nothing and numbers on, and scripted answers (denial, reversal, late 277CA)
travel the whole loop through a freshly started sandbox and poller."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from clearchart.billing_poller import poll_once
from clearchart.embedded import free_port
from clearchart.sandbox_cli import put_script
from clearchart.settings import Settings
from integrations.billing.client import HttpClearinghouse
from integrations.sandbox.clearinghouse import DatabaseStore, create_app
from models.claims.poller_tables import ClearinghouseFile
from models.encounters.tables import Encounter
from tests.api.claim_support import claimed, coding
from tests.support import LiveStack, Tenant, eventually, started


@asynccontextmanager
async def restarted_sandbox(live: LiveStack) -> AsyncIterator[Settings]:
    """A new sandbox process on its own port over the same database, and settings pointing at it."""
    port = free_port()
    app = create_app(live.settings.clearinghouse_api_key, DatabaseStore(lambda: live.sessions))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    serving = asyncio.create_task(server.serve())
    await started(server, serving)
    try:
        yield live.settings.model_copy(update={"clearinghouse_url": f"http://127.0.0.1:{port}"})
    finally:
        server.should_exit = True
        await serving


async def newest_file(live: LiveStack, http: httpx.AsyncClient) -> str:
    files = await HttpClearinghouse(http, live.settings.clearinghouse, live.settings.clearinghouse_api_key).fetch_responses()
    return files[-1].id if files else ""


async def resume_from(live: LiveStack, settings: Settings, file_id: str) -> None:
    """The restarted poller's cursor: where the one before the restart stopped."""
    if file_id:
        row = {"source": settings.clearinghouse, "file_id": file_id, "kind": "999", "status": "skipped", "tenants": []}
        async with live.sessions.begin() as s:
            await s.execute(insert(ClearinghouseFile).values(**row).on_conflict_do_nothing())


async def member_id(live: LiveStack, encounter_id: str) -> str:
    """The subscriber's member id from the chart's Coverage, as the 837P carries it."""
    async with live.sessions() as s:
        member = await s.scalar(select(Encounter.member_id).where(Encounter.id == uuid.UUID(encounter_id)))
    assert member is not None
    return member


async def submit(tenant: Tenant, enc: str, doc: str) -> None:
    coded = await tenant.post(f"/v1/encounters/{enc}/coding", "coder", json=coding(doc))
    assert coded.status_code == 200, coded.text
    await eventually(lambda: tenant.get(f"/v1/encounters/{enc}", "ops"), until=lambda r: r.json()["status"] == "submitted")
    # The claim waits for its batch (a short window) and is submitted once the batch went out.
    await eventually(lambda: tenant.get(f"/v1/claims?encounter_id={enc}", "ops"), until=lambda r: r.json()[0]["submission_id"] is not None)


def ours(tenant: Tenant, handled: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The files that concern this tenant: batches of earlier tests' claims may go out after the cursor."""
    return [h for h in handled if tenant.id in h["tenants"]]


async def test_a_scripted_denial_survives_a_restart_of_sandbox_and_poller(live: LiveStack, tenant: Tenant, http: httpx.AsyncClient) -> None:
    cursor = await newest_file(live, http)
    enc, doc = await claimed(tenant)
    await put_script(live.sessions, f"member:{await member_id(live, enc)}", {"deny": "CO-11"})
    await submit(tenant, enc, doc)  # the sandbox answered at submission; nobody polled yet

    async with restarted_sandbox(live) as settings, httpx.AsyncClient(timeout=30) as fresh:
        await resume_from(live, settings, cursor)
        handled = ours(tenant, await poll_once(settings, live.sessions, live.temporal, fresh))
    assert [(h["kind"], h["status"]) for h in handled] == [("999", "applied"), ("277CA", "applied"), ("835", "applied")]
    assert all(h["file_id"] > cursor for h in handled)
    chart = (await tenant.get(f"/v1/encounters/{enc}", "ops")).json()
    assert chart["status"] == "denied"
    denials = (await tenant.get("/v1/denials", "ops")).json()
    assert any(d["encounter_id"] == enc and d["carc"] == "11" for d in denials)

    later, later_doc = await claimed(tenant)  # numbering goes on after the restart
    await submit(tenant, later, later_doc)
    async with restarted_sandbox(live) as settings, httpx.AsyncClient(timeout=30) as fresh:
        await resume_from(live, settings, handled[-1]["file_id"])
        again = ours(tenant, await poll_once(settings, live.sessions, live.temporal, fresh))
    assert [h["kind"] for h in again] == ["999", "277CA", "835"]
    assert min(h["file_id"] for h in again) > handled[-1]["file_id"]
    assert (await tenant.get(f"/v1/encounters/{later}", "ops")).json()["status"] == "closed"


async def test_a_reversal_and_a_late_277ca_reach_the_closed_chart(live: LiveStack, tenant: Tenant, http: httpx.AsyncClient) -> None:
    cursor = await newest_file(live, http)
    enc, doc = await claimed(tenant)
    await put_script(live.sessions, f"member:{await member_id(live, enc)}", {"reverse": True, "late_277ca": True})
    await submit(tenant, enc, doc)
    async with restarted_sandbox(live) as settings, httpx.AsyncClient(timeout=30) as fresh:
        await resume_from(live, settings, cursor)
        handled = ours(tenant, await poll_once(settings, live.sessions, live.temporal, fresh))
    assert [(h["kind"], h["status"]) for h in handled] == [("999", "applied"), ("835", "applied"), ("835", "applied"), ("277CA", "applied")]
    results = [m["result"] for h in handled[1:] for part in h["results"][tenant.id] for m in part["matched"]]
    assert results == ["applied", "applied_after_close", "applied_after_close", "applied_after_close"]
    timeline = [e["action"] for e in (await tenant.get(f"/v1/encounters/{enc}", "ops")).json()["timeline"]]
    assert timeline.count("payment_after_close") == 2
    assert timeline[-1] == "acknowledgment_after_close"
    claims = (await tenant.get(f"/v1/claims?encounter_id={enc}", "ops")).json()
    assert claims[0]["paid_cents"] == claims[0]["total_charge_cents"] * 4 // 5  # reversed, then paid again


async def test_a_script_is_refused_when_it_makes_no_sense(live: LiveStack, http: httpx.AsyncClient) -> None:
    url = f"{live.settings.clearinghouse}/v1/scripts/member:X1"
    headers = {"Authorization": f"Bearer {live.settings.clearinghouse_api_key}"}
    refused = await http.put(url, json={"deny": "eleven"}, headers=headers)
    assert refused.status_code == 422
    assert "GROUP-CARC" in refused.json()["detail"]
    assert (await http.put(url, json={"deny": "CO-11"})).status_code == 401
