"""Every route and page against one role × scope matrix.

The world: two tenants; in tenant A two vendors sharing one queue, two physicians and an open
blind audit. Chart A1 was coded under vendor v1 (claimed, denied, appealed) and sits in the blind
audit; chart A2 is held by a v2 coder with a query to physician dr-1; chart A3 waits unassigned in
the shared queue. Tenant B has a chart and tokens with the *same* user and vendor ids as A's.

`SCOPE` names the scope of every route the app serves (API and web pages); a route missing from it
fails `test_every_route_has_a_scope`. Reads are checked for each principal and each object of the
route's kind: an object outside the principal's scope is refused (403/404), one inside is not, and
no answer carries an identifier of an object the principal may not see (nor, for the auditor,
the coder's codes). Writes naming an out-of-scope object are refused and change nothing.
"""

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy import func, select

from api.main import create_app
from clearchart import admin
from clearchart.settings import Settings
from models.access import PERMISSIONS
from models.encounters.tables import AuditEvent
from tests.api.claim_support import coding, post_x12, remittance_835
from tests.api.test_queries_api import query
from tests.api.test_security import ROUTES, _declared_permission, _endpoints, _role_of
from tests.support import LiveStack, Tenant, eventually, make_tenant

# Scope kinds: "public"/"signed" need no bearer token; "tenant" reads are lists or aggregates of
# the caller's tenant (scanned for leaks); "log" is the tenant's own access log (admin only), which
# rightly echoes every id its users asked for, other tenants' included; "operator" routes serve only
# the installation's operations tenant (tests/api/test_temporal_phi.py); the others name one object.
SCOPE: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): "public",
    ("GET", "/readyz"): "public",
    ("GET", "/ui"): "public",
    ("POST", "/ui/login"): "public",
    ("GET", "/ui/static/{name}"): "public",
    ("POST", "/v1/webhooks/ehr"): "signed",
    ("GET", "/metrics"): "tenant",
    ("GET", "/v1/encounters"): "tenant",
    ("GET", "/v1/encounters/{encounter_id}"): "codes",
    ("GET", "/v1/encounters/{encounter_id}/evidence"): "codes",
    ("GET", "/v1/encounters/{encounter_id}/scrub"): "codes",
    ("POST", "/v1/encounters/{encounter_id}/coding"): "chart",
    ("POST", "/v1/encounters/{encounter_id}/release"): "chart",
    ("POST", "/v1/encounters/{encounter_id}/reassign"): "chart",
    ("POST", "/v1/encounters/{encounter_id}/holds"): "chart",
    ("POST", "/v1/encounters/{encounter_id}/queries"): "chart",
    ("POST", "/v1/encounters/{encounter_id}/scrub/acknowledge"): "chart",
    ("GET", "/v1/queues"): "tenant",
    ("POST", "/v1/queues/{queue_id}/claim"): "queue",
    ("POST", "/v1/holds/{hold_id}/release"): "hold",
    ("GET", "/v1/queries"): "tenant",
    ("GET", "/v1/queries/{query_id}"): "query",
    ("POST", "/v1/queries/{query_id}/answer"): "query",
    ("POST", "/v1/queries/{query_id}/withdraw"): "query",
    ("GET", "/v1/query-templates"): "tenant",
    ("POST", "/v1/query-templates"): "tenant",
    ("GET", "/v1/claims"): "tenant",
    ("GET", "/v1/claims/{claim_id}"): "claim",
    ("GET", "/v1/claims/{claim_id}/x12"): "claim",
    ("POST", "/v1/acknowledgments"): "tenant",
    ("POST", "/v1/remittances"): "tenant",
    ("GET", "/v1/remittances/unmatched"): "tenant",
    ("GET", "/v1/denials"): "tenant",
    ("GET", "/v1/denials/{denial_id}"): "denial",
    ("POST", "/v1/denials/{denial_id}/appeals"): "denial",
    ("POST", "/v1/denials/{denial_id}/write-off"): "denial",
    ("GET", "/v1/appeals/{appeal_id}"): "appeal",
    ("GET", "/v1/appeals/{appeal_id}/packet"): "appeal",
    ("POST", "/v1/appeals/{appeal_id}/decision"): "appeal",
    ("GET", "/v1/metrics/queries"): "tenant",
    ("GET", "/v1/metrics/holds"): "tenant",
    ("GET", "/v1/metrics/revenue"): "tenant",
    ("GET", "/v1/audit-trail/verify"): "tenant",
    ("GET", "/v1/access-log"): "log",
    ("POST", "/v1/audits"): "tenant",
    ("GET", "/v1/audits"): "tenant",
    ("GET", "/v1/audits/coaching"): "tenant",
    ("GET", "/v1/audits/{audit_id}"): "audit",
    ("GET", "/v1/audits/{audit_id}/sample/verify"): "audit",
    ("GET", "/v1/audits/{audit_id}/charts/{chart_id}"): "audit_chart",
    ("POST", "/v1/audits/{audit_id}/charts/{chart_id}/review"): "audit_chart",
    ("POST", "/v1/audits/{audit_id}/charts/{chart_id}/findings"): "audit_chart",
    ("GET", "/v1/audits/{audit_id}/findings"): "audit",
    ("POST", "/v1/audits/{audit_id}/close"): "audit",
    ("GET", "/v1/audits/{audit_id}/report"): "audit",
    ("POST", "/v1/findings/{finding_id}/respond"): "finding",
    ("POST", "/v1/findings/{finding_id}/reconcile"): "finding",
    ("POST", "/v1/education"): "tenant",
    ("POST", "/v1/education/{education_id}/acknowledge"): "finding",
    # Web pages (cookie session)
    ("POST", "/ui/logout"): "tenant",
    ("GET", "/ui/home"): "tenant",
    ("GET", "/ui/welcome"): "tenant",
    ("GET", "/ui/dashboard"): "tenant",
    ("GET", "/ui/encounters"): "tenant",
    ("GET", "/ui/encounters/{encounter_id}"): "codes",
    ("GET", "/ui/encounters/{encounter_id}/evidence"): "codes",
    ("GET", "/ui/work"): "tenant",
    ("POST", "/ui/work/claim"): "tenant",
    ("GET", "/ui/work/{encounter_id}"): "codes",
    ("GET", "/ui/codes"): "tenant",
    ("POST", "/ui/work/{encounter_id}/coding"): "chart",
    ("POST", "/ui/work/{encounter_id}/query/lint"): "chart",
    ("POST", "/ui/work/{encounter_id}/query"): "chart",
    ("POST", "/ui/work/{encounter_id}/hold"): "chart",
    ("POST", "/ui/work/{encounter_id}/scrub/acknowledge"): "chart",
    ("GET", "/ui/inbox"): "tenant",
    ("POST", "/ui/inbox/{query_id}/answer"): "query",
    ("GET", "/ui/audits"): "tenant",
    ("POST", "/ui/audits"): "tenant",
    ("GET", "/ui/audits/{audit_id}"): "audit",
    ("GET", "/ui/audits/{audit_id}/charts/{chart_id}"): "audit_chart",
    ("POST", "/ui/audits/{audit_id}/charts/{chart_id}/review"): "audit_chart",
    ("POST", "/ui/audits/{audit_id}/charts/{chart_id}/findings"): "audit_chart",
    ("GET", "/ui/audits/{audit_id}/report"): "audit",
    ("POST", "/ui/findings/{finding_id}/reconcile"): "finding",
    ("GET", "/ui/findings"): "tenant",
    ("POST", "/ui/findings/{finding_id}/respond"): "finding",
    ("GET", "/ui/denials"): "tenant",
    ("POST", "/ui/denials/{denial_id}/appeal"): "denial",
    ("POST", "/ui/appeals/{appeal_id}/decision"): "appeal",
    # Added with tenant administration, billing exceptions, integrations and code suggestions
    ("GET", "/docs"): "public",
    ("GET", "/docs/oauth2-redirect"): "public",
    ("GET", "/redoc"): "public",
    ("GET", "/ui/sso"): "public",
    ("GET", "/ui/sso/{tenant_id}"): "public",
    ("GET", "/ui/sso/{tenant_id}/callback"): "public",
    ("POST", "/v1/hl7v2"): "signed",
    ("GET", "/v1/encounters/{encounter_id}/documents/{document_id}/content"): "note",
    ("GET", "/v1/encounters/{encounter_id}/suggestions"): "codes",
    ("POST", "/v1/encounters/{encounter_id}/suggestions/{suggestion_id}/decision"): "chart",
    ("GET", "/ui/encounters/{encounter_id}/documents/{document_id}"): "note",
    ("GET", "/ui/work/{encounter_id}/suggestions"): "codes",
    ("POST", "/ui/work/{encounter_id}/suggestions/{suggestion_id}/decision"): "chart",
    ("GET", "/v1/admin/tenant-policy"): "tenant",
    ("PUT", "/v1/admin/tenant-policy"): "tenant",
    ("GET", "/v1/admin/tenant-policy/versions"): "tenant",
    ("GET", "/ui/admin/policy"): "tenant",
    ("POST", "/ui/admin/policy"): "tenant",
    ("GET", "/v1/payers"): "tenant",
    ("POST", "/v1/payers"): "tenant",
    ("GET", "/v1/dead-letters"): "tenant",
    ("GET", "/v1/remittance-exceptions"): "tenant",
    ("POST", "/v1/remittance-exceptions/{exception_id}/resolve"): "tenant",
    ("GET", "/v1/inbound/{inbound_id}"): "tenant",
    ("GET", "/v1/intake/failures"): "tenant",
    ("GET", "/v1/webhook-endpoints"): "tenant",
    ("POST", "/v1/webhook-endpoints"): "tenant",
    ("GET", "/v1/webhook-endpoints/{endpoint_id}"): "tenant",
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"): "tenant",
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries"): "tenant",
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/replay"): "tenant",
    ("POST", "/codec/decode"): "operator",
    ("POST", "/codec/encode"): "operator",
    ("GET", "/fhir/R4/Task"): "tenant",
    ("GET", "/fhir/R4/Communication"): "tenant",
    ("GET", "/fhir/R4/CommunicationRequest"): "tenant",
}

# Other renderings of the same read: each must be scoped like the default one (PDFs are compressed,
# so only their status is checked).
FORMATS = {
    ("GET", "/v1/encounters/{encounter_id}/evidence"): ("?format=html", "?format=pdf"),
    ("GET", "/v1/appeals/{appeal_id}/packet"): ("?format=json", "?format=pdf"),
    ("GET", "/v1/audits/{audit_id}/report"): ("?format=html", "?format=pdf"),
    ("GET", "/ui/audits/{audit_id}/report"): ("?format=csv", "?format=pdf"),
}
CODES = ("E11.65", "E1165")  # the coder's diagnosis on A1: hidden from the blind auditor
# Principal key -> (tenant, token key). Tenant B's "coder" has A's coder's user and vendor ids.
PRINCIPALS = {
    "ops": ("A", "ops"), "admin": ("A", "admin"), "coder_v1": ("A", "coder"), "coder_same_user_v2": ("A", "coder1_v2"),
    "coder_v2": ("A", "coder_other_vendor"), "lead_v1": ("A", "vendor_lead"), "lead_v2": ("A", "lead_v2"),
    "auditor": ("A", "auditor"), "dr1": ("A", "physician"), "dr2": ("A", "dr2"), "integrator": ("A", "integrator"),
    "b_ops": ("B", "ops"), "b_coder": ("B", "coder"),
}  # fmt: skip
# The matrix: which charts each principal may read, and which it may see the codes of.
CHARTS = {"ops": {"A1", "A2", "A3"}, "admin": {"A1", "A2", "A3"}, "coder_v1": {"A1"}, "coder_v2": {"A2"}, "lead_v1": {"A1"}, "lead_v2": {"A2"}, "auditor": {"A1"}, "b_ops": {"B1"}}  # fmt: skip
CODES_HIDDEN = {"auditor": {"A1"}}  # the open blind audit
QUERIES = {"ops", "admin", "coder_v2", "lead_v2", "dr1"}
# Whole note texts: operations, and auditors and the lease holder outside blind review (a chart's
# lease holder changes as the world moves, so coders are only checked for refusals here).
NOTES = {"ops": {"A1", "A2", "A3"}, "admin": {"A1", "A2", "A3"}, "b_ops": {"B1"}}  # who may read Q2 (raised by coder_v2 to dr-1)


def charts(p: str) -> set[str]:
    return CHARTS.get(p, set())


def coded(p: str) -> set[str]:
    return charts(p) - CODES_HIDDEN.get(p, set())


@dataclass
class World:
    a: Tenant
    b: Tenant
    ids: dict[str, str] = field(default_factory=dict)  # object name -> id
    markers: dict[str, set[str]] = field(default_factory=dict)  # object name -> strings that identify it

    def visible(self, p: str, obj: str) -> bool:
        """The matrix, per object: what principal `p` may read."""
        match obj:
            case "A1" | "A2" | "A3" | "B1":
                return obj in charts(p)
            case "C1" | "D1" | "AP1":
                return "A1" in coded(p)
            case "Q2":
                return p in QUERIES
            case "H2":
                return "A2" in charts(p)
            case "AU1" | "AU1/A1":
                return PRINCIPALS[p][0] == "A" and (obj == "AU1" or p in ("ops", "admin", "auditor"))
            case "shared":
                return p in ("ops", "admin", "coder_v1", "coder_v2", "coder_same_user_v2", "lead_v1", "lead_v2")
        return False

    def banned(self, p: str) -> set[str]:
        seen = set(charts(p)) | ({"A2"} if p in QUERIES else set())  # a query names its chart
        out = {m for obj in ("A1", "A2", "A3", "B1") if obj not in seen for m in self.markers[obj]}
        out |= {m for obj in ("C1", "D1", "AP1") if not self.visible(p, obj) for m in self.markers[obj]}
        out |= self.markers["Q2"] if p not in QUERIES else set()
        out |= set(CODES) if CODES_HIDDEN.get(p) else set()
        return out


OBJECTS = {
    "codes": ("A1", "A2", "A3", "B1"), "chart": ("A1", "A2", "A3", "B1"), "note": ("A1", "A2", "A3", "B1"), "claim": ("C1",), "denial": ("D1",),
    "appeal": ("AP1",), "query": ("Q2",), "hold": ("H2",), "queue": ("shared",), "audit": ("AU1",),
    "audit_chart": ("AU1/A1",), "finding": ("F0",),
}  # fmt: skip


async def _token(t: Tenant, key: str, role: str, user: str, vendor: str | None = None, npi: str | None = None) -> None:
    t.tokens[key] = await admin.create_token(
        t.stack.sessions, t.stack.settings.secret_key, tenant_id=t.id, role=role, user_id=user, vendor_id=vendor, npi=npi
    )


async def _chart(t: Tenant, claimer: str | None) -> tuple[str, str, str]:
    enc = await t.new_encounter()
    if claimer is None:
        return enc["id"], enc["external_id"], ""
    chart = (await t.post("/v1/queues/shared/claim", claimer)).json()
    assert chart["id"] == enc["id"], chart
    return enc["id"], enc["external_id"], chart["documents"][0]["id"]


@pytest_asyncio.fixture(loop_scope="session")
async def world(live: LiveStack, http: httpx.AsyncClient) -> World:
    a = await make_tenant(live, http, default_queue="shared")
    await admin.create_queue(live.sessions, a.id, "shared", "Shared", ["v1", "v2"])
    await _token(a, "coder1_v2", "coder", "coder-1", "v2")
    await _token(a, "lead_v2", "vendor_lead", "lead-2", "v2")
    await _token(a, "dr2", "physician", "dr-2", npi="1999999984")
    w = World(a, await make_tenant(live, http))
    # A1: coded under v1, billed, denied, appealed.
    a1, a1_ext, doc = await _chart(a, "coder")
    assert (await a.post(f"/v1/encounters/{a1}/coding", "coder", json=coding(doc))).status_code == 200
    claims = await eventually(lambda: a.get(f"/v1/claims?encounter_id={a1}", "ops"), until=lambda r: len(r.json()) == 1)
    claim = claims.json()[0]
    await eventually(lambda: a.get(f"/v1/encounters/{a1}", "ops"), until=lambda r: r.json()["status"] == "submitted")
    text = remittance_835(claim["control_number"], paid_cents=0, charge_cents=claim["total_charge_cents"], adjustments=[("CO", "11", claim["total_charge_cents"])])
    denial = (await post_x12(a, "/v1/remittances", text)).json()["matched"][0]["denials"][0]
    appeal = await a.post(f"/v1/denials/{denial['id']}/appeals", "ops", json={"level": "redetermination", "reason": "The diagnosis is documented."})
    assert appeal.status_code == 201, appeal.text
    audit = await a.post("/v1/audits", "auditor", json={"method": "census", "seed": 3, "blind": True})
    assert audit.status_code == 201, audit.text
    assert a1 in audit.json()["encounter_ids"]
    # A2: held by a v2 coder, with a query to dr-1 (which holds the chart).
    a2, a2_ext, doc2 = await _chart(a, "coder_other_vendor")
    raised = await a.post(f"/v1/encounters/{a2}/queries", "coder_other_vendor", json=query(doc2))
    assert raised.status_code == 201, raised.text
    held = (await a.get(f"/v1/encounters/{a2}", "ops")).json()
    # A3 waits in the shared queue; B1 in tenant B.
    a3, a3_ext, _ = await _chart(a, None)
    b1, b1_ext, _ = await _chart(w.b, None)
    await _token(w.b, "coder", "coder", "coder-1", "v1")  # the same ids as A's coder
    w.ids = {
        "A1": a1, "A2": a2, "A3": a3, "B1": b1, "C1": claim["id"], "D1": denial["id"], "AP1": appeal.json()["id"],
        "Q2": raised.json()["id"], "H2": held["holds"][0]["id"], "AU1": audit.json()["id"], "shared": "shared",
        "F0": str(uuid.uuid4()),
    }  # fmt: skip
    w.markers = {
        "A1": {a1, a1_ext}, "A2": {a2, a2_ext}, "A3": {a3, a3_ext}, "B1": {b1, b1_ext}, "C1": {claim["id"], claim["control_number"]},
        "D1": {denial["id"]}, "AP1": {appeal.json()["id"]}, "Q2": {raised.json()["id"]},
    }  # fmt: skip
    return w


def _tenant(w: World, p: str) -> Tenant:
    return w.a if PRINCIPALS[p][0] == "A" else w.b


def _url(path: str, w: World, obj: str | None) -> str:
    ids = dict(w.ids)
    if obj is not None:
        first, _, second = obj.partition("/")
        for name in re.findall(r"{(\w+)}", path):
            ids[name] = w.ids[second] if name == "chart_id" and second else w.ids[first]
    return re.sub(r"{(\w+)}", lambda m: ids.get(m[1], str(uuid.uuid4())), path)


@dataclass
class Caller:
    """One principal's bearer headers and, for pages, a signed-in browser session."""

    tenant: Tenant
    headers: dict[str, str]
    browser: httpx.AsyncClient
    csrf: str


async def _caller(t: Tenant, key: str) -> Caller:
    browser = httpx.AsyncClient(base_url=t.stack.url, timeout=60)
    form = await browser.get("/ui")
    nonce = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert nonce, form.text
    assert (await browser.post("/ui/login", data={"token": t.tokens[key], "csrf": nonce[1]})).status_code == 303
    home = await browser.get("/ui/home", follow_redirects=True)
    csrf = re.search(r'data-csrf="([^"]+)"', home.text)
    return Caller(t, t.auth(key), browser, csrf[1] if csrf else "")


@pytest_asyncio.fixture(loop_scope="session")
async def callers(world: World) -> AsyncIterator[dict[str, Caller]]:
    found = {p: await _caller(_tenant(world, p), key) for p, (_, key) in PRINCIPALS.items()}
    yield found
    for c in found.values():
        await c.browser.aclose()


def _served() -> dict[tuple[str, str], Any]:
    app = create_app(Settings(DATABASE_URL="postgresql://unused@localhost/unused"))
    return {(m, r.path): r for r in _endpoints(app.routes) for m in r.methods}


def _role(p: str) -> str:
    key = PRINCIPALS[p][1]
    return {"coder1_v2": "coder", "coder_other_vendor": "coder", "lead_v2": "vendor_lead", "dr2": "physician"}.get(key, key)


def _may(route: Any, p: str) -> bool:
    needed = _declared_permission(route)
    return needed is None or needed in PERMISSIONS[_role_of(_role(p))]


async def _send(w: World, c: Caller, method: str, path: str, obj: str | None, fmt: str = "") -> httpx.Response:
    url = _url(path, w, obj) + fmt
    if path.startswith("/ui"):
        data = {"csrf": c.csrf} if method == "POST" else None
        return await c.browser.request(method, url, data=data, headers={"accept": "text/html"})
    body = next((r.body for r in ROUTES if (r.method, r.path) == (method, path)), None)
    return await c.tenant.http.request(method, f"{c.tenant.stack.url}{url}", headers=c.headers, json=body)


class TestScopeMatrix:
    def test_every_route_has_a_scope(self) -> None:
        served = set(_served())
        assert served - SCOPE.keys() == set(), f"routes without a scope entry in {__name__}.SCOPE: {sorted(served - SCOPE.keys())}"
        assert SCOPE.keys() - served == set(), f"SCOPE lists routes the app no longer serves: {sorted(SCOPE.keys() - served)}"

    async def test_reads_are_scoped_by_tenant_role_vendor_physician_and_blind_review(
        self, world: World, callers: dict[str, Caller]
    ) -> None:
        failures: list[str] = []
        for (method, path), route in sorted(_served().items()):
            kind = SCOPE[(method, path)]
            if method != "GET" or kind in ("public", "signed") or path.startswith("/ui/static"):
                continue
            calls = [
                (p, c, obj, fmt)
                for p, c in callers.items()
                for obj in OBJECTS.get(kind, (None,))
                for fmt in ("", *FORMATS.get((method, path), ()))
            ]
            for p, c, obj, fmt in calls:
                r = await _send(world, c, method, path, obj, fmt)
                asked = _url(path, world, obj)  # a refusal may repeat the id it was asked for
                leaked = sorted(m for m in world.banned(p) if m in r.text and m not in asked and kind != "log")
                if leaked:
                    failures.append(f"{p} GET {path}{fmt} [{obj}] -> {r.status_code} shows {leaked}")
                if obj is None or obj == "F0":
                    continue
                if kind == "note":
                    allowed = _may(route, p) and obj in NOTES.get(p, set())
                else:
                    allowed = _may(route, p) and (obj in coded(p) if kind == "codes" else world.visible(p, obj))
                wrongly_refused = r.status_code in (401, 403) or (r.status_code == 404 and "not visible" in r.text)
                if allowed and wrongly_refused:
                    failures.append(f"{p} GET {path}{fmt} [{obj}] refused ({r.status_code}) but the matrix allows it")
                if not allowed and r.status_code < 400:
                    failures.append(f"{p} GET {path}{fmt} [{obj}] -> {r.status_code} but the matrix refuses it")
        assert not failures, "\n".join(failures)

    async def test_writes_naming_an_object_out_of_scope_are_refused_and_change_nothing(
        self, world: World, callers: dict[str, Caller]
    ) -> None:
        async def trail() -> dict[Any, int]:
            async with world.a.stack.sessions() as s:
                rows = await s.execute(select(AuditEvent.encounter_id, func.count()).group_by(AuditEvent.encounter_id))
                return {k: n for k, n in rows.all() if str(k) in world.ids.values()}

        before = await trail()
        failures: list[str] = []
        for (method, path), route in sorted(_served().items()):
            kind = SCOPE[(method, path)]
            if method != "POST" or kind not in OBJECTS or kind == "finding":
                continue
            for p, c in callers.items():
                if not _may(route, p):
                    continue
                for obj in OBJECTS[kind]:
                    if world.visible(p, obj):
                        continue
                    r = await _send(world, c, method, path, obj)
                    # A form re-renders its page with the refusal; it must not succeed (303) or leak.
                    refused = r.status_code != 303 if path.startswith("/ui") else r.status_code in (403, 404)
                    asked = _url(path, world, obj)
                    leaked = sorted(m for m in world.banned(p) if m in r.text and m not in asked)
                    if not refused or leaked:
                        failures.append(f"{p} POST {path} [{obj}] -> {r.status_code} {leaked}: {r.text[:200]}")
        assert not failures, "\n".join(failures)
        assert await trail() == before

    async def test_figures_are_scoped_like_rows(self, world: World) -> None:
        """Aggregates carry no ids, so the leak scan cannot see them: check the figures themselves."""
        a = world.a
        revenue = {who: (await a.get("/v1/metrics/revenue", who)).json() for who in ("ops", "vendor_lead", "lead_v2")}
        assert revenue["ops"]["denial_volume_by_root_cause"] == revenue["vendor_lead"]["denial_volume_by_root_cause"] == {"coding": 1}
        assert revenue["lead_v2"]["denial_volume_by_root_cause"] == {}
        holds = {who: (await a.get("/v1/metrics/holds", who)).json()["open_total"] for who in ("ops", "vendor_lead", "lead_v2")}
        assert holds == {"ops": 1, "vendor_lead": 0, "lead_v2": 1}
        queries = {who: (await a.get("/v1/metrics/queries?vendor=v2", who)).json() for who in ("ops", "vendor_lead", "lead_v2")}
        assert (queries["ops"]["overall"]["volume"], queries["lead_v2"]["overall"]["volume"]) == (1, 1)
        assert queries["vendor_lead"]["overall"]["volume"] == 0  # pinned to v1 whatever it asks for
        assert set(queries["vendor_lead"]["by_vendor"]) <= {"v1"}
        unmatched = [(await a.get("/v1/remittances/unmatched", who)).status_code for who in ("coder", "vendor_lead", "ops")]
        assert unmatched == [403, 403, 200]


class TestBlindReview:
    async def test_an_open_blind_audit_hides_the_codes_on_every_path_until_the_re_coding(
        self, world: World, callers: dict[str, Caller]
    ) -> None:
        a, ids, auditor = world.a, world.ids, callers["auditor"]
        paths = (f"/v1/claims/{ids['C1']}/x12", f"/v1/appeals/{ids['AP1']}/packet?format=json", f"/v1/encounters/{ids['A1']}")
        assert [(await a.get(path, "auditor")).status_code for path in paths] == [404, 404, 403]
        assert (await a.get(f"/v1/claims?encounter_id={ids['A1']}", "auditor")).json() == []
        page = await auditor.browser.get(f"/ui/encounters/{ids['A1']}", headers={"accept": "text/html"})
        assert page.status_code == 403
        assert "blind" in page.text
        assert "E11.65" not in page.text
        recoded = {"diagnoses": [{"code": "E11.65"}, {"code": "I10"}], "procedures": [{"code": "99214"}]}
        review = await a.post(f"/v1/audits/{ids['AU1']}/charts/{ids['A1']}/review", "auditor", json=recoded)
        assert review.status_code in (200, 201), review.text
        shown = [await a.get(path, "auditor") for path in paths]
        assert [r.status_code for r in shown] == [200, 200, 200]
        assert "E1165" in shown[0].text
        assert "E11.65" in shown[1].text
        assert (await auditor.browser.get(f"/ui/encounters/{ids['A1']}")).status_code == 200


class TestVendorOfTheWork:
    async def test_a_queue_one_vendor_serves_alone_is_that_vendors_work(self, tenant: Tenant) -> None:
        """q1 serves only v1: its waiting charts are v1's backlog, never v2's."""
        await _token(tenant, "lead_v2", "vendor_lead", "lead-2", "v2")
        enc = await tenant.new_encounter()
        assert (await tenant.get(f"/v1/encounters/{enc['id']}", "vendor_lead")).status_code == 200
        assert (await tenant.get(f"/v1/encounters/{enc['id']}", "lead_v2")).status_code == 404
        listed = (await tenant.get("/v1/encounters", "lead_v2")).json()["items"]
        assert enc["id"] not in [e["id"] for e in listed]
