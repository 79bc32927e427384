"""Hostile and oversized input is refused at the edge with a 4xx naming what to fix, never a 5xx."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI, Request

from api.edge import EdgeGuard, EdgeLimits, api_routes, body_rule
from api.main import create_app
from clearchart.settings import Settings
from integrations.ehr.signing import signed_headers
from integrations.sandbox.bundles import synthetic_bundle
from tests.support import LiveStack, Tenant

PROBLEM = "application/problem+json"


def _problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, object] = response.json()
    assert body["status"] == status
    return body


class TestControlCharacters:
    async def test_a_nul_in_a_query_filter_is_refused_naming_the_parameter(self, tenant: Tenant) -> None:
        body = _problem(await tenant.get("/v1/encounters", "ops", params={"assignee": "a\x00b"}), 422)
        assert "query.assignee" in str(body["detail"])

    async def test_a_nul_in_a_json_string_is_refused_naming_the_field(self, tenant: Tenant) -> None:
        enc = await tenant.new_encounter()
        response = await tenant.post(
            f"/v1/encounters/{enc['id']}/holds", "ops", json={"reason": "other", "note": "a\u0000b"}
        )
        body = _problem(response, 422)
        assert "body.note" in str(body["detail"])
        detail = await tenant.get(f"/v1/encounters/{enc['id']}", "ops")
        assert detail.json()["holds"] == [], "a refused request changes nothing"

    async def test_a_control_character_in_a_path_segment_is_refused(self, tenant: Tenant) -> None:
        _problem(await tenant.post("/v1/queues/q%01x/claim", "coder"), 422)

    async def test_a_nul_in_a_header_is_refused(self, tenant: Tenant) -> None:
        headers = {**tenant.auth("ops"), "x-request-id": "a\x1fb"}
        response = await tenant.http.get(f"{tenant.stack.url}/v1/queues", headers=headers)
        assert "header.x-request-id" in str(_problem(response, 422)["detail"])


class TestRangesDatesAndEnums:
    async def test_an_age_filter_past_any_real_age_is_refused(self, tenant: Tenant) -> None:
        body = _problem(await tenant.get("/v1/queries", "ops", params={"min_age_days": "100000000"}), 422)
        assert "min_age_days" in str(body["detail"])

    async def test_a_vanishing_precision_is_refused(self, tenant: Tenant) -> None:
        response = await tenant.post("/v1/audits", "admin", json={"method": "simple_random", "seed": 1, "precision": 1e-300})
        assert "precision" in str(_problem(response, 422)["detail"])

    async def test_a_number_is_not_a_date(self, tenant: Tenant) -> None:
        response = await tenant.get("/v1/metrics/queries", "ops", params={"date_to": "-7.9e-258"})
        assert "date_to" in str(_problem(response, 422)["detail"])
        ok = await tenant.get("/v1/metrics/queries", "ops", params={"date_to": "2026-01-31"})
        assert ok.status_code == 200, ok.text

    async def test_unknown_status_filters_are_refused(self, tenant: Tenant) -> None:
        for path in ("/v1/encounters", "/v1/queries", "/v1/denials"):
            body = _problem(await tenant.get(path, "ops", params={"status": "bogus"}), 422)
            assert "status" in str(body["detail"]), path


class TestBodies:
    async def test_a_signed_webhook_nested_ten_thousand_deep_is_refused_not_crashed(self, tenant: Tenant) -> None:
        body = ("[" * 10_000 + "]" * 10_000).encode()
        headers = {**signed_headers(tenant.secret, f"deep-{uuid.uuid4().hex}", body), "content-type": "application/fhir+json"}
        response = await tenant.http.post(tenant.webhook_url, content=body, headers=headers)
        assert "nests" in str(_problem(response, 422)["detail"])

    async def test_a_json_body_over_the_limit_is_refused_before_it_is_read(self, tenant: Tenant) -> None:
        enc = await tenant.new_encounter()
        big = json.dumps({"reason": "other", "note": "x" * (tenant.stack.settings.max_json_bytes + 1)})
        response = await tenant.http.post(
            f"{tenant.stack.url}/v1/encounters/{enc['id']}/holds",
            content=big,
            headers={**tenant.auth("ops"), "content-type": "application/json"},
        )
        _problem(response, 413)

    async def test_a_streamed_body_over_the_limit_is_cut_off(self, tenant: Tenant) -> None:
        limit = tenant.stack.settings.max_json_bytes

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(limit // 65536 + 2):
                yield b" " * 65536

        response = await tenant.http.post(
            f"{tenant.stack.url}/v1/audits",
            content=chunks(),
            headers={**tenant.auth("admin"), "content-type": "application/json"},
        )
        _problem(response, 413)

    async def test_webhook_and_x12_bodies_have_limits_of_their_own(self, live: LiveStack, tenant: Tenant) -> None:
        settings = live.settings.model_copy(update={"max_webhook_bytes": 2000, "max_x12_bytes": 3000})
        app = create_app(settings, sessions=live.sessions, temporal=live.temporal)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://edge") as client:
            webhook = await client.post(
                f"/v1/webhooks/ehr?source={tenant.source_id}", content=b" " * 2001, headers={"content-type": "application/json"}
            )
            x12 = await client.post(
                "/v1/remittances", content=b"ISA" * 1001, headers={**tenant.auth("integrator"), "content-type": "application/edi-x12"}
            )
            small_x12 = await client.post(
                "/v1/remittances", content=b"ISA" * 900, headers={**tenant.auth("integrator"), "content-type": "application/edi-x12"}
            )
        assert "2000" in str(_problem(webhook, 413)["detail"])
        _problem(x12, 413)
        _problem(small_x12, 422)  # under the limit: read, and refused as not X12

    async def test_a_body_of_the_wrong_content_type_is_refused(self, tenant: Tenant) -> None:
        enc = await tenant.new_encounter()
        response = await tenant.http.post(
            f"{tenant.stack.url}/v1/encounters/{enc['id']}/holds",
            content=b"reason=other",
            headers={**tenant.auth("ops"), "content-type": "text/plain"},
        )
        assert "application/json" in str(_problem(response, 415)["detail"])

    async def test_a_json_webhook_body_is_refused_on_an_x12_route(self, tenant: Tenant) -> None:
        response = await tenant.post("/v1/remittances", "integrator", json={"not": "x12"})
        _problem(response, 415)

    async def test_a_valid_signed_bundle_still_passes(self, tenant: Tenant) -> None:
        bundle = synthetic_bundle(encounter_id=f"edge-{uuid.uuid4().hex[:8]}", patient_id="p-edge")
        assert (await tenant.push(bundle)).status_code == 202


class TestMethods:
    async def test_a_wrong_method_says_which_are_allowed(self, tenant: Tenant) -> None:
        response = await tenant.http.delete(f"{tenant.stack.url}/v1/queues", headers=tenant.auth("ops"))
        _problem(response, 405)
        assert "GET" in response.headers["allow"]


class TestRateLimits:
    async def test_a_noisy_token_gets_429_while_others_are_served(self, live: LiveStack, tenant: Tenant) -> None:
        settings = live.settings.model_copy(update={"rate_limit_per_second": 0.5, "rate_limit_burst": 3})
        app = create_app(settings, sessions=live.sessions, temporal=live.temporal)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://edge") as client:
            answers = [(await client.get("/v1/queues", headers=tenant.auth("ops"))) for _ in range(4)]
            assert [r.status_code for r in answers] == [200, 200, 200, 429]
            limited = answers[-1]
            assert limited.headers["content-type"].startswith(PROBLEM)
            assert int(limited.headers["retry-after"]) >= 1
            assert (await client.get("/v1/queues", headers=tenant.auth("admin"))).status_code == 200

    async def test_a_noisy_webhook_source_gets_429(self, live: LiveStack, tenant: Tenant) -> None:
        settings = live.settings.model_copy(update={"rate_limit_per_second": 0.5, "rate_limit_burst": 1})
        app = create_app(settings, sessions=live.sessions, temporal=live.temporal)
        url = f"/v1/webhooks/ehr?source={tenant.source_id}"
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://edge") as client:
            first = await client.post(url, content=b"{}", headers={"content-type": "application/json"})
            second = await client.post(url, content=b"{}", headers={"content-type": "application/json"})
        assert first.status_code == 401  # unsigned, but it counted
        assert second.status_code == 429
        assert "retry-after" in second.headers


class TestDuplicates:
    async def test_concurrent_duplicates_get_the_stored_answer_or_409_with_retry_after(self, tenant: Tenant) -> None:
        bundle = synthetic_bundle(encounter_id=f"dup-{uuid.uuid4().hex[:8]}", patient_id="p-dup")
        msg_id = f"dup-{uuid.uuid4().hex}"
        answers = await asyncio.gather(*(tenant.push(bundle, msg_id=msg_id) for _ in range(8)))
        assert {r.status_code for r in answers} <= {202, 409}
        assert any(r.status_code == 202 for r in answers)
        for r in answers:
            if r.status_code == 409:
                assert r.headers["retry-after"] == "2"
        ids = {e["id"] for r in answers if r.status_code == 202 for e in r.json()["encounters"]}
        assert len(ids) == 1


class TestDeclaredBodies:
    """The guard reads each route's body from the route's own declaration, never from its path."""

    def test_every_write_route_is_guarded_as_its_openapi_request_body_says(self) -> None:
        app = create_app(Settings(DATABASE_URL="postgresql://unused@localhost/unused"))
        spec = app.openapi()
        checked = 0
        for route in api_routes(app.routes):
            for method in sorted((route.methods or set()) & {"POST", "PUT", "PATCH"}):
                op = spec["paths"].get(route.path, {}).get(method.lower())
                if op is None:
                    continue  # outside the schema: the web UI's own forms
                declared = list(op.get("requestBody", {}).get("content", {})) or ["application/json"]
                rule = body_rule(route)
                assert [m for m in rule.media if m not in ("text/plain", "application/octet-stream")] == declared, route.path
                checked += 1
        assert checked >= 30
        kinds = {r.path: body_rule(r).kind for r in api_routes(app.routes) if "POST" in (r.methods or set())}
        assert kinds["/v1/webhooks/ehr"] == "webhook"
        assert kinds["/v1/remittances"] == kinds["/v1/acknowledgments"] == "x12"
        assert kinds["/v1/hl7v2"] == "hl7"
        assert kinds["/v1/encounters/{encounter_id}/holds"] == "json"

    async def test_a_new_route_is_guarded_by_its_declaration_alone(self) -> None:
        api = FastAPI()

        @api.post("/v1/new-x12-feed", openapi_extra={"requestBody": {"content": {"application/edi-x12": {"schema": {"type": "string"}}}}})
        async def feed(request: Request) -> dict[str, int]:
            return {"bytes": len(await request.body())}

        @api.post("/v1/undeclared")
        async def undeclared(request: Request) -> dict[str, int]:
            return {"bytes": len(await request.body())}

        api.add_middleware(EdgeGuard, limits=EdgeLimits(json_bytes=100, x12_bytes=1000), routes=lambda: api.routes)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://edge") as client:
            x12 = await client.post("/v1/new-x12-feed", content=b"ISA" * 300, headers={"content-type": "application/edi-x12"})
            as_text = await client.post("/v1/new-x12-feed", content=b"ISA", headers={"content-type": "text/plain"})
            as_json = await client.post("/v1/new-x12-feed", json={"not": "x12"})
            too_big = await client.post("/v1/new-x12-feed", content=b"ISA" * 400, headers={"content-type": "application/edi-x12"})
            raw = await client.post("/v1/undeclared", content=b"ISA", headers={"content-type": "application/edi-x12"})
            json_over = await client.post("/v1/undeclared", json={"x": "y" * 200})
        assert (x12.status_code, x12.json()) == (200, {"bytes": 900}), "over the JSON limit, under its own"
        assert as_text.status_code == 200
        assert "application/edi-x12" in str(_problem(as_json, 415)["detail"])
        _problem(too_big, 413)
        assert "application/json" in str(_problem(raw, 415)["detail"]), "an undeclared raw body is not let in"
        _problem(json_over, 413)
