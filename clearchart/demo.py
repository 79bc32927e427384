"""`clearchart up --demo`: a tenant, vendors, queues, users and sandbox EHR traffic over real HTTP."""

import httpx
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearchart import admin
from clearchart.sandbox_cli import put_script
from clearchart.secret_box import open_secret, secret_keys
from clearchart.settings import Settings
from integrations.sandbox.bundles import cerner_bundle, synthetic_bundle
from integrations.sandbox.ehr import push_bundle
from models.tables import Tenant, WebhookSource

log = structlog.get_logger(__name__)

TENANT = "demo"
SETTINGS = {
    "lease_minutes": 30,
    "coding_sla_hours": 48,
    # An ambulatory chart needs its progress note before it can be coded.
    "required_documents": {"AMB": ["11506-3"], "*": []},
    "default_queue": "outpatient",
}
USERS = [
    ("ops", "olivia.ops", None, None),
    ("coder", "alice.coder", "acme-coding", None),
    ("coder", "bob.coder", "bluepeak", None),
    ("vendor_lead", "vera.lead", "acme-coding", None),
    ("auditor", "aaron.auditor", None, None),
    ("physician", "dr.testdoctor", None, "1234567893"),
    ("integrator", "ian.integrator", None, None),
    ("admin", "ada.admin", None, None),
]


async def _configure(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    await admin.create_tenant(sessions, TENANT, "Demo Health (sandbox)", SETTINGS)
    await admin.create_vendor(sessions, TENANT, "acme-coding", "Acme Coding Services")
    await admin.create_vendor(sessions, TENANT, "bluepeak", "BluePeak Revenue Partners")
    await admin.create_queue(sessions, TENANT, "outpatient", "Outpatient professional", ["acme-coding", "bluepeak"])
    await admin.create_queue(sessions, TENANT, "emergency", "Emergency department", ["bluepeak"])
    await admin.add_route(sessions, TENANT, "emergency", encounter_type="EMER", priority=10)
    await admin.add_route(sessions, TENANT, "outpatient")
    await admin.create_source(sessions, TENANT, "sandbox-ehr", secret_keys(settings))
    await admin.add_sandbox_payers(sessions, TENANT)


async def seed_demo(sessions: async_sessionmaker[AsyncSession], settings: Settings, api_url: str) -> None:
    async with sessions() as session:
        exists = await session.get(Tenant, TENANT) is not None
    if not exists:
        await _configure(sessions, settings)
    async with sessions() as session:
        source = await session.scalar(
            select(WebhookSource).where(WebhookSource.tenant_id == TENANT, WebhookSource.name == "sandbox-ehr")
        )
    assert source is not None
    secret = open_secret(secret_keys(settings), source.secret)
    tokens = [
        (role, user, await admin.create_token(sessions, settings.secret_key, tenant_id=TENANT, role=role, user_id=user, vendor_id=vendor, npi=npi))
        for role, user, vendor, npi in USERS
    ]
    url = f"{api_url}/v1/webhooks/ehr?source={source.id}"
    bundles = [
        ("demo-1", synthetic_bundle(encounter_id="demo-enc-1", patient_id="demo-pt-1")),
        ("demo-2", synthetic_bundle(encounter_id="demo-enc-2", patient_id="demo-pt-2", payer_name="Acme Health Plan", payer_id="ACME")),
        ("demo-3", synthetic_bundle(encounter_id="demo-enc-3", patient_id="demo-pt-3", encounter_type="EMER")),
        ("demo-4", synthetic_bundle(encounter_id="demo-enc-4", patient_id="demo-pt-4", doc_types=["34117-2"])),
        ("demo-cerner", cerner_bundle()),
    ]
    if not settings.clearinghouse_url:  # the sandbox clearinghouse will deny demo-enc-2: a denial to work
        await put_script(sessions, DENIED_MEMBER, {"deny": "CO-11"})
    async with httpx.AsyncClient(timeout=60) as client:
        for msg_id, bundle in bundles:
            response = await push_bundle(client, url, secret, bundle, msg_id=msg_id)
            log.info("demo.webhook", msg_id=msg_id, status=response.status_code)
        if not exists:
            await _code_one(client, api_url, {u: t for _, u, t in tokens}["bob.coder"])
    print(_summary(tokens, url, secret), flush=True)  # noqa: T201 - the demo's output is for the user


DENIED_MEMBER = "member:SBXdemo-pt-2"  # the synthetic bundle's Coverage.subscriberId for demo-pt-2


async def _code_one(client: httpx.AsyncClient, api_url: str, token: str) -> None:
    """Code one chart so the claim stage has something to show: scrub, 837P, 277CA, 835."""
    auth = {"Authorization": f"Bearer {token}"}
    chart = await client.post(f"{api_url}/v1/queues/emergency/claim", headers=auth)
    if chart.status_code != 200:
        return
    body = chart.json()
    doc = body["documents"][0]["id"]
    evidence = [{"document_id": doc, "excerpt": "type 2 diabetes mellitus with hyperglycemia"}]
    coding = {
        "diagnoses": [{"code": "E11.65", "evidence": evidence}],
        "procedures": [{"code": "99284", "pointers": [1], "evidence": evidence}],
    }
    coded = await client.post(f"{api_url}/v1/encounters/{body['id']}/coding", headers=auth, json=coding)
    log.info("demo.coded", encounter_id=body["id"], status=coded.status_code)


def _summary(tokens: list[tuple[str, str, str]], url: str, secret: str) -> str:
    width = max(len(user) for _, user, _ in tokens)
    lines = ["Demo tenant 'demo' is seeded. Tokens to try (new ones each run):"]
    lines += [f"  {role:<12} {user:<{width}}  {token}" for role, user, token in tokens]
    lines += [
        "",
        f"Webhook URL     {url}",
        f"Webhook secret  {secret}",
        "The sandbox clearinghouse denies demo-enc-2's claim (CO-11) once it is coded: a denial to appeal.",
        "Try:  curl -s -H \"Authorization: Bearer <coder token>\" -X POST "
        + url.split("/v1/")[0]
        + "/v1/queues/outpatient/claim",
        "",
    ]
    return "\n".join(lines)
