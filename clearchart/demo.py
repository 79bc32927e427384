"""`clearchart up --demo`: a tenant, vendors, queues, users and sandbox EHR traffic over real HTTP.

Seeding happens once per database: a second `up --demo` finds the tenant, pushes nothing and
reuses the tokens it kept under the data directory (`demo-tokens.json`, owner-only), so the
tokens in your shell keep working across restarts. `demo.env` beside it holds the same values
as shell variables for the README's walkthrough.
"""

import json
import os
import shlex
import sys
from pathlib import Path

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth import token_hash
from clearchart import admin
from clearchart.sandbox_cli import put_script
from clearchart.secret_box import open_secret, secret_keys
from clearchart.settings import Settings
from integrations.sandbox.bundles import synthetic_bundle
from integrations.sandbox.ehr import push_bundle
from models.encounters.tables import Tenant
from models.repositories import tenants, users

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
        configured = await session.get(Tenant, TENANT) is not None
        exists = await tenants.has_encounters(session, TENANT)
    if not configured:
        await _configure(sessions, settings)
    async with sessions() as session:
        source = await tenants.source_named(session, TENANT, "sandbox-ehr")
    assert source is not None
    secret = open_secret(secret_keys(settings), source.secret)
    tokens = await _tokens(sessions, settings)
    url = f"{api_url}/v1/webhooks/ehr?source={source.id}"
    # Every chart here is codable: a date of service the shipped ICD-10-CM release covers and a
    # text note. demo-4 lacks the progress note its class needs, to show a documentation hold.
    bundles = [
        ("demo-1", synthetic_bundle(encounter_id="demo-enc-1", patient_id="demo-pt-1")),
        ("demo-2", synthetic_bundle(encounter_id="demo-enc-2", patient_id="demo-pt-2", payer_name="Acme Health Plan", payer_id="ACME")),
        ("demo-3", synthetic_bundle(encounter_id="demo-enc-3", patient_id="demo-pt-3", encounter_type="EMER")),
        ("demo-4", synthetic_bundle(encounter_id="demo-enc-4", patient_id="demo-pt-4", doc_types=["34117-2"])),
    ]
    if not exists:
        if not settings.clearinghouse_url:  # the sandbox clearinghouse will deny demo-enc-2: a denial to work
            await put_script(sessions, DENIED_MEMBER, {"deny": "CO-11"})
        async with httpx.AsyncClient(timeout=60) as client:
            for msg_id, bundle in bundles:
                response = await push_bundle(client, url, secret, bundle, msg_id=msg_id)
                log.info("demo.webhook", msg_id=msg_id, status=response.status_code)
            await _code_one(client, api_url, {u: t for _, u, t in tokens}["bob.coder"])
    env_file = _write_env(settings.data_dir, api_url, tokens, url, secret)
    print(_summary(tokens, url, secret, env_file, reused=exists), flush=True)  # noqa: T201 - the demo's output is for the user


DENIED_MEMBER = "member:SBXdemo-pt-2"  # the synthetic bundle's Coverage.subscriberId for demo-pt-2


async def _tokens(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> list[tuple[str, str, str]]:
    """The demo users' tokens: the ones kept from the last run while they are still valid."""
    kept_file = settings.data_dir / "demo-tokens.json"
    try:
        kept: dict[str, str] = json.loads(kept_file.read_text())
    except (OSError, ValueError):
        kept = {}
    tokens: list[tuple[str, str, str]] = []
    for role, user, vendor, npi in USERS:
        token = kept.get(user)
        if not token or not await _valid(sessions, settings.secret_key, token, user):
            token = await admin.create_token(sessions, settings.secret_key, tenant_id=TENANT, role=role, user_id=user, vendor_id=vendor, npi=npi)
        tokens.append((role, user, token))
    _write_private(kept_file, json.dumps({user: token for _, user, token in tokens}, indent=2) + "\n")
    return tokens


async def _valid(sessions: async_sessionmaker[AsyncSession], secret_key: str, token: str, user: str) -> bool:
    async with sessions() as session:
        row = await users.active_token(session, token_hash(secret_key, token))
    return row is not None and row.tenant_id == TENANT and row.user_id == user


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def _write_env(data_dir: Path, api_url: str, tokens: list[tuple[str, str, str]], url: str, secret: str) -> Path:
    """Shell variables for the walkthrough: `. var/demo.env`."""
    by_user = {user: token for _, user, token in tokens}
    executable = Path(sys.executable).with_name("clearchart")
    command = str(executable) if executable.exists() else f"{sys.executable} -m clearchart.cli"
    values = {
        "API": api_url,
        "OPS": by_user["olivia.ops"],
        "CODER": by_user["alice.coder"],
        "AUDITOR": by_user["aaron.auditor"],
        "ADMIN": by_user["ada.admin"],
        "INTEGRATOR": by_user["ian.integrator"],
        "URL": url,
        "SECRET": secret,
        "CLEARCHART": command,
    }
    path = data_dir / "demo.env"
    _write_private(path, "".join(f"{k}={shlex.quote(v)}\n" for k, v in values.items()))
    return path


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


def _summary(tokens: list[tuple[str, str, str]], url: str, secret: str, env_file: Path, *, reused: bool) -> str:
    width = max(len(user) for _, user, _ in tokens)
    head = "Demo tenant 'demo' is already seeded; its tokens still work:" if reused else "Demo tenant 'demo' is seeded. Tokens to try:"
    lines = [head]
    lines += [f"  {role:<12} {user:<{width}}  {token}" for role, user, token in tokens]
    lines += [
        "",
        f"Webhook URL     {url}",
        f"Webhook secret  {secret}",
        "The sandbox clearinghouse denies demo-enc-2's claim (CO-11) once it is coded: a denial to appeal.",
        f"Shell variables for the README walkthrough:  . {env_file}",
        f"Try:  . {env_file} && curl -s -H \"Authorization: Bearer $CODER\" -X POST $API/v1/queues/outpatient/claim",
        "",
    ]
    return "\n".join(lines)
