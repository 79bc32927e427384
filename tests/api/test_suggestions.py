"""Code suggestions over real HTTP: computed after intake, shown to entitled roles, decided by the
coder holding the chart, cited by a submission and reported in the evidence packet."""

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import httpx

from models.coding.suggestions import NoteDocument, Suggestion, SupportSpan
from models.repositories.suggestions import SuggestionRepository
from services import suggestions
from tests.support import Tenant, eventually

PROBLEM = "application/problem+json"


async def _with_suggestions(tenant: Tenant) -> dict[str, Any]:
    chart = await tenant.new_encounter()

    async def read() -> dict[str, Any]:
        r = await tenant.get(f"/v1/encounters/{chart['id']}", "ops")
        assert r.status_code == 200, r.text
        found: dict[str, Any] = r.json()
        return found

    # The worker builds the engine on the first chart of the run (about 10 s on a busy machine).
    return await eventually(read, until=lambda d: bool(d["suggestions"]), within=180)


def _by_code(detail: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["code"]: s for s in detail["suggestions"]}


def _problem(r: httpx.Response, status: int) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["detail"]


class TestSuggestions:
    async def test_a_chart_gets_specific_codes_with_their_spans_after_intake(self, tenant: Tenant) -> None:
        detail = await _with_suggestions(tenant)
        found = _by_code(detail)
        assert {"E11.65", "I10"} <= found.keys(), sorted(found)
        assert "E11.9" not in found
        span = found["E11.65"]["spans"][0]
        assert span["document_id"] == detail["documents"][0]["id"]
        assert "diabetes mellitus with hyperglycemia" in span["excerpt"].lower()
        assert span["end"] - span["start"] == len(span["excerpt"])
        assert all(s["engine_version"].startswith("lexical-") for s in detail["suggestions"])
        assert all(s["status"] == "open" for s in detail["suggestions"])

    async def test_roles_without_chart_access_and_other_tenants_see_nothing(
        self, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        detail = await _with_suggestions(tenant)
        path = f"/v1/encounters/{detail['id']}/suggestions"
        assert (await tenant.get(path, "auditor")).status_code == 404  # auditors see coded charts only
        _problem(await tenant.get(path, "integrator"), 403)
        _problem(await tenant.get(path, "physician"), 403)
        _problem(await other_tenant.get(path, "ops"), 404)
        listed = await tenant.get(path, "ops")
        assert listed.status_code == 200
        assert [s["code"] for s in listed.json()] == [s["code"] for s in detail["suggestions"]]
        # The excerpts quote the note: each read of them is in the PHI access log, refused ones too.
        log = (await tenant.get("/v1/access-log", "admin", params={"action": "suggestions.read"})).json()["items"]
        assert {(e["role"], e["status"]) for e in log} >= {("ops", 200), ("integrator", 403)}

    async def test_the_coder_holding_the_chart_accepts_and_rejects_then_submits(self, tenant: Tenant) -> None:
        detail = await _with_suggestions(tenant)
        enc, found = detail["id"], _by_code(detail)
        e1165, i10 = found["E11.65"], found["I10"]
        decide = f"/v1/encounters/{enc}/suggestions/{{}}/decision"

        # Nobody decides before the chart is claimed; ops never decides.
        _problem(await tenant.post(decide.format(i10["id"]), "ops", json={"decision": "rejected"}), 403)
        assert (await tenant.post("/v1/queues/q1/claim", "coder")).status_code == 200
        _problem(await tenant.post(decide.format(i10["id"]), "coder2", json={"decision": "rejected"}), 404)
        _problem(await tenant.post(decide.format(i10["id"]), "coder", json={"decision": "maybe"}), 422)
        _problem(await tenant.post(decide.format(enc), "coder", json={"decision": "rejected"}), 404)

        rejected = await tenant.post(decide.format(i10["id"]), "coder", json={"decision": "rejected"})
        assert rejected.status_code == 200, rejected.text
        assert (rejected.json()["status"], rejected.json()["decided_by"]) == ("rejected", "coder-1")
        again = await tenant.post(decide.format(i10["id"]), "coder", json={"decision": "rejected"})
        assert again.json()["decided_at"] == rejected.json()["decided_at"]  # a repeat changes nothing

        span = e1165["spans"][0]
        coding = {
            "diagnoses": [
                {
                    "code": "E11.65",
                    "suggestion_id": i10["id"],  # the wrong suggestion for this code
                    "evidence": [{"document_id": span["document_id"], "excerpt": span["excerpt"]}],
                },
                {"code": "I10", "evidence": [{"document_id": span["document_id"], "excerpt": "essential hypertension"}]},
            ]
        }
        _problem(await tenant.post(f"/v1/encounters/{enc}/coding", "coder", json=coding), 422)
        still = (await tenant.get(f"/v1/encounters/{enc}", "ops")).json()
        assert still["status"] == "in_coding"
        assert _by_code(still)["E11.65"]["status"] == "open"

        coding["diagnoses"][0]["suggestion_id"] = e1165["id"]
        coded = await tenant.post(f"/v1/encounters/{enc}/coding", "coder", json=coding)
        assert coded.status_code == 200, coded.text
        after = _by_code((await tenant.get(f"/v1/encounters/{enc}", "ops")).json())
        assert (after["E11.65"]["status"], after["E11.65"]["decided_by"]) == ("accepted", "coder-1")

        packet = (await tenant.get(f"/v1/encounters/{enc}/evidence", "ops")).json()
        dx = packet["codes"]["diagnoses"]
        assert [(d["code"], d["source"], d["suggestion_id"]) for d in dx] == [
            ("E11.65", "suggestion", e1165["id"]),
            ("I10", "manual", None),
        ]
        _problem(await tenant.post(decide.format(i10["id"]), "coder", json={"decision": "accepted"}), 409)


class TestSuggestionsInTheAuditReport:
    async def test_acceptance_audit_changes_and_misses_are_reported(self, tenant: Tenant) -> None:
        detail = await _with_suggestions(tenant)
        enc, found = detail["id"], _by_code(detail)
        assert (await tenant.post("/v1/queues/q1/claim", "coder")).status_code == 200
        decide = f"/v1/encounters/{enc}/suggestions/{found['I10']['id']}/decision"
        assert (await tenant.post(decide, "coder", json={"decision": "rejected"})).status_code == 200
        doc = detail["documents"][0]["id"]
        coding = {
            "diagnoses": [
                {"code": "E11.65", "suggestion_id": found["E11.65"]["id"],
                 "evidence": [{"document_id": doc, "excerpt": found["E11.65"]["spans"][0]["excerpt"]}]},
                {"code": "I10", "evidence": [{"document_id": doc, "excerpt": "essential hypertension"}]},
                {"code": "Z79.84", "evidence": [{"document_id": doc, "excerpt": "on metformin"}]},
            ]
        }  # fmt: skip
        assert (await tenant.post(f"/v1/encounters/{enc}/coding", "coder", json=coding)).status_code == 200

        audit = (await tenant.post("/v1/audits", "auditor", json={"method": "census", "seed": 3})).json()
        aid = audit["id"]
        recode = {"diagnoses": [{"code": c} for c in ("E11.9", "I10", "Z79.84")], "procedures": []}
        review = await tenant.post(f"/v1/audits/{aid}/charts/{enc}/review", "auditor", json=recode)
        assert review.status_code == 201, review.text
        finding = {
            "draft": 0, "category": "specificity", "severity": "medium", "rationale": "no hyperglycemia documented",
            "reference": {"kind": "official_guidelines", "citation": "ICD-10-CM OCG I.C.4.a"},
        }  # fmt: skip
        made = await tenant.post(f"/v1/audits/{aid}/charts/{enc}/findings", "auditor", json={"findings": [finding]})
        assert made.status_code == 201, made.text
        agreed = await tenant.post(f"/v1/findings/{made.json()[0]['id']}/respond", "coder", json={"action": "agree"})
        assert agreed.json()["state"] == "final"

        report = (await tenant.get(f"/v1/audits/{aid}/report", "ops")).json()["suggestions"]
        shown = len(detail["suggestions"])
        assert report["by_coder"]["coder-1"] == {
            "shown": shown, "accepted": 1, "rejected": 1, "undecided": shown - 2,
            "acceptance_rate": round(1 / shown, 4),
        }  # fmt: skip
        assert report["by_vendor"]["v1"]["accepted"] == 1
        changed = report["accepted_changed_by_audit"]
        assert (changed["accepted"], changed["changed"]) == (1, 1)
        assert changed["items"][0]["code"] == "E11.65"
        assert changed["items"][0]["auditor_code"] == "E11.9"
        assert {"code": "Z79.84", "charts": 1} in report["missed_by_engine"]["top"]
        html = await tenant.get(f"/v1/audits/{aid}/report", "ops", params={"format": "html"})
        assert "Code suggestions" in html.text


class FixedEngine:
    """Another engine behind the same interface: what a model-based one would plug into."""

    def __init__(self, confidence: float) -> None:
        self.confidence = confidence

    @property
    def version(self) -> str:
        return "fixed-1"

    def suggest(
        self,
        documents: Sequence[NoteDocument],
        *,
        date_of_service: date | None = None,  # noqa: ARG002 - the interface's
        limit: int = 20,  # noqa: ARG002
    ) -> list[Suggestion]:
        doc = documents[0]
        at = doc.text.index("essential hypertension")
        span = SupportSpan(doc.document_id, at, at + 22, doc.text[at : at + 22])
        return [Suggestion("I10", "Essential (primary) hypertension", self.confidence, "description", "x", [span], self.version)]


class TestReplaceableEngine:
    async def test_another_engine_version_is_stored_beside_and_a_rerun_keeps_decisions(self, tenant: Tenant) -> None:
        detail = await _with_suggestions(tenant)
        enc = uuid.UUID(detail["id"])
        sessions = tenant.stack.sessions
        assert await suggestions.compute(sessions, lambda: FixedEngine(0.5), tenant.id, enc) == 1
        async with sessions.begin() as session:
            rows = await SuggestionRepository(session).for_encounter(enc)
            assert [(r.code, r.engine_version, r.confidence) for r in rows] == [("I10", "fixed-1", 0.5)]
            await SuggestionRepository(session).decide(rows[0], "rejected", "coder-1", "v1", datetime.now(UTC))
        assert await suggestions.compute(sessions, lambda: FixedEngine(0.9), tenant.id, enc) == 1  # a retried activity
        async with sessions.begin() as session:
            [row] = await SuggestionRepository(session).for_encounter(enc)
            assert (row.status, row.confidence) == ("rejected", 0.5)  # what the coder decided on stays
            assert await SuggestionRepository(session).count(enc) == len(detail["suggestions"]) + 1
