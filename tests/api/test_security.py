"""Authentication and authorization on every route, tenant isolation, and token storage.

The route table below is checked against the live OpenAPI document: a route added to the app
without an entry here fails `test_every_route_is_in_the_security_table`, so no route ships
without its auth being exercised.
"""

import re
import uuid
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
from sqlalchemy import func, select, update

from api.auth import token_hash
from api.main import create_app
from clearchart.settings import Settings
from models.access import PERMISSIONS, Permission, Role
from models.encounters.tables import ApiToken
from tests.support import ROLE_USERS, Tenant, operator_tenant

PROBLEM = "application/problem+json"
# Public on purpose: probes, and the static UI shell (it holds no data; its API calls need tokens).
PUBLIC = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/ui")}
# Authenticated by the source's signature, not a bearer token (tests/api/test_webhooks.py).
SIGNED = {("POST", "/v1/webhooks/ehr"), ("POST", "/v1/hl7v2")}
# Web UI
# Public UI routes hold no data: the sign-in page (GET /ui, above), the sign-in POST (it checks the
# token like a bearer request) and the static assets.
PUBLIC |= {("POST", "/ui/login"), ("GET", "/ui/static/{name}")}
# The OpenAPI reference pages (their assets are a static mount, outside this inventory).
PUBLIC |= {("GET", "/docs"), ("GET", "/docs/oauth2-redirect"), ("GET", "/redoc")}
# Single sign-on hands the browser to the tenant's provider and back (tests/api/test_sso.py).
PUBLIC |= {("GET", "/ui/sso"), ("GET", "/ui/sso/{tenant_id}"), ("GET", "/ui/sso/{tenant_id}/callback")}
# Pages behind the signed cookie session, not a bearer token: tests/api/test_ui_auth.py walks this
# set (no session -> sign-in, wrong role -> 403, other tenant -> 404, bad CSRF -> 403, no change).
WEB_UI = {
    ("POST", "/ui/logout"),
    ("GET", "/ui/home"),
    ("GET", "/ui/welcome"),
    ("GET", "/ui/dashboard"),
    ("GET", "/ui/encounters"),
    ("GET", "/ui/encounters/{encounter_id}"),
    ("GET", "/ui/encounters/{encounter_id}/evidence"),
    ("GET", "/ui/work"),
    ("POST", "/ui/work/claim"),
    ("GET", "/ui/work/{encounter_id}"),
    ("GET", "/ui/codes"),
    ("POST", "/ui/work/{encounter_id}/coding"),
    ("POST", "/ui/work/{encounter_id}/query/lint"),
    ("POST", "/ui/work/{encounter_id}/query"),
    ("POST", "/ui/work/{encounter_id}/hold"),
    ("GET", "/ui/inbox"),
    ("POST", "/ui/inbox/{query_id}/answer"),
    ("GET", "/ui/audits"),
    ("POST", "/ui/work/{encounter_id}/scrub/acknowledge"),
    ("POST", "/ui/audits"),
    ("GET", "/ui/audits/{audit_id}"),
    ("GET", "/ui/audits/{audit_id}/charts/{chart_id}"),
    ("POST", "/ui/audits/{audit_id}/charts/{chart_id}/review"),
    ("POST", "/ui/audits/{audit_id}/charts/{chart_id}/findings"),
    ("GET", "/ui/audits/{audit_id}/report"),
    ("POST", "/ui/findings/{finding_id}/reconcile"),
    ("GET", "/ui/findings"),
    ("POST", "/ui/findings/{finding_id}/respond"),
    ("GET", "/ui/denials"),
    ("POST", "/ui/denials/{denial_id}/appeal"),
    ("POST", "/ui/appeals/{appeal_id}/decision"),
    ("GET", "/ui/admin/policy"),
    ("GET", "/ui/work/{encounter_id}/suggestions"),
    ("POST", "/ui/work/{encounter_id}/suggestions/{suggestion_id}/decision"),
    ("GET", "/ui/encounters/{encounter_id}/documents/{document_id}"),
    ("POST", "/ui/admin/policy"),
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    permission: Permission
    body: dict[str, Any] | None = None
    query: dict[str, str] = field(default_factory=dict)


def _coding_body(doc: str = "00000000-0000-0000-0000-000000000000") -> dict[str, Any]:
    return {
        "diagnoses": [
            {"code": "E11.65", "evidence": [{"document_id": doc, "excerpt": "type 2 diabetes"}]}
        ],
        "procedures": [
            {
                "code": "99214",
                "pointers": [1],
                "evidence": [{"document_id": doc, "excerpt": "follow-up"}],
            }
        ],
    }


# Installation operations: the permission alone is not enough, the caller must also be an admin
# of the installation's operations tenant (api/routes/codec.py); a customer tenant's admin is refused.
OPERATOR_ONLY = {("POST", "/codec/decode"), ("POST", "/codec/encode")}

# Every bearer-authenticated operation, the permission it needs, and a body valid enough that
# only authorization or visibility can refuse it.
ROUTES: list[Route] = [
    # Outbound webhooks and the FHIR view of the work
    Route("POST", "/v1/webhook-endpoints", "webhook_sources.manage", {"url": "https://example.org/h", "event_types": ["claim.paid"]}),
    Route("GET", "/v1/webhook-endpoints", "webhook_sources.manage"),
    Route("GET", "/v1/webhook-endpoints/{endpoint_id}", "webhook_sources.manage"),
    Route("DELETE", "/v1/webhook-endpoints/{endpoint_id}", "webhook_sources.manage"),
    Route("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries", "webhook_sources.manage"),
    Route("POST", "/v1/webhook-endpoints/{endpoint_id}/replay", "webhook_sources.manage", {"since": "2026-01-01T00:00:00Z"}),
    Route("GET", "/fhir/R4/Task", "queries.read"),
    Route("GET", "/fhir/R4/CommunicationRequest", "queries.read"),
    Route("GET", "/fhir/R4/Communication", "queries.read"),
    Route("GET", "/v1/encounters", "encounters.read"),
    Route("GET", "/v1/encounters/{encounter_id}", "encounters.read"),
    Route("POST", "/v1/encounters/{encounter_id}/coding", "coding.submit", _coding_body()),
    Route("POST", "/v1/encounters/{encounter_id}/release", "charts.release"),
    Route("POST", "/v1/encounters/{encounter_id}/reassign", "charts.reassign", {"to_user": None}),
    Route(
        "POST",
        "/v1/encounters/{encounter_id}/holds",
        "holds.place",
        {"reason": "other", "note": "x"},
    ),
    Route("GET", "/v1/queues", "queues.read"),
    Route("POST", "/v1/queues/{queue_id}/claim", "queues.claim"),
    Route("POST", "/v1/holds/{hold_id}/release", "holds.release", {}),
    Route("GET", "/v1/encounters/{encounter_id}/evidence", "evidence.read"),
    Route("GET", "/v1/audit-trail/verify", "audit.verify"),
    Route("GET", "/metrics", "metrics.scrape"),
    Route(
        "POST",
        "/v1/encounters/{encounter_id}/queries",
        "queries.raise",
        {"physician_npi": "1234567893", "question": "Please clarify the diabetes control status."},
    ),
    Route("GET", "/v1/queries", "queries.read"),
    Route("GET", "/v1/queries/{query_id}", "queries.read"),
    Route("POST", "/v1/queries/{query_id}/answer", "queries.answer", {"free_text": "yes"}),
    Route("POST", "/v1/queries/{query_id}/withdraw", "queries.withdraw", {}),
    Route("GET", "/v1/query-templates", "templates.read"),
    Route("POST", "/v1/query-templates", "templates.manage", {"name": "t", "question": "q?"}),
    Route("GET", "/v1/metrics/queries", "metrics.read"),
    Route("GET", "/v1/metrics/holds", "metrics.read"),
    # Claims, payer files, denials and appeals
    Route("GET", "/v1/encounters/{encounter_id}/scrub", "encounters.read"),
    Route("GET", "/v1/encounters/{encounter_id}/suggestions", "encounters.read"),
    Route("POST", "/v1/encounters/{encounter_id}/suggestions/{suggestion_id}/decision", "coding.submit", {"decision": "accepted"}),
    Route(
        "POST",
        "/v1/encounters/{encounter_id}/scrub/acknowledge",
        "coding.submit",
        {"acknowledgments": [{"rule": "age.conflict", "reason": "documented"}]},
    ),
    Route("GET", "/v1/claims", "claims.read"),
    Route("GET", "/v1/claims/{claim_id}", "claims.read"),
    Route("GET", "/v1/claims/{claim_id}/x12", "claims.read"),
    Route("POST", "/v1/acknowledgments", "remittances.post"),
    Route("POST", "/v1/remittances", "remittances.post"),
    Route("GET", "/v1/remittances/unmatched", "claims.manage"),
    Route("GET", "/v1/remittance-exceptions", "claims.manage"),
    Route("POST", "/v1/remittance-exceptions/{exception_id}/resolve", "claims.manage", {"action": "dismiss", "reason": "checked"}),
    Route("GET", "/v1/dead-letters", "claims.manage"),
    Route("GET", "/v1/payers", "claims.read"),
    Route("POST", "/v1/payers", "payers.manage", {"payer_id": "SECTEST", "name": "SEC TEST", "x12_payer_id": "SEC01", "filing_indicator": "CI"}),
    Route("GET", "/v1/intake/failures", "intake.failures.read"),
    Route("GET", "/v1/denials", "claims.read"),
    Route("GET", "/v1/denials/{denial_id}", "claims.read"),
    Route("POST", "/v1/denials/{denial_id}/appeals", "appeals.manage", {"reason": "documented and supported"}),
    Route("POST", "/v1/denials/{denial_id}/write-off", "denials.work", {"reason": "small balance"}),
    Route("GET", "/v1/appeals/{appeal_id}", "claims.read"),
    Route("GET", "/v1/appeals/{appeal_id}/packet", "claims.read"),
    Route("POST", "/v1/appeals/{appeal_id}/decision", "appeals.manage", {"decision": "upheld"}),
    Route("GET", "/v1/metrics/revenue", "metrics.read"),
    Route("GET", "/v1/inbound/{inbound_id}", "inbound.read"),
    # Evidence and access log
    Route("GET", "/v1/access-log", "access_log.read"),
    Route("GET", "/v1/encounters/{encounter_id}/documents/{document_id}/content", "encounters.read"),
    # Tenant administration
    Route("GET", "/v1/admin/tenant-policy", "tenant.manage"),
    Route("PUT", "/v1/admin/tenant-policy", "tenant.manage", {"policy": {"lease_minutes": 31}}),
    Route("GET", "/v1/admin/tenant-policy/versions", "tenant.manage"),
    Route("POST", "/codec/decode", "payloads.decode", {"payloads": []}),
    Route("POST", "/codec/encode", "payloads.decode", {"payloads": []}),
    # QA audits
    Route("POST", "/v1/audits", "audits.manage", {"method": "census", "seed": 1}),
    Route("GET", "/v1/audits", "audits.read"),
    Route("GET", "/v1/audits/coaching", "audits.read"),
    Route("GET", "/v1/audits/{audit_id}", "audits.read"),
    Route("GET", "/v1/audits/{audit_id}/sample/verify", "audits.read"),
    Route("GET", "/v1/audits/{audit_id}/charts/{chart_id}", "audits.review"),
    Route(
        "POST",
        "/v1/audits/{audit_id}/charts/{chart_id}/review",
        "audits.review",
        {"diagnoses": [{"code": "E11.9"}]},
    ),
    Route("POST", "/v1/audits/{audit_id}/charts/{chart_id}/findings", "audits.review", {"findings": []}),
    Route("GET", "/v1/audits/{audit_id}/findings", "audits.read"),
    Route("POST", "/v1/audits/{audit_id}/close", "audits.manage"),
    Route("GET", "/v1/audits/{audit_id}/report", "audits.read"),
    Route("POST", "/v1/findings/{finding_id}/respond", "audits.respond", {"action": "agree"}),
    Route(
        "POST", "/v1/findings/{finding_id}/reconcile", "audits.review", {"outcome": "upheld", "comment": "x"}
    ),
    Route("POST", "/v1/education", "audits.manage", {"coder_id": "coder-1", "category": "specificity"}),
    Route("POST", "/v1/education/{education_id}/acknowledge", "audits.respond"),
]
ROLE_KEYS = {"ops", "admin", "coder", "vendor_lead", "auditor", "physician", "integrator"}


def _operations(openapi: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, ops in openapi["paths"].items() for method in ops}


def _url(tenant: Tenant, route: Route, params: dict[str, str]) -> str:
    path = route.path
    for name in re.findall(r"{(\w+)}", path):
        path = path.replace("{" + name + "}", params.get(name, str(uuid.uuid4())))
    return f"{tenant.stack.url}{path}"


async def _call(
    tenant: Tenant, route: Route, params: dict[str, str], headers: dict[str, str]
) -> httpx.Response:
    query = {k: v.format(**params) for k, v in route.query.items()}
    return await tenant.http.request(
        route.method, _url(tenant, route, params), headers=headers, json=route.body, params=query
    )


def _role_of(key: str) -> Role:
    return cast(Role, "coder" if key.startswith("coder") else key)


def _endpoints(routes: list[Any]) -> list[Any]:
    """Every API route, looking inside included routers."""
    found: list[Any] = []
    for r in routes:
        if hasattr(r, "original_router"):
            found.extend(_endpoints(r.original_router.routes))
        elif hasattr(r, "dependant"):
            found.append(r)
    return found


def _declared_permission(route: Any) -> str | None:
    """The permission a route's `require(...)` dependency closes over (None: no such dependency)."""
    pending = list(route.dependant.dependencies)
    while pending:
        dep = pending.pop()
        closure = getattr(dep.call, "__closure__", None) or ()
        for cell in closure:
            value = cell.cell_contents
            if isinstance(value, str) and value in {
                p for perms in PERMISSIONS.values() for p in perms
            }:
                return value
        pending.extend(dep.dependencies)
    return None


async def _params(tenant: Tenant) -> dict[str, str]:
    """Path parameters that name real objects of `tenant`: a held chart with an open hold."""
    enc = await tenant.new_encounter()
    held = await tenant.post(
        f"/v1/encounters/{enc['id']}/holds", "ops", json={"reason": "other", "note": "n"}
    )
    assert held.status_code == 201, held.text
    return {"encounter_id": enc["id"], "queue_id": "q1", "hold_id": held.json()["holds"][0]["id"]}


class TestRouteInventory:
    async def test_every_route_is_in_the_security_table(self, tenant: Tenant) -> None:
        response = await tenant.http.get(f"{tenant.stack.url}/openapi.json")
        assert response.status_code == 200
        documented = _operations(response.json())
        # Routes hidden from the schema (include_in_schema=False) must not escape the inventory.
        app = create_app(Settings(DATABASE_URL="postgresql://unused@localhost/unused"))
        served = {(m, r.path) for r in _endpoints(app.routes) for m in r.methods}
        assert documented <= served, f"enumeration missed documented routes: {documented - served}"
        tested = {(r.method, r.path) for r in ROUTES}
        untested = served - tested - PUBLIC - SIGNED - WEB_UI
        assert not untested, (
            f"routes without an auth test; add them to ROUTES in {__name__}: {sorted(untested)}"
        )
        vanished = tested - served
        assert not vanished, f"ROUTES lists operations the app no longer serves: {sorted(vanished)}"

    def test_the_table_matches_the_permission_each_route_declares(self) -> None:
        app = create_app(Settings(DATABASE_URL="postgresql://unused@localhost/unused"))
        declared = {
            (method, r.path): _declared_permission(r)
            for r in _endpoints(app.routes)
            for method in getattr(r, "methods", ())
        }
        wrong = {
            (r.method, r.path): (r.permission, declared.get((r.method, r.path)))
            for r in ROUTES
            if declared.get((r.method, r.path)) != r.permission
        }
        assert {(r.method, r.path) for r in ROUTES} <= declared.keys(), (
            "route enumeration found too little"
        )
        assert not wrong, f"(expected, declared) permission per route: {wrong}"
        assert all(declared[op] is None for op in PUBLIC | SIGNED), (
            "public/signed routes must not need a bearer token"
        )


class TestAuthentication:
    async def test_every_route_refuses_a_missing_or_garbage_token(self, tenant: Tenant) -> None:
        params = await _params(tenant)
        failures: list[str] = []
        for route in ROUTES:
            for label, headers in (
                ("missing", {}),
                ("garbage", {"Authorization": "Bearer cc_not-a-real-token"}),
                ("wrong scheme", {"Authorization": f"Basic {tenant.tokens['ops']}"}),
                (
                    "raw hash",
                    {
                        "Authorization": f"Bearer {token_hash(tenant.stack.settings.secret_key, tenant.tokens['ops'])}"
                    },
                ),
            ):
                r = await _call(tenant, route, params, headers)
                ok = (
                    r.status_code == 401
                    and r.headers.get("content-type", "").startswith(PROBLEM)
                    and r.headers.get("www-authenticate", "").lower().startswith("bearer")
                    and r.json().get("status") == 401
                    and r.json().get("detail")
                )
                if not ok:
                    failures.append(
                        f"{route.method} {route.path} [{label} token] -> {r.status_code} {r.headers} {r.text[:200]}"
                    )
        assert not failures, "\n".join(failures)

    async def test_a_revoked_token_is_refused(self, tenant: Tenant) -> None:
        digest = token_hash(tenant.stack.settings.secret_key, tenant.tokens["ops"])
        assert (await tenant.get("/v1/queues", "ops")).status_code == 200
        async with tenant.stack.sessions.begin() as session:
            await session.execute(
                update(ApiToken).where(ApiToken.token_hash == digest).values(revoked_at=func.now())
            )
        refused = await tenant.get("/v1/queues", "ops")
        assert refused.status_code == 401
        assert "revoked" in refused.json()["detail"]

    async def test_tokens_are_stored_only_as_keyed_hashes(self, tenant: Tenant) -> None:
        async with tenant.stack.sessions() as session:
            rows = (
                await session.scalars(select(ApiToken).where(ApiToken.tenant_id == tenant.id))
            ).all()
        assert len(rows) == len(ROLE_USERS)
        stored = {
            str(getattr(row, col.key))
            for row in rows
            for col in ApiToken.__table__.columns
            if getattr(row, col.key) is not None
        }
        for key, raw in tenant.tokens.items():
            assert not any(raw in value for value in stored), f"the raw {key} token is stored"
            assert token_hash(tenant.stack.settings.secret_key, raw) in {
                row.token_hash for row in rows
            }


class TestAuthorization:
    async def test_every_route_refuses_roles_without_its_permission(self, tenant: Tenant) -> None:
        params = await _params(tenant)
        failures: list[str] = []
        for route in ROUTES:
            for key in sorted(ROLE_KEYS):
                if route.permission in PERMISSIONS[_role_of(key)]:
                    continue
                r = await _call(tenant, route, params, tenant.auth(key))
                if r.status_code != 403 or not r.headers.get("content-type", "").startswith(
                    PROBLEM
                ):
                    failures.append(
                        f"{route.method} {route.path} as {key} -> {r.status_code} {r.text[:200]}"
                    )
                elif key not in r.json()["detail"] and _role_of(key) not in r.json()["detail"]:
                    failures.append(
                        f"{route.method} {route.path} as {key}: 403 detail does not name the role: {r.json()}"
                    )
        assert not failures, "\n".join(failures)

    async def test_roles_with_the_permission_get_past_authorization(self, tenant: Tenant) -> None:
        """Holding the permission never yields 401/403 (unknown ids give 404, bad bodies 422)."""
        operators = await operator_tenant(tenant.stack, tenant.http)
        failures: list[str] = []
        for route in ROUTES:
            for key in sorted(ROLE_KEYS):
                if route.permission not in PERMISSIONS[_role_of(key)]:
                    continue
                # Unknown ids everywhere and no queue the caller may claim: nothing changes state.
                probe = Route(
                    route.method,
                    route.path,
                    route.permission,
                    {"unexpected": True} if route.body is not None else None,
                )
                caller = operators if (route.method, route.path) in OPERATOR_ONLY else tenant
                r = await _call(caller, probe, {"queue_id": "no-such-queue"}, caller.auth(key))
                if r.status_code in (401, 403):
                    failures.append(
                        f"{route.method} {route.path} as {key} -> {r.status_code} {r.text[:200]}"
                    )
        assert not failures, "\n".join(failures)

    async def test_physician_and_integrator_cannot_read_encounters(self, tenant: Tenant) -> None:
        enc = await tenant.new_encounter()
        for who in ("physician", "integrator"):
            assert (await tenant.get(f"/v1/encounters/{enc['id']}", who)).status_code == 403
            assert (await tenant.get("/v1/encounters", who)).status_code == 403
            assert (
                await tenant.get(f"/v1/encounters/{enc['id']}/evidence", who)
            ).status_code == 403


class TestTenantIsolation:
    async def test_another_tenants_token_gets_404_on_every_encounter_route(
        self, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        params = await _params(tenant)
        failures: list[str] = []
        scoped = [r for r in ROUTES if "{encounter_id}" in r.path or "{hold_id}" in r.path]
        scoped.append(
            Route(
                "GET",
                "/v1/audit-trail/verify",
                "audit.verify",
                query={"encounter_id": "{encounter_id}"},
            )
        )
        for route in scoped:
            key = next(
                k for k in ("ops", "admin", "coder") if route.permission in PERMISSIONS[_role_of(k)]
            )
            theirs = await _call(other_tenant, route, params, other_tenant.auth(key))
            unknown = {n: str(uuid.uuid4()) for n in params}
            nothing = await _call(other_tenant, route, unknown, other_tenant.auth(key))
            if theirs.status_code != 404 or not theirs.headers.get("content-type", "").startswith(
                PROBLEM
            ):
                failures.append(
                    f"{route.method} {route.path} as other tenant's {key} -> {theirs.status_code} {theirs.text[:200]}"
                )
                continue
            # Existence must not leak: the answer reads like the one for an id that never existed.
            masked = theirs.text
            for n, v in params.items():
                masked = masked.replace(v, unknown[n])
            if masked != nothing.text:
                failures.append(
                    f"{route.method} {route.path}: 404 differs from an unknown id: {theirs.text} vs {nothing.text}"
                )
        assert not failures, "\n".join(failures)
        # And nothing happened to the chart or its hold.
        chart = await tenant.get(f"/v1/encounters/{params['encounter_id']}", "ops")
        assert chart.json()["status"] == "on_hold"
        assert [h["id"] for h in chart.json()["holds"]] == [params["hold_id"]]

    async def test_lists_and_queues_show_only_the_callers_tenant(
        self, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        mine = await tenant.new_encounter()
        theirs = await other_tenant.get("/v1/encounters", "ops")
        assert theirs.status_code == 200
        assert mine["id"] not in {e["id"] for e in theirs.json()["items"]}
        queues = await other_tenant.get("/v1/queues", "ops")
        assert all(q["depth"] == 0 for q in queues.json()), queues.json()
        verify = await other_tenant.get("/v1/audit-trail/verify", "ops")
        assert verify.json()["events_checked"] == 0


class TestRowVisibility:
    async def test_only_the_coder_who_holds_or_worked_a_chart_can_read_it(
        self, tenant: Tenant
    ) -> None:
        enc = await tenant.new_encounter()
        path = f"/v1/encounters/{enc['id']}"
        # Nobody has claimed it: a coder cannot read a chart just because it exists.
        assert (await tenant.get(path, "coder")).status_code == 404
        claimed = await tenant.post("/v1/queues/q1/claim", "coder")
        assert claimed.json()["id"] == enc["id"]
        assert (await tenant.get(path, "coder")).status_code == 200
        for who in ("coder2", "coder_other_vendor"):
            r = await tenant.get(path, who)
            assert r.status_code == 404, (who, r.text)
            assert r.headers["content-type"].startswith(PROBLEM)
            listed = await tenant.get("/v1/encounters", who)
            assert enc["id"] not in {e["id"] for e in listed.json()["items"]}
        # The vendor's lead supervises the queue the chart sits in.
        assert (await tenant.get(path, "vendor_lead")).status_code == 200

    async def test_auditor_sees_only_post_coding_charts(self, tenant: Tenant) -> None:
        enc = await tenant.new_encounter()
        path = f"/v1/encounters/{enc['id']}"
        assert (await tenant.get(path, "auditor")).status_code == 404
        chart = (await tenant.post("/v1/queues/q1/claim", "coder")).json()
        assert (await tenant.get(path, "auditor")).status_code == 404
        assert (await tenant.get(f"{path}/evidence", "auditor")).status_code == 404
        doc = chart["documents"][0]["id"]
        coded = await tenant.post(f"{path}/coding", "coder", json=_coding_body(doc))
        assert coded.status_code == 200, coded.text
        seen = await tenant.get(path, "auditor")
        assert seen.status_code == 200
        assert seen.json()["status"] not in ("received", "ready", "in_coding", "on_hold")
        assert (await tenant.get(f"{path}/evidence", "auditor")).status_code == 200
        other = await tenant.new_encounter()
        listed = {e["id"] for e in (await tenant.get("/v1/encounters", "auditor")).json()["items"]}
        assert enc["id"] in listed
        assert other["id"] not in listed


class TestPublicEndpoints:
    async def test_probes_are_public_and_reveal_nothing(self, tenant: Tenant) -> None:
        for path, expected in (
            ("/healthz", {"status": "ok"}),
            ("/readyz", {"status": "ready", "database": "ok", "temporal": "ok"}),
        ):
            r = await tenant.http.get(f"{tenant.stack.url}{path}")
            assert r.status_code == 200
            body = r.json()
            warnings = body.pop("warnings", [])
            # The clearinghouse poller's health (other tests' pollers share this stack) is operational
            # state, not a tenant's: counts, lag and the source name only.
            pollers = body.pop("clearinghouse_pollers", [])
            assert all(set(p) <= {"source", "consecutive_failures", "files_failed", "lag_seconds", "last_error"} for p in pollers)
            if body.get("status") == "degraded":
                body.pop("degraded")
                body["status"] = "ready"
            assert body == expected
            assert all("ICD-10-CM" in w for w in warnings)  # only the code-set freshness notice
            text = r.text.lower()
            for secret in (
                "postgres",
                "password",
                tenant.id,
                tenant.stack.settings.task_queue,
                "version",
                "127.0.0.1",
            ):
                assert secret.lower() not in text, (path, secret)

    async def test_the_ui_shell_is_public_and_holds_no_data(self, tenant: Tenant) -> None:
        enc = await tenant.new_encounter()
        page = await tenant.http.get(f"{tenant.stack.url}/ui")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        for leaked in (tenant.id, enc["id"], enc["external_id"], "Testpatient"):
            assert leaked not in page.text

    async def test_metrics_needs_a_token(self, tenant: Tenant) -> None:
        anonymous = await tenant.http.get(f"{tenant.stack.url}/metrics")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"].lower().startswith("bearer")
        assert "clearchart_http_requests_total" not in anonymous.text
        scraped = await tenant.get("/metrics", "admin")
        assert scraped.status_code == 200
        assert "clearchart_http_requests_total" in scraped.text
        assert tenant.id not in scraped.text  # process-wide counters: no tenant, user or id labels
        for who in ("physician", "ops", "coder", "vendor_lead"):
            assert (await tenant.get("/metrics", who)).status_code == 403, who
