"""The web UI's cookie sessions: sign-in, role checks, tenant isolation and CSRF on every route.

The UI is not a bearer API, so tests/api/test_security.py lists its routes in WEB_UI and this
module exercises each of them: no session -> sign-in, missing permission -> 403 page, another
tenant's chart -> 404, missing or foreign CSRF token -> 403 with nothing changed.
"""

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy import func, update

from api.auth import token_hash
from api.edge import api_routes, body_rule
from api.main import create_app
from clearchart.settings import Settings
from models.access import PERMISSIONS
from models.encounters.tables import ApiToken
from tests.api.claim_support import claimed, coding
from tests.api.test_security import PUBLIC, WEB_UI, _declared_permission, _endpoints, _role_of
from tests.support import Tenant

ROLE_KEYS = ("ops", "admin", "coder", "vendor_lead", "auditor", "physician", "integrator")
# Each UI write route's declared body: the workspace's JSON routes take JSON (a form is a 415 at
# the edge), the pages take forms.
_JSON_POSTS = {
    r.path for r in api_routes(create_app(Settings(DATABASE_URL="postgresql://unused@localhost/unused")).routes)
    if "POST" in (r.methods or set()) and "application/json" in body_rule(r).media
}  # fmt: skip


def posted(path: str, csrf: str, **fields: str) -> dict[str, Any]:
    """The request arguments of a POST to `path` in the body kind the route declares."""
    if path in _JSON_POSTS:
        return {"json": {"csrf": csrf, **fields}, "headers": {"X-CSRF-Token": csrf}}
    return {"data": {"csrf": csrf, **fields}}


SignIn = Callable[[Tenant, str], Awaitable[tuple[httpx.AsyncClient, str]]]


@pytest_asyncio.fixture(loop_scope="session")
async def sign_in() -> AsyncIterator[SignIn]:
    """Signs in through the form: a client holding `who`'s session cookie, and its CSRF token."""
    clients: list[httpx.AsyncClient] = []

    async def open_session(tenant: Tenant, who: str) -> tuple[httpx.AsyncClient, str]:
        client = httpx.AsyncClient(base_url=tenant.stack.url, timeout=30)
        clients.append(client)
        form = await client.get("/ui")
        nonce = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert nonce, form.text
        signed = await client.post("/ui/login", data={"token": tenant.tokens[who], "csrf": nonce[1]})
        assert signed.status_code == 303, signed.text
        home = await client.get("/ui/home", follow_redirects=True)
        csrf = re.search(r'data-csrf="([^"]+)"', home.text)
        assert csrf, home.text
        return client, csrf[1]

    yield open_session
    for client in clients:
        await client.aclose()


def concrete(path: str, **ids: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: ids.get(m[1], str(uuid.uuid4())), path)


async def depth(tenant: Tenant) -> int:
    queues = (await tenant.get("/v1/queues", "ops")).json()
    return int(next(q["depth"] for q in queues if q["id"] == "q1"))


class TestRouteTable:
    def test_web_ui_table_lists_exactly_the_served_ui_routes(self) -> None:
        app = create_app(Settings(DATABASE_URL="postgresql://unused@localhost/unused"))
        served = {(m, r.path) for r in _endpoints(app.routes) for m in r.methods if r.path.startswith("/ui")}
        assert served == WEB_UI | {op for op in PUBLIC if op[1].startswith("/ui")}


class TestSignIn:
    async def test_no_session_is_sent_to_sign_in_on_every_route(self, tenant: Tenant) -> None:
        failures = []
        async with httpx.AsyncClient(base_url=tenant.stack.url, timeout=30) as anonymous:
            for method, path in sorted(WEB_UI):
                url = concrete(path)
                r = await anonymous.request(method, url, **(posted(path, "x") if method == "POST" else {}))
                if method == "GET" and not (r.status_code == 303 and r.headers["location"].startswith("/ui?next=")):
                    failures.append(f"{method} {path} -> {r.status_code} {r.headers.get('location')}")
                if method == "POST" and r.status_code != 401:
                    failures.append(f"{method} {path} -> {r.status_code}")
        assert not failures, failures

    async def test_the_session_cookie_is_httponly_strict_signed_and_holds_no_token(self, tenant: Tenant, sign_in: SignIn) -> None:
        client, _ = await sign_in(tenant, "ops")
        cookie = next(c for c in client.cookies.jar if c.name == "cc_session")
        assert tenant.tokens["ops"] not in (cookie.value or "")
        form = await client.get("/ui/dashboard")
        assert form.status_code == 200
        assert f"Tenant {tenant.id}" in form.text
        assert "script-src 'self'" in form.headers["content-security-policy"]
        again = httpx.AsyncClient(base_url=tenant.stack.url)
        page = await again.get("/ui")
        nonce = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert nonce
        login = await again.post("/ui/login", data={"token": tenant.tokens["ops"], "csrf": nonce[1]})
        header = login.headers["set-cookie"].lower()
        assert "httponly" in header
        assert "samesite=strict" in header
        assert "path=/ui" in header
        await again.aclose()
        # A forged signature is no session at all.
        body, _, mac = (cookie.value or "").rpartition(".")
        client.cookies.set("cc_session", body + "." + ("0" if mac[0] != "0" else "1") + mac[1:], path="/ui")
        forged = await client.get("/ui/dashboard")
        assert forged.status_code == 303
        assert forged.headers["location"].startswith("/ui?next=")

    async def test_bad_tokens_missing_form_tokens_and_open_redirects_are_refused(self, tenant: Tenant) -> None:
        async with httpx.AsyncClient(base_url=tenant.stack.url, timeout=30) as client:
            page = await client.get("/ui")
            nonce = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert nonce
            wrong = await client.post("/ui/login", data={"token": "cc_not-a-token", "csrf": nonce[1]})
            assert wrong.status_code == 401
            assert "unknown or revoked" in wrong.text
            raw_hash = token_hash(tenant.stack.settings.secret_key, tenant.tokens["ops"])
            fresh = re.search(r'name="csrf" value="([^"]+)"', wrong.text)
            assert fresh
            assert (await client.post("/ui/login", data={"token": raw_hash, "csrf": fresh[1]})).status_code == 401
            async with httpx.AsyncClient(base_url=tenant.stack.url) as cross_site:
                forged = await cross_site.post("/ui/login", data={"token": tenant.tokens["ops"], "csrf": fresh[1]})
                assert forged.status_code == 403
                assert "cc_session" not in forged.headers.get("set-cookie", "")
            page = await client.get("/ui")
            nonce = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert nonce
            ok = await client.post("/ui/login", data={"token": tenant.tokens["ops"], "csrf": nonce[1], "next": "//evil.example/ui/"})
            assert ok.status_code == 303
            assert ok.headers["location"] == "/ui/home"

    async def test_revoking_the_token_or_signing_out_ends_the_session(self, tenant: Tenant, sign_in: SignIn) -> None:
        client, csrf = await sign_in(tenant, "coder")
        out = await client.post("/ui/logout", data={"csrf": csrf})
        assert out.status_code == 303
        assert (await client.get("/ui/work")).status_code == 303
        client, _ = await sign_in(tenant, "ops")
        assert (await client.get("/ui/dashboard")).status_code == 200
        async with tenant.stack.sessions.begin() as session:
            digest = token_hash(tenant.stack.settings.secret_key, tenant.tokens["ops"])
            await session.execute(update(ApiToken).where(ApiToken.token_hash == digest).values(revoked_at=func.now()))
        assert (await client.get("/ui/dashboard")).status_code == 303


class TestAuthorization:
    async def test_every_route_gives_roles_without_its_permission_a_403_page(self, tenant: Tenant, sign_in: SignIn) -> None:
        app = create_app(Settings(DATABASE_URL="postgresql://unused@localhost/unused"))
        declared = {(m, r.path): _declared_permission(r) for r in _endpoints(app.routes) for m in r.methods}
        failures = []
        for key in ROLE_KEYS:
            client, csrf = await sign_in(tenant, key)
            for method, path in sorted(WEB_UI - {("POST", "/ui/logout")}):  # sign-out: its own test
                permission = declared[(method, path)]
                url = concrete(path)
                if method == "POST":
                    r = await client.post(url, **posted(path, csrf, queue="no-such-queue"))
                else:
                    r = await client.get(url)
                allowed = permission is None or permission in PERMISSIONS[_role_of(key)]
                if not allowed and (r.status_code != 403 or "lacks the" not in r.text or _role_of(key) not in r.text):
                    failures.append(f"{key} {method} {path} -> {r.status_code}")
                if allowed and r.status_code in (401, 403):
                    failures.append(f"{key} {method} {path} refused although allowed -> {r.status_code}")
        assert not failures, "\n".join(failures)

    async def test_another_tenants_chart_is_not_found(self, tenant: Tenant, sign_in: SignIn, other_tenant: Tenant) -> None:
        enc = await tenant.new_encounter()
        claimed = await tenant.post("/v1/queues/q1/claim", "coder")
        assert claimed.json()["id"] == enc["id"]
        for who, method, path, body in (
            ("ops", "GET", "/ui/encounters/{encounter_id}", None),
            ("ops", "GET", "/ui/encounters/{encounter_id}/evidence", None),
            ("coder", "GET", "/ui/work/{encounter_id}", None),
            ("coder", "POST", "/ui/work/{encounter_id}/hold", {"reason": "other", "note": "x"}),
            ("coder", "POST", "/ui/work/{encounter_id}/query/lint", {"question": "Please clarify."}),
        ):
            client, csrf = await sign_in(other_tenant, who)
            url = concrete(path, encounter_id=enc["id"])
            r = await (client.get(url) if method == "GET" else client.post(url, json=body, headers={"X-CSRF-Token": csrf}))
            assert r.status_code == 404, (who, path, r.status_code)
            assert enc["external_id"] not in r.text
        client, _ = await sign_in(other_tenant, "ops")
        assert enc["id"] not in (await client.get("/ui/encounters")).text
        assert (await tenant.get(f"/v1/encounters/{enc['id']}", "ops")).json()["status"] == "in_coding"


class TestCsrf:
    async def test_missing_wrong_or_foreign_csrf_is_refused_and_changes_nothing(self, tenant: Tenant, sign_in: SignIn) -> None:
        await tenant.new_encounter()
        coder, csrf = await sign_in(tenant, "coder")
        _, foreign = await sign_in(tenant, "coder2")
        for label, form in (("missing", {}), ("wrong", {"csrf": "nope"}), ("foreign", {"csrf": foreign})):
            r = await coder.post("/ui/work/claim", data={"queue": "q1", **form})
            assert r.status_code == 403, (label, r.status_code)
            assert "security token" in r.text
            assert await depth(tenant) == 1, label
        claimed = await coder.post("/ui/work/claim", data={"queue": "q1", "csrf": csrf})
        assert claimed.status_code == 303
        chart = claimed.headers["location"].rsplit("/", 1)[1]
        assert await depth(tenant) == 0
        hold = f"/ui/work/{chart}/hold"
        refused = await coder.post(hold, json={"reason": "other", "note": "x"}, headers={"Accept": "application/json"})
        assert refused.status_code == 403
        wrong = await coder.post(hold, json={"reason": "other", "note": "x"}, headers={"X-CSRF-Token": foreign})
        assert wrong.status_code == 403
        state = (await tenant.get(f"/v1/encounters/{chart}", "ops")).json()
        assert state["status"] == "in_coding"
        assert state["holds"] == []
        placed = await coder.post(hold, json={"reason": "other", "note": "x"}, headers={"X-CSRF-Token": csrf, "Accept": "application/json"})
        assert placed.status_code == 201, placed.text
        assert (await tenant.get(f"/v1/encounters/{chart}", "ops")).json()["status"] == "on_hold"


class TestPhiAccessLog:
    async def test_ui_chart_pages_are_recorded_with_the_signed_in_reader(self, tenant: Tenant, sign_in: SignIn) -> None:
        enc, doc = await claimed(tenant)
        coded = await tenant.post(f"/v1/encounters/{enc}/coding", "coder", json=coding(doc))
        assert coded.status_code == 200, coded.text
        audit = await tenant.post("/v1/audits", "auditor", json={"method": "census", "seed": 7, "blind": True})
        assert audit.status_code == 201, audit.text
        ops, _ = await sign_in(tenant, "ops")
        assert (await ops.get(f"/ui/encounters/{enc}")).status_code == 200
        auditor, _ = await sign_in(tenant, "auditor")
        view = await auditor.get(f"/ui/audits/{audit.json()['id']}/charts/{enc}")
        assert view.status_code == 200
        assert 'data-testid="blind"' in view.text
        log = (await tenant.get(f"/v1/access-log?encounter_id={enc}", "admin")).json()["items"]
        seen = {(e["user"], e["role"], e["action"], e["path"].split("/")[2]) for e in log if e["path"].startswith("/ui/")}
        assert ("ops-1", "ops", "encounter.read", "encounters") in seen
        assert ("auditor-1", "auditor", "audit_chart.read", "audits") in seen


class TestScrubInTheWorkspace:
    async def test_soft_edits_are_acknowledged_with_a_reason_from_the_chart_page(self, tenant: Tenant, sign_in: SignIn) -> None:
        enc, doc = await claimed(tenant)
        pediatric = {
            "diagnoses": [{"code": "P07.30", "evidence": [{"document_id": "DOC", "excerpt": "follow-up"}]}],
            "procedures": [{"code": "99214", "pointers": [1], "evidence": [{"document_id": "DOC", "excerpt": "follow-up"}]}],
        }
        first = (await tenant.post(f"/v1/encounters/{enc}/coding", "coder", json=coding(doc, pediatric))).json()
        assert first["status"] == "scrubbing"
        coder, csrf = await sign_in(tenant, "coder")
        chart = await coder.get(f"/ui/work/{enc}")
        assert 'data-rule="age.conflict"' in chart.text
        assert 'data-testid="acknowledge-form"' in chart.text
        form = {"csrf": csrf, "rule": "age.conflict", "line_index": "", "reason": "no"}
        short = await coder.post(f"/ui/work/{enc}/scrub/acknowledge", data=form)
        assert short.status_code == 200
        assert 'data-testid="ack-error"' in short.text
        assert "at least 3 characters" in short.text
        assert (await tenant.get(f"/v1/encounters/{enc}/scrub", "coder")).json()["acknowledgments"] == []
        done = await coder.post(f"/ui/work/{enc}/scrub/acknowledge", data=form | {"reason": "history of prematurity documented"})
        assert done.status_code == 303, done.text
        scrub = (await tenant.get(f"/v1/encounters/{enc}/scrub", "coder")).json()
        assert scrub["clean"] is True
        after = await coder.get(done.headers["location"])
        assert "every soft edit is acknowledged" in after.text
        assert 'data-testid="acknowledge-form"' not in after.text
