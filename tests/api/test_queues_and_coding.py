"""Work queues, claims, coding, holds and the audit trail, over real HTTP against the live stack."""

import asyncio
import base64
import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from clearchart import admin
from integrations.sandbox.bundles import synthetic_bundle
from models.encounters import lifecycle
from models.encounters.tables import Encounter
from models.repositories.encounters import POST_CODING
from tests.support import Tenant

PROBLEM = "application/problem+json"
CARDIOLOGY = "394579002"


async def _push(tenant: Tenant, **kwargs: Any) -> dict[str, Any]:
    """Push one synthetic encounter (any synthetic_bundle option) and return its intake answer."""
    key = uuid.uuid4().hex[:10]
    bundle = synthetic_bundle(encounter_id=f"enc-{key}", patient_id=f"pt-{key}", **kwargs)
    r = await tenant.push(bundle)
    assert r.status_code == 202, r.text
    found: dict[str, Any] = r.json()["encounters"][0]
    return found


async def _chart(tenant: Tenant, encounter_id: str) -> dict[str, Any]:
    r = await tenant.get(f"/v1/encounters/{encounter_id}", "ops")
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


async def _claim(tenant: Tenant, who: str = "coder", queue: str = "q1") -> httpx.Response:
    return await tenant.post(f"/v1/queues/{queue}/claim", who)


def _coding(doc: str) -> dict[str, Any]:
    return {
        "diagnoses": [
            {
                "code": "E11.65",
                "evidence": [
                    {"document_id": doc, "excerpt": "type 2 diabetes mellitus with hyperglycemia"}
                ],
            },
            {
                "code": "I10",
                "evidence": [{"document_id": doc, "excerpt": "essential hypertension"}],
            },
        ],
        "procedures": [
            {
                "code": "99214",
                "pointers": [1, 2],
                "evidence": [{"document_id": doc, "excerpt": "follow-up"}],
            }
        ],
    }


def _problem(r: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM), r.headers
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert body["detail"]
    for word in words:
        assert word.lower() in body["detail"].lower(), (word, body["detail"])
    return body


class TestClaim:
    async def test_claim_takes_the_oldest_ready_chart_and_204_when_empty(
        self, tenant: Tenant
    ) -> None:
        pushed = [await tenant.new_encounter() for _ in range(3)]
        got = []
        for who in ("coder", "coder2", "coder"):
            r = await _claim(tenant, who)
            assert r.status_code == 200, r.text
            assert r.json()["status"] == "in_coding"
            assert r.json()["assignee"] == {"coder": "coder-1", "coder2": "coder-2"}[who]
            assert r.json()["lease_expires_at"] is not None
            got.append(r.json()["id"])
        assert got == [p["id"] for p in pushed]
        empty = await _claim(tenant, "coder2")
        assert empty.status_code == 204
        assert empty.content == b""

    async def test_a_queue_that_does_not_serve_the_coders_vendor_is_404(
        self, tenant: Tenant
    ) -> None:
        emer = await tenant.new_encounter(encounter_type="EMER")
        amb = await tenant.new_encounter()
        _problem(await _claim(tenant, "coder", "er"), 404, "er")
        _problem(await _claim(tenant, "coder_other_vendor", "q1"), 404, "q1")
        _problem(await _claim(tenant, "coder", "no-such-queue"), 404)
        # Neither chart was touched by the refused claims.
        assert (await _chart(tenant, emer["id"]))["status"] == "ready"
        assert (await _chart(tenant, amb["id"]))["status"] == "ready"

    async def test_higher_priority_routing_is_served_first(self, tenant: Tenant) -> None:
        await admin.add_route(
            tenant.stack.sessions, tenant.id, "q1", specialty=CARDIOLOGY, priority=3
        )
        routine = await _push(tenant)
        urgent = await _push(tenant, specialty=CARDIOLOGY)
        assert (await _chart(tenant, urgent["id"]))["priority"] == 3
        assert (await _chart(tenant, routine["id"]))["priority"] == 0
        first = await _claim(tenant)
        assert first.json()["id"] == urgent["id"], "the newer but higher-priority chart comes first"
        assert (await _claim(tenant)).json()["id"] == routine["id"]

        emer = await tenant.new_encounter(encounter_type="EMER")
        chart = await _chart(tenant, emer["id"])
        assert (chart["queue"], chart["priority"]) == ("er", 5)
        claimed = await _claim(tenant, "coder_other_vendor", "er")
        assert claimed.status_code == 200, claimed.text
        assert claimed.json()["id"] == emer["id"]
        assert claimed.json()["assignee_vendor"] == "v2"

    async def test_concurrent_claims_never_hand_out_the_same_chart(self, tenant: Tenant) -> None:
        charts = 4
        pushed = {(await tenant.new_encounter())["id"] for _ in range(charts)}
        claimants = ["coder", "coder2"] * 4
        answers = await asyncio.gather(*(_claim(tenant, who) for who in claimants))
        won = [
            (who, r.json()["id"])
            for who, r in zip(claimants, answers, strict=True)
            if r.status_code == 200
        ]
        assert all(r.status_code in (200, 204) for r in answers), [r.text for r in answers]
        ids = [chart for _, chart in won]
        assert len(ids) == len(set(ids)), f"a chart was handed out twice: {won}"
        assert set(ids) == pushed
        async with tenant.stack.sessions() as session:
            rows = (
                await session.scalars(select(Encounter).where(Encounter.tenant_id == tenant.id))
            ).all()
        holders = {str(r.id): r.assignee_user for r in rows}
        users = {"coder": "coder-1", "coder2": "coder-2"}
        assert {chart: users[who] for who, chart in won} == holders
        assert all(r.status == "in_coding" for r in rows)


class TestReleaseAndReassign:
    async def test_a_released_chart_returns_to_the_queue_for_another_coder(
        self, tenant: Tenant
    ) -> None:
        enc = await tenant.new_encounter()
        assert (await _claim(tenant)).json()["id"] == enc["id"]
        released = await tenant.post(f"/v1/encounters/{enc['id']}/release", "coder")
        assert released.status_code == 200, released.text
        body = released.json()
        assert (body["status"], body["assignee"], body["lease_expires_at"]) == ("ready", None, None)
        again = await _claim(tenant, "coder2")
        assert again.status_code == 200
        assert (again.json()["id"], again.json()["assignee"]) == (enc["id"], "coder-2")
        actions = [e["action"] for e in (await _chart(tenant, enc["id"]))["timeline"]]
        assert actions == ["docs_complete", "claim", "release", "claim"]

    async def test_a_coder_who_does_not_hold_the_chart_cannot_code_or_release_it(
        self, tenant: Tenant
    ) -> None:
        enc = await tenant.new_encounter()
        doc = (await _claim(tenant)).json()["documents"][0]["id"]
        assert (
            await tenant.post(f"/v1/encounters/{enc['id']}/release", "coder")
        ).status_code == 200
        assert (await _claim(tenant, "coder2")).json()["id"] == enc["id"]
        before = await _chart(tenant, enc["id"])
        # coder-1 worked the chart, so it may still read it, but no longer holds it.
        assert (await tenant.get(f"/v1/encounters/{enc['id']}", "coder")).status_code == 200
        coded = await tenant.post(f"/v1/encounters/{enc['id']}/coding", "coder", json=_coding(doc))
        _problem(coded, 409, "claim")
        released = await tenant.post(f"/v1/encounters/{enc['id']}/release", "coder")
        _problem(released, 409, "claim")
        # A coder of another vendor never saw the chart: it does not exist for them.
        _problem(
            await tenant.post(
                f"/v1/encounters/{enc['id']}/coding", "coder_other_vendor", json=_coding(doc)
            ),
            404,
        )
        after = await _chart(tenant, enc["id"])
        assert (after["status"], after["assignee"], after["codes"]) == (
            "in_coding",
            "coder-2",
            None,
        )
        assert len(after["timeline"]) == len(before["timeline"])

    async def test_ops_reassigns_to_another_coder_and_back_to_the_queue(
        self, tenant: Tenant
    ) -> None:
        enc = await tenant.new_encounter()
        await _claim(tenant)
        path = f"/v1/encounters/{enc['id']}/reassign"
        _problem(
            await tenant.post(path, "coder", json={"to_user": "coder-2", "to_vendor": "v1"}), 403
        )
        moved = await tenant.post(path, "ops", json={"to_user": "coder-2", "to_vendor": "v1"})
        assert moved.status_code == 200, moved.text
        assert (
            moved.json()["status"],
            moved.json()["assignee"],
            moved.json()["assignee_vendor"],
        ) == ("in_coding", "coder-2", "v1")
        assert (await tenant.get(f"/v1/encounters/{enc['id']}", "coder2")).status_code == 200
        queued = await tenant.post(path, "ops", json={"to_user": None})
        assert queued.status_code == 200, queued.text
        assert (queued.json()["status"], queued.json()["assignee"]) == ("ready", None)
        # It is really back in the queue: anyone of the vendor can claim it.
        reclaimed = await _claim(tenant, "coder")
        assert reclaimed.json()["id"] == enc["id"]
        assert [e["action"] for e in reclaimed.json()["timeline"]][-3:] == [
            "reassign",
            "reassign",
            "claim",
        ]

    async def test_reassign_to_a_vendor_the_tenant_does_not_have_is_refused(
        self, tenant: Tenant
    ) -> None:
        enc = await tenant.new_encounter()
        await _claim(tenant)
        r = await tenant.post(
            f"/v1/encounters/{enc['id']}/reassign",
            "ops",
            json={"to_user": "coder-9", "to_vendor": "no-such-vendor"},
        )
        _problem(r, 422, "no-such-vendor")
        chart = await _chart(tenant, enc["id"])
        assert (chart["assignee"], chart["assignee_vendor"]) == ("coder-1", "v1")


class TestCoding:
    async def test_invalid_coding_lists_every_bad_code_and_changes_nothing(
        self, tenant: Tenant
    ) -> None:
        enc = await tenant.new_encounter()
        doc = (await _claim(tenant)).json()["documents"][0]["id"]
        before = await _chart(tenant, enc["id"])
        ghost = str(uuid.uuid4())
        body = {
            "diagnoses": [
                {"code": "E11", "evidence": [{"document_id": doc, "excerpt": "diabetes"}]},
                {"code": "X99.99", "evidence": [{"document_id": doc, "excerpt": "something"}]},
                {"code": "I10", "evidence": [{"document_id": ghost, "excerpt": "hypertension"}]},
            ],
            "procedures": [
                {
                    "code": "99214",
                    "modifiers": ["9Z"],
                    "pointers": [7],
                    "evidence": [{"document_id": doc, "excerpt": "visit"}],
                }
            ],
        }
        r = await tenant.post(f"/v1/encounters/{enc['id']}/coding", "coder", json=body)
        problem = _problem(r, 422)
        found = {(e["path"], e["code"], e["rule"]) for e in problem["errors"]}
        expected = {
            ("diagnoses[0].code", "E11", "icd10cm.not_billable"),
            ("diagnoses[1].code", "X99.99", "icd10cm.unknown"),
            ("diagnoses[2].evidence[0].document_id", "I10", "evidence.unknown_document"),
            ("procedures[0].modifiers[0]", "9Z", "modifier.unknown"),
            ("procedures[0].pointers[0]", "99214", "pointer.out_of_range"),
        }
        assert expected <= found, found
        assert all(e["message"] for e in problem["errors"])
        for path, _, _ in expected:
            assert path in problem["detail"]
        after = await _chart(tenant, enc["id"])
        assert (after["status"], after["assignee"], after["codes"]) == (
            "in_coding",
            "coder-1",
            None,
        )
        assert after["timeline"] == before["timeline"]

    async def test_valid_coding_is_stored_with_its_evidence(self, tenant: Tenant) -> None:
        enc = await tenant.new_encounter()
        doc = (await _claim(tenant)).json()["documents"][0]["id"]
        r = await tenant.post(f"/v1/encounters/{enc['id']}/coding", "coder", json=_coding(doc))
        assert r.status_code == 200, r.text
        codes = r.json()["codes"]
        assert [d["code"] for d in codes["diagnoses"]] == ["E11.65", "I10"]
        assert codes["procedures"][0]["pointers"] == [1, 2]
        assert r.json()["coded_at"] is not None

    async def test_actions_the_state_does_not_allow_are_409_with_state_and_allowed_actions(
        self, tenant: Tenant
    ) -> None:
        enc = await tenant.new_encounter()
        doc = (await _claim(tenant)).json()["documents"][0]["id"]
        assert (
            await tenant.post(f"/v1/encounters/{enc['id']}/coding", "coder", json=_coding(doc))
        ).status_code == 200
        for path, payload in (
            (f"/v1/encounters/{enc['id']}/coding", _coding(doc)),
            (f"/v1/encounters/{enc['id']}/release", None),
        ):
            r = await tenant.post(path, "coder", json=payload)
            body = _problem(r, 409)
            assert body["state"] in POST_CODING, body
            assert body["allowed_actions"] == lifecycle.allowed_actions(body["state"]), body
            assert f"'{body['state']}'" in body["detail"]
        # A coded chart is not in any queue any more.
        assert (await _claim(tenant)).status_code == 204

    async def test_submitting_coding_on_an_unclaimed_chart_is_409(self, tenant: Tenant) -> None:
        enc = await tenant.new_encounter()
        doc = (await _claim(tenant)).json()["documents"][0]["id"]
        assert (
            await tenant.post(f"/v1/encounters/{enc['id']}/release", "coder")
        ).status_code == 200
        body = _problem(
            await tenant.post(f"/v1/encounters/{enc['id']}/coding", "coder", json=_coding(doc)), 409
        )
        assert body["state"] == "ready"
        assert "claim" in body["allowed_actions"]
        assert "submit_coding" not in body["allowed_actions"]


class TestListing:
    async def test_queues_show_depth_and_oldest_age(self, tenant: Tenant) -> None:
        first = await tenant.new_encounter()
        await tenant.new_encounter()
        await tenant.new_encounter(encounter_type="EMER")
        oldest = (await _chart(tenant, first["id"]))["received_at"]
        queues = {q["id"]: q for q in (await tenant.get("/v1/queues", "ops")).json()}
        assert set(queues) == {"q1", "er"}
        assert (queues["q1"]["depth"], queues["q1"]["in_coding"]) == (2, 0)
        assert queues["er"]["depth"] == 1
        assert queues["q1"]["oldest_received_at"] is not None
        assert _same_instant(queues["q1"]["oldest_received_at"], oldest)
        assert 0 <= queues["q1"]["oldest_age_seconds"] < 300
        await _claim(tenant)
        queues = {q["id"]: q for q in (await tenant.get("/v1/queues", "ops")).json()}
        assert (queues["q1"]["depth"], queues["q1"]["in_coding"]) == (1, 1)
        assert not _same_instant(queues["q1"]["oldest_received_at"], oldest)
        mine = (await tenant.get("/v1/queues", "coder")).json()
        assert [q["id"] for q in mine] == ["q1"], "a coder sees only the queues of its vendor"

    async def test_filters_and_cursor_pagination(self, tenant: Tenant) -> None:
        pushed = {(await tenant.new_encounter())["id"] for _ in range(5)}
        taken = (await _claim(tenant)).json()["id"]

        async def ids(**params: Any) -> list[str]:
            r = await tenant.get("/v1/encounters", "ops", params=params)
            assert r.status_code == 200, r.text
            return [e["id"] for e in r.json()["items"]]

        assert set(await ids()) == pushed
        assert set(await ids(status="ready")) == pushed - {taken}
        assert await ids(status="in_coding") == [taken]
        assert await ids(assignee="coder-1") == [taken]
        assert await ids(assignee="coder-2") == []
        assert set(await ids(queue="q1")) == pushed
        assert await ids(queue="er") == []

        seen: list[str] = []
        pages = 0
        params: dict[str, Any] = {"limit": 2}
        while True:
            r = await tenant.get("/v1/encounters", "ops", params=params)
            assert r.status_code == 200, r.text
            page = r.json()
            assert len(page["items"]) <= 2
            seen += [e["id"] for e in page["items"]]
            pages += 1
            if page["next_cursor"] is None:
                break
            params = {"limit": 2, "cursor": page["next_cursor"]}
            assert pages < 10, "pagination does not terminate"
        assert len(seen) == len(set(seen)) == 5, seen
        assert set(seen) == pushed
        assert pages == 3
        assert seen == await ids(limit=50), "pages walk the same order as one big page"

    async def test_a_bad_cursor_is_400(self, tenant: Tenant) -> None:
        forged = base64.urlsafe_b64encode(b"not-a-date|not-a-uuid").decode()
        for cursor in ("garbage!!", forged):
            r = await tenant.get("/v1/encounters", "ops", params={"cursor": cursor})
            _problem(r, 400, "cursor")


class TestHolds:
    async def test_the_holding_coder_places_a_hold_and_ops_releases_it_back_to_the_coder(
        self, tenant: Tenant
    ) -> None:
        enc = await tenant.new_encounter()
        await _claim(tenant)
        r = await tenant.post(
            f"/v1/encounters/{enc['id']}/holds",
            "coder",
            json={"reason": "registration_error", "note": "wrong payer on file"},
        )
        assert r.status_code == 201, r.text
        held = r.json()
        assert held["status"] == "on_hold"
        [hold] = held["holds"]
        assert (hold["reason"], hold["placed_by"]) == ("registration_error", "coder-1")
        assert held["assignee"] == "coder-1"
        # Not workable while held: the holder cannot code it.
        doc = held["documents"][0]["id"]
        _problem(
            await tenant.post(f"/v1/encounters/{enc['id']}/coding", "coder", json=_coding(doc)), 409
        )

        released = await tenant.post(
            f"/v1/holds/{hold['id']}/release", "ops", json={"resolution": "payer corrected"}
        )
        assert released.status_code == 200, released.text
        body = released.json()
        assert (body["status"], body["assignee"], body["holds"]) == ("in_coding", "coder-1", [])
        assert [e["action"] for e in body["timeline"]][-2:] == ["place_hold", "release_hold"]
        _problem(await tenant.post(f"/v1/holds/{hold['id']}/release", "ops", json={}), 404)

    async def test_a_hold_on_an_unassigned_chart_releases_to_ready(self, tenant: Tenant) -> None:
        enc = await tenant.new_encounter()
        r = await tenant.post(
            f"/v1/encounters/{enc['id']}/holds", "ops", json={"reason": "authorization_missing"}
        )
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "on_hold"
        assert (await _claim(tenant)).status_code == 204, "a held chart is not claimable"
        hold = r.json()["holds"][0]["id"]
        back = await tenant.post(f"/v1/holds/{hold}/release", "ops", json={})
        assert back.status_code == 200, back.text
        assert (back.json()["status"], back.json()["assignee"]) == ("ready", None)
        assert (await _claim(tenant)).json()["id"] == enc["id"]

    async def test_query_holds_are_placed_only_by_the_query_mechanism(self, tenant: Tenant) -> None:
        enc = await tenant.new_encounter()
        await _claim(tenant)
        path = f"/v1/encounters/{enc['id']}/holds"
        for who in ("coder", "ops"):
            r = await tenant.post(path, who, json={"reason": "awaiting_query_response"})
            # A refusal a person can act on; 422 per the brief, 403 per the current hold policy.
            assert r.status_code in (403, 422), r.text
            _problem(r, r.status_code, "awaiting_query_response")
        _problem(await tenant.post(path, "coder", json={"reason": "lunch"}), 422, "reason")
        chart = await _chart(tenant, enc["id"])
        assert (chart["status"], chart["holds"]) == ("in_coding", [])
        assert [e["action"] for e in chart["timeline"]] == ["docs_complete", "claim"]

    async def test_a_coder_cannot_clear_their_own_blocker(self, tenant: Tenant) -> None:
        enc = await tenant.new_encounter()
        await _claim(tenant)
        held = await tenant.post(
            f"/v1/encounters/{enc['id']}/holds", "coder", json={"reason": "registration_error"}
        )
        assert held.status_code == 201, held.text
        hold = held.json()["holds"][0]["id"]
        for who in ("coder", "vendor_lead"):
            _problem(await tenant.post(f"/v1/holds/{hold}/release", who, json={}), 403)
        assert (await _chart(tenant, enc["id"]))["status"] == "on_hold"

    async def test_a_vendor_lead_releases_an_other_hold_as_the_hold_policy_allows(
        self, tenant: Tenant
    ) -> None:
        """models.encounters.holds lets vendor leads release 'other' holds of their vendor's charts."""
        enc = await tenant.new_encounter()
        await _claim(tenant)
        held = await tenant.post(
            f"/v1/encounters/{enc['id']}/holds", "coder", json={"reason": "other", "note": "odd"}
        )
        assert held.status_code == 201, held.text
        hold = held.json()["holds"][0]["id"]
        released = await tenant.post(f"/v1/holds/{hold}/release", "vendor_lead", json={})
        assert released.status_code == 200, released.text
        assert (released.json()["status"], released.json()["assignee"]) == ("in_coding", "coder-1")

    async def test_ops_can_release_a_missing_documentation_hold(self, tenant: Tenant) -> None:
        enc = await tenant.new_encounter(doc_types=("34117-2",))
        [hold] = (await _chart(tenant, enc["id"]))["holds"]
        assert hold["reason"] == "missing_documentation"
        _problem(await tenant.post(f"/v1/holds/{hold['id']}/release", "coder", json={}), 403)
        released = await tenant.post(f"/v1/holds/{hold['id']}/release", "ops", json={})
        assert released.status_code == 200, released.text
        assert (released.json()["status"], released.json()["holds"]) == ("ready", [])


class TestAuditTrail:
    async def test_tampering_with_an_event_breaks_verification_at_that_event(
        self, tenant: Tenant
    ) -> None:
        enc = await tenant.new_encounter()
        other = await tenant.new_encounter()
        await _claim(tenant)
        ok = await tenant.get("/v1/audit-trail/verify", "ops")
        assert ok.status_code == 200
        assert ok.json()["verified"] is True
        assert ok.json()["first_break"] is None
        assert ok.json()["events_checked"] == 3

        assert tenant.stack.admin_sessions is not None
        async with tenant.stack.admin_sessions.begin() as session:
            # One transaction: the trigger is never off for anyone else.
            await session.execute(
                text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
            )
            changed = await session.execute(
                text(
                    "UPDATE audit_events SET reason = 'nothing to see' WHERE encounter_id = :e AND seq = 2"
                ),
                {"e": enc["id"]},
            )
            assert changed.rowcount == 1  # type: ignore[attr-defined]
            await session.execute(
                text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")
            )

        broken = (await tenant.get("/v1/audit-trail/verify", "ops")).json()
        assert broken["verified"] is False
        assert (broken["first_break"]["encounter_id"], broken["first_break"]["seq"]) == (
            enc["id"],
            2,
        )
        assert broken["first_break"]["problem"]
        one = (
            await tenant.get("/v1/audit-trail/verify", "ops", params={"encounter_id": enc["id"]})
        ).json()
        assert one["verified"] is False
        untouched = (
            await tenant.get("/v1/audit-trail/verify", "ops", params={"encounter_id": other["id"]})
        ).json()
        assert untouched["verified"] is True
        evidence = (await tenant.get(f"/v1/encounters/{enc['id']}/evidence", "ops")).json()
        assert evidence["chain"]["verified"] is False

    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE audit_events SET reason = 'edited' WHERE tenant_id = :t",
            "DELETE FROM audit_events WHERE tenant_id = :t",
        ],
    )
    async def test_the_database_refuses_to_change_or_delete_audit_events(
        self, tenant: Tenant, statement: str
    ) -> None:
        await tenant.new_encounter()
        assert tenant.stack.admin_sessions is not None  # even a superuser (the app's role may not write at all)
        with pytest.raises(DBAPIError, match="append-only"):
            async with tenant.stack.admin_sessions.begin() as session:
                await session.execute(text(statement), {"t": tenant.id})
        verified = (await tenant.get("/v1/audit-trail/verify", "ops")).json()
        assert verified["verified"] is True
        assert verified["events_checked"] == 1


def _same_instant(a: str, b: str) -> bool:
    return datetime.fromisoformat(a.replace("Z", "+00:00")) == datetime.fromisoformat(
        b.replace("Z", "+00:00")
    )
