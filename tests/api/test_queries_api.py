"""Physician queries over real HTTP: compliance lint, the inbox, answers, holds and metrics."""

from typing import Any

import pytest

from clearchart import admin
from tests.support import Tenant

NPI = "1234567893"


async def claimed_chart(tenant: Tenant) -> tuple[str, str]:
    enc = await tenant.new_encounter()
    chart = (await tenant.post("/v1/queues/q1/claim", "coder")).json()
    assert chart["id"] == enc["id"]
    return chart["id"], chart["documents"][0]["id"]


def query(doc: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "physician_npi": NPI,
        "question": "Based on your clinical judgment, please clarify the type of diabetes being treated.",
        "form": "open_ended",
        "indicators": [{"document_id": doc, "excerpt": "HbA1c 7.9%"}],
    }
    return {**body, **overrides}


MULTIPLE_CHOICE = {
    "form": "multiple_choice",
    "question": "Based on the indicators, which condition is being monitored and treated?",
    "options": ["Type 2 diabetes mellitus with hyperglycemia", "Type 2 diabetes mellitus without complications", "Other (please specify)", "Clinically undetermined"],
}
YES_NO = {
    "form": "yes_no",
    "question": "Was the hypertension present on admission?",
    "yes_no_purpose": "present_on_admission",
    "proposed_diagnosis": "essential hypertension",
}


class TestCompliance:
    @pytest.mark.parametrize(
        ("overrides", "rule"),
        [
            ({"indicators": []}, "indicators.required"),
            ({"form": "multiple_choice", "options": ["Type 2 diabetes", "Type 1 diabetes", "Clinically undetermined"]}, "multiple_choice.missing_other"),
            ({"form": "multiple_choice", "options": ["Type 2 diabetes", "Type 1 diabetes", "Other"]}, "multiple_choice.missing_undetermined"),
            ({"form": "multiple_choice", "options": ["Type 2 diabetes", "Other", "Clinically undetermined"]}, "multiple_choice.too_few_options"),
            ({**YES_NO, "proposed_diagnosis": "acute respiratory failure"}, "yes_no.new_diagnosis"),
            ({**YES_NO, "yes_no_purpose": None}, "yes_no.purpose_required"),
            ({"question": "Please clarify the diagnosis; documenting an MCC would increase the DRG payment."}, "language.financial"),
            ({"question": "Do you agree that the patient has sepsis?"}, "language.leading"),
            ({"indicators": [{"document_id": "not-a-document", "excerpt": "HbA1c 7.9%"}]}, "indicators.unknown_document"),
            ({"indicators": [{"document_id": "DOC", "excerpt": "words that are not in the note"}]}, "indicators.excerpt_not_in_document"),
        ],
    )
    async def test_each_rule_refuses_with_its_own_message_and_changes_nothing(self, tenant: Tenant, overrides: dict[str, Any], rule: str) -> None:
        enc, doc = await claimed_chart(tenant)
        for ind in overrides.get("indicators", []):
            ind["document_id"] = doc if ind["document_id"] == "DOC" else ind["document_id"]
        refused = await tenant.post(f"/v1/encounters/{enc}/queries", "coder", json=query(doc, **overrides))
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert rule in [e["rule"] for e in refused.json()["errors"]]
        assert rule in refused.json()["detail"]
        chart = (await tenant.get(f"/v1/encounters/{enc}", "coder")).json()
        assert chart["status"] == "in_coding"
        assert (await tenant.get(f"/v1/queries?encounter_id={enc}", "ops")).json() == []

    @pytest.mark.parametrize("form", [{}, MULTIPLE_CHOICE, YES_NO], ids=["open_ended", "multiple_choice", "yes_no"])
    async def test_a_compliant_query_of_each_form_puts_the_chart_on_hold(self, tenant: Tenant, form: dict[str, Any]) -> None:
        enc, doc = await claimed_chart(tenant)
        raised = await tenant.post(f"/v1/encounters/{enc}/queries", "coder", json=query(doc, **form))
        assert raised.status_code == 201, raised.text
        assert raised.json()["status"] == "open"
        chart = (await tenant.get(f"/v1/encounters/{enc}", "coder")).json()
        assert chart["status"] == "on_hold"
        assert [h["reason"] for h in chart["holds"]] == ["awaiting_query_response"]

    async def test_a_coder_cannot_query_a_chart_it_does_not_hold(self, tenant: Tenant) -> None:
        enc, doc = await claimed_chart(tenant)
        refused = await tenant.post(f"/v1/encounters/{enc}/queries", "coder2", json=query(doc))
        assert refused.status_code == 404

    async def test_templates_are_linted_when_saved(self, tenant: Tenant) -> None:
        bad = await tenant.post("/v1/query-templates", "ops", json={"name": "leading", "question": "Please document sepsis."})
        assert bad.status_code == 422
        assert "language.leading" in bad.json()["detail"]
        good = await tenant.post("/v1/query-templates", "ops", json={"name": "clarify", "question": "Based on {{indicators}}, please clarify the condition being treated."})
        assert good.status_code == 201, good.text
        listed = await tenant.get("/v1/query-templates", "coder")
        assert [t["name"] for t in listed.json()] == ["clarify"]
        assert (await tenant.post("/v1/query-templates", "coder", json={"name": "x", "question": "y"})).status_code == 403


class TestInbox:
    async def test_physicians_see_and_answer_only_their_own_queries(self, tenant: Tenant) -> None:
        enc, doc = await claimed_chart(tenant)
        raised = (await tenant.post(f"/v1/encounters/{enc}/queries", "coder", json=query(doc, **MULTIPLE_CHOICE))).json()
        other = await admin.create_token(
            tenant.stack.sessions, tenant.stack.settings.secret_key, tenant_id=tenant.id, role="physician", user_id="dr-2", npi="1999999984"
        )
        tenant.tokens["other_physician"] = other
        inbox = (await tenant.get("/v1/queries?status=open", "physician")).json()
        assert [q["id"] for q in inbox] == [raised["id"]]
        assert inbox[0]["indicators"][0]["excerpt"] == "HbA1c 7.9%"
        assert (await tenant.get("/v1/queries", "other_physician")).json() == []
        assert (await tenant.get(f"/v1/queries/{raised['id']}", "other_physician")).status_code == 404
        stolen = await tenant.post(f"/v1/queries/{raised['id']}/answer", "other_physician", json={"option_index": 0})
        assert stolen.status_code == 404
        assert (await tenant.post(f"/v1/queries/{raised['id']}/answer", "coder", json={"option_index": 0})).status_code == 403

    async def test_an_answer_with_an_addendum_returns_the_chart_to_the_coder(self, tenant: Tenant) -> None:
        enc, doc = await claimed_chart(tenant)
        raised = (await tenant.post(f"/v1/encounters/{enc}/queries", "coder", json=query(doc, **MULTIPLE_CHOICE))).json()
        out_of_range = await tenant.post(f"/v1/queries/{raised['id']}/answer", "physician", json={"option_index": 9})
        assert out_of_range.status_code == 422
        unexplained = await tenant.post(f"/v1/queries/{raised['id']}/answer", "physician", json={"option_index": 2})
        assert unexplained.status_code == 422
        answered = await tenant.post(
            f"/v1/queries/{raised['id']}/answer", "physician",
            json={"option_index": 0, "addendum": "Addendum: type 2 diabetes mellitus with hyperglycemia."},
        )
        assert answered.status_code == 200, answered.text
        body = answered.json()
        assert body["status"] == "answered"
        assert body["answer_option"] == MULTIPLE_CHOICE["options"][0]
        chart = (await tenant.get(f"/v1/encounters/{enc}", "coder")).json()
        assert chart["status"] == "in_coding"
        assert chart["assignee"] == "coder-1"
        assert body["addendum_document_id"] in [d["id"] for d in chart["documents"]]
        again = await tenant.post(f"/v1/queries/{raised['id']}/answer", "physician", json={"option_index": 0})
        assert again.status_code == 409

    async def test_the_asker_withdraws_and_ops_filters_by_status(self, tenant: Tenant) -> None:
        enc, doc = await claimed_chart(tenant)
        raised = (await tenant.post(f"/v1/encounters/{enc}/queries", "coder", json=query(doc))).json()
        withdrawn = await tenant.post(f"/v1/queries/{raised['id']}/withdraw", "coder", json={"reason": "found it in the note"})
        assert withdrawn.json()["status"] == "withdrawn"
        assert (await tenant.get(f"/v1/encounters/{enc}", "coder")).json()["status"] == "in_coding"
        assert [q["id"] for q in (await tenant.get("/v1/queries?status=withdrawn", "ops")).json()] == [raised["id"]]
        assert (await tenant.get("/v1/queries?status=open", "ops")).json() == []


class TestHolds:
    async def test_who_may_place_and_release_follows_the_role_table(self, tenant: Tenant) -> None:
        enc, _ = await claimed_chart(tenant)
        placed = await tenant.post(f"/v1/encounters/{enc}/holds", "coder", json={"reason": "authorization_missing", "note": "no prior auth on file"})
        assert placed.status_code == 201, placed.text
        hold = placed.json()["holds"][0]
        refused = await tenant.post(f"/v1/holds/{hold['id']}/release", "coder", json={})
        assert refused.status_code == 403
        assert "coder" in refused.json()["detail"]
        system_only = await tenant.post(f"/v1/encounters/{enc}/holds", "ops", json={"reason": "awaiting_query_response"})
        assert system_only.status_code == 403
        released = await tenant.post(f"/v1/holds/{hold['id']}/release", "ops", json={"resolution": "auth obtained"})
        assert released.status_code == 200
        assert released.json()["status"] == "in_coding"

    async def test_a_query_hold_is_not_released_by_hand(self, tenant: Tenant) -> None:
        enc, doc = await claimed_chart(tenant)
        await tenant.post(f"/v1/encounters/{enc}/queries", "coder", json=query(doc))
        chart = (await tenant.get(f"/v1/encounters/{enc}", "ops")).json()
        refused = await tenant.post(f"/v1/holds/{chart['holds'][0]['id']}/release", "ops", json={})
        assert refused.status_code == 403


class TestMetrics:
    async def test_query_and_hold_metrics_count_what_happened(self, tenant: Tenant) -> None:
        enc, doc = await claimed_chart(tenant)
        raised = (await tenant.post(f"/v1/encounters/{enc}/queries", "coder", json=query(doc, **MULTIPLE_CHOICE))).json()
        await tenant.post(f"/v1/queries/{raised['id']}/answer", "physician", json={"option_index": 0})
        enc2, doc2 = await claimed_chart(tenant)
        await tenant.post(f"/v1/encounters/{enc2}/queries", "coder", json=query(doc2))
        queries = (await tenant.get("/v1/metrics/queries", "ops")).json()
        overall = queries["overall"]
        assert (overall["volume"], overall["answered"], overall["open"]) == (2, 1, 1)
        assert overall["response_rate"] == 0.5
        assert overall["agreement_rate"] == 1.0
        assert overall["open_by_age"]["0-2d"] == 1
        assert overall["queries_per_100_charts"] == 100.0
        assert set(queries["by_physician"]) == {NPI}
        holds = (await tenant.get("/v1/metrics/holds", "ops")).json()
        assert holds["open_total"] == 1
        assert holds["cents_at_hold"] == 18500  # the EHR's charges on the one held chart
        assert holds["open_by_reason_age"]["awaiting_query_response"]["0-2d"] == 1
        assert holds["mean_hours_to_release_by_reason"]["awaiting_query_response"] is not None
        assert (await tenant.get("/v1/metrics/queries", "coder")).status_code == 403


class TestEndToEnd:
    async def test_webhook_claim_query_answer_code_with_every_step_in_the_evidence(self, tenant: Tenant) -> None:
        enc, doc = await claimed_chart(tenant)
        raised = (await tenant.post(f"/v1/encounters/{enc}/queries", "coder", json=query(doc, **MULTIPLE_CHOICE))).json()
        await tenant.post(f"/v1/queries/{raised['id']}/answer", "physician", json={"option_index": 0, "addendum": "Type 2 DM with hyperglycemia."})
        coding = {
            "diagnoses": [{"code": "E11.65", "evidence": [{"document_id": doc, "excerpt": "HbA1c 7.9%"}]}],
            "procedures": [{"code": "99214", "pointers": [1], "evidence": [{"document_id": doc, "excerpt": "follow-up"}]}],
        }
        coded = await tenant.post(f"/v1/encounters/{enc}/coding", "coder", json=coding)
        assert coded.status_code == 200, coded.text
        evidence = (await tenant.get(f"/v1/encounters/{enc}/evidence", "ops")).json()
        assert [e["action"] for e in evidence["events"]][:6] == ["docs_complete", "claim", "raise_query", "answer_query", "submit_coding", "start_scrub"]
        assert evidence["chain"]["verified"] is True
