"""QA audits over real HTTP: reproducible samples, blind review, rebuttal, coaching and the report."""

import math
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from clearchart import admin
from integrations.sandbox.bundles import synthetic_bundle
from models.qa.sampling import attribute_sample_size
from models.qa.scores import cohen_kappa
from tests.support import LiveStack, Tenant, eventually, make_tenant

PROBLEM = "application/problem+json"
CODER_CODES = ("E11.65", "I10")
REFERENCE = {"kind": "official_guidelines", "citation": "ICD-10-CM OCG I.C.4.a"}


async def coded_chart(tenant: Tenant, coder: str = "coder", *, payer: str = "MEDICARE") -> str:
    """Push, claim and code one chart (E11.65, I10, 99214); returns its encounter id."""
    key = uuid.uuid4().hex[:10]
    pushed = await tenant.push(synthetic_bundle(encounter_id=f"enc-{key}", patient_id=f"pt-{key}", payer_id=payer))
    assert pushed.status_code == 202, pushed.text
    chart = (await tenant.post("/v1/queues/q1/claim", coder)).json()
    assert chart["id"] == pushed.json()["encounters"][0]["id"]
    doc = chart["documents"][0]["id"]
    body = {
        "diagnoses": [{"code": c, "evidence": [{"document_id": doc, "excerpt": "Assessment"}]} for c in CODER_CODES],
        "procedures": [{"code": "99214", "pointers": [1, 2], "evidence": [{"document_id": doc, "excerpt": "follow-up"}]}],
    }
    coded = await tenant.post(f"/v1/encounters/{chart['id']}/coding", coder, json=body)
    assert coded.status_code == 200, coded.text
    return str(chart["id"])


def recode(*dx: str) -> dict[str, Any]:
    return {"diagnoses": [{"code": c} for c in dx], "procedures": [{"code": "99214"}]}


def problem(r: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = r.json()
    for word in words:
        assert word in body["detail"], (word, body["detail"])
    return body


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def coded(live: LiveStack) -> AsyncIterator[tuple[Tenant, list[str]]]:
    """One tenant with eight coded charts (four per coder), shared by the read-mostly tests."""
    async with httpx.AsyncClient(timeout=60) as http:
        tenant = await make_tenant(live, http)
        ids = [await coded_chart(tenant, who) for who in ("coder", "coder2") * 4]
        yield tenant, ids


class TestSampling:
    async def test_same_plan_and_seed_draw_the_same_sample_and_verify_proves_it(self, coded: tuple[Tenant, list[str]]) -> None:
        tenant, ids = coded
        plan = {"method": "simple_random", "seed": 20251125, "size": 4}
        first = await tenant.post("/v1/audits", "auditor", json=plan)
        again = await tenant.post("/v1/audits", "auditor", json=plan)
        assert first.status_code == again.status_code == 201, first.text
        a, b = first.json(), again.json()
        assert a["encounter_ids"] == b["encounter_ids"]
        assert len(a["encounter_ids"]) == 4
        assert set(a["encounter_ids"]) <= set(ids)
        assert a["frame_fingerprint"] == b["frame_fingerprint"]
        assert a["frame_size"] == 8
        assert (a["seed"], a["method"], a["algorithm"]) == (20251125, "simple_random", "v1")
        verified = (await tenant.get(f"/v1/audits/{a['id']}/sample/verify", "ops")).json()
        assert verified["identical"] is True
        assert verified["problems"] == []
        assert verified["encounter_ids"] == a["encounter_ids"]
        other = (await tenant.post("/v1/audits", "auditor", json={**plan, "seed": 1})).json()
        assert other["encounter_ids"] != a["encounter_ids"]

    async def test_stratified_allocation_sums_to_the_size_and_respects_strata(self, coded: tuple[Tenant, list[str]]) -> None:
        tenant, _ = coded
        r = await tenant.post(
            "/v1/audits", "auditor", json={"method": "stratified", "strata_key": "coder", "seed": 3, "size": 5}
        )
        assert r.status_code == 201, r.text
        audit = r.json()
        assert sum(audit["per_stratum"].values()) == 5 == len(audit["encounter_ids"])
        assert set(audit["per_stratum"]) == {"coder-1", "coder-2"}
        assert Counter(c["coder_id"] for c in audit["charts"]) == audit["per_stratum"]
        # Default double-review share: 10 %, rounded up.
        assert sum(c["double_review"] for c in audit["charts"]) == math.ceil(0.1 * 5)

    @pytest.mark.parametrize(("rate", "table"), [(0.05, 73), (0.10, 139), (None, 385)])
    async def test_computed_size_follows_the_attribute_sampling_table(
        self, coded: tuple[Tenant, list[str]], rate: float | None, table: int
    ) -> None:
        tenant, _ = coded
        plan = {"method": "simple_random", "seed": 5, "confidence": 0.95, "precision": 0.05, "expected_error_rate": rate}
        audit = (await tenant.post("/v1/audits", "admin", json=plan)).json()
        assert audit["size_basis"]["table_size"] == table
        assert audit["size"] == attribute_sample_size(8, 0.95, 0.05, rate)

    async def test_the_universe_filter_narrows_the_frame(self, coded: tuple[Tenant, list[str]]) -> None:
        tenant, _ = coded
        plan = {"method": "census", "seed": 1, "universe": {"coders": ["coder-2"], "payers": ["MEDICARE"]}}
        audit = (await tenant.post("/v1/audits", "auditor", json=plan)).json()
        assert audit["frame_size"] == 4 == audit["size"]
        assert {c["coder_id"] for c in audit["charts"]} == {"coder-2"}
        assert {c["vendor_id"] for c in audit["charts"]} == {"v1"}

    async def test_an_empty_universe_or_bad_plan_is_refused_and_stores_nothing(self, coded: tuple[Tenant, list[str]]) -> None:
        tenant, _ = coded
        before = len((await tenant.get("/v1/audits", "ops")).json())
        empty = await tenant.post("/v1/audits", "auditor", json={"method": "census", "seed": 1, "universe": {"vendors": ["nobody"]}})
        problem(empty, 422, "universe filter")
        unstratified = await tenant.post("/v1/audits", "auditor", json={"method": "stratified", "seed": 1, "size": 2})
        problem(unstratified, 422, "strata_key")
        assert len((await tenant.get("/v1/audits", "ops")).json()) == before
        assert (await tenant.post("/v1/audits", "coder", json={"method": "census", "seed": 1})).status_code == 403

    async def test_a_prospective_audit_only_samples_charts_not_yet_billed(self, coded: tuple[Tenant, list[str]]) -> None:
        tenant, ids = coded

        async def statuses() -> set[str]:
            return {(await tenant.get(f"/v1/encounters/{e}", "ops")).json()["status"] for e in ids}

        await eventually(statuses, until=lambda s: not s & {"coded", "scrubbing"})
        refused = await tenant.post("/v1/audits", "auditor", json={"method": "census", "seed": 1, "timing": "prospective"})
        problem(refused, 422, "not-yet-billed")


async def findings_for(tenant: Tenant, audit: str, enc: str, rationale: str = "E11.65 needs documented hyperglycemia") -> httpx.Response:
    item = {"draft": 0, "category": "specificity", "severity": "medium", "reference": REFERENCE, "rationale": rationale}
    return await tenant.post(f"/v1/audits/{audit}/charts/{enc}/findings", "auditor", json={"findings": [item]})


class TestAuditCycle:
    async def test_review_rebuttal_report_repeats_and_kappa_end_to_end(self, tenant: Tenant, other_tenant: Tenant) -> None:
        tenant.tokens["auditor2"] = await admin.create_token(
            tenant.stack.sessions, tenant.stack.settings.secret_key, tenant_id=tenant.id, role="auditor", user_id="auditor-2"
        )
        charts = [await coded_chart(tenant) for _ in range(4)]
        plan = {"method": "census", "seed": 11, "double_review_share": 1.0}
        created = await tenant.post("/v1/audits", "auditor", json=plan)
        assert created.status_code == 201, created.text
        audit = created.json()
        aid = audit["id"]
        assert sorted(audit["encounter_ids"]) == sorted(charts)
        assert all(c["audit_hold"] is None for c in audit["charts"]), "retrospective audits hold nothing"

        # Blind: the coder's codes stay hidden until the auditor has submitted a re-coding.
        view = (await tenant.get(f"/v1/audits/{aid}/charts/{charts[0]}", "auditor")).json()
        assert view["coder_codes"] is None
        assert view["documents"]
        wrong, right = charts[:2], charts[2:]
        for enc in wrong:
            r = await tenant.post(f"/v1/audits/{aid}/charts/{enc}/review", "auditor", json=recode("E11.9", "I10"))
            assert r.status_code == 201, r.text
            assert [(d["kind"], d["coder_code"], d["auditor_code"]) for d in r.json()["drafts"]] == [("changed", "E11.65", "E11.9")]
        for enc in right:
            r = await tenant.post(f"/v1/audits/{aid}/charts/{enc}/review", "auditor", json=recode(*CODER_CODES))
            assert r.json()["status"] == "reviewed"
            assert r.json()["drafts"] == []
        view = (await tenant.get(f"/v1/audits/{aid}/charts/{charts[0]}", "auditor")).json()
        assert [d["code"] for d in view["coder_codes"]["diagnoses"]] == list(CODER_CODES)
        problem(await tenant.post(f"/v1/audits/{aid}/charts/{charts[0]}/review", "auditor", json=recode("E11.9")), 409, "already submitted")

        # A finding without its guideline reference is refused, naming it, and nothing is stored.
        missing = await tenant.post(
            f"/v1/audits/{aid}/charts/{wrong[0]}/findings", "auditor",
            json={"findings": [{"draft": 0, "category": "specificity", "rationale": "why"}]},
        )  # fmt: skip
        problem(missing, 422, "guideline reference is required", "draft 0")
        assert (await tenant.get(f"/v1/audits/{aid}/findings", "ops")).json() == []
        ids = []
        for enc in wrong:
            r = await findings_for(tenant, aid, enc)
            assert r.status_code == 201, r.text
            ids.append(r.json()[0]["id"])

        # Rebuttal: agree makes final; a dispute waits for the auditor's reconciliation.
        assert (await tenant.post(f"/v1/findings/{ids[0]}/respond", "coder2", json={"action": "agree"})).status_code == 404
        assert (await tenant.post(f"/v1/findings/{ids[0]}/respond", "auditor", json={"action": "agree"})).status_code == 403
        agreed = await tenant.post(f"/v1/findings/{ids[0]}/respond", "coder", json={"action": "agree"})
        assert agreed.json()["state"] == "final", agreed.text
        problem(await tenant.post(f"/v1/findings/{ids[1]}/respond", "coder", json={"action": "dispute"}), 409, "comment is required")
        disputed = await tenant.post(f"/v1/findings/{ids[1]}/respond", "vendor_lead", json={"action": "dispute", "comment": "A1c 9.1 documented"})
        assert disputed.json()["state"] == "disputed"
        assert disputed.json()["events"][-1]["by"] == "lead-1"
        problem(await tenant.post(f"/v1/audits/{aid}/close", "auditor"), 409, "disputed")
        reconciled = await tenant.post(f"/v1/findings/{ids[1]}/reconcile", "auditor", json={"outcome": "upheld", "comment": "no hyperglycemia stated"})
        assert reconciled.json()["state"] == "final"
        assert reconciled.json()["outcome"] == "upheld"
        assert reconciled.json()["time_to_resolution_hours"] >= 0
        problem(await tenant.post(f"/v1/findings/{ids[1]}/respond", "coder", json={"action": "agree"}), 409, "final")

        # Blind second review: auditor-2 sees neither the coder's nor auditor-1's codes first.
        second = (await tenant.get(f"/v1/audits/{aid}/charts/{charts[2]}", "auditor2")).json()
        assert second["coder_codes"] is None
        assert second["your_review"] is None
        for enc in charts:
            dx = ("E11.9", "I10") if enc in wrong else ("E11.65",) if enc == charts[2] else CODER_CODES
            r = await tenant.post(f"/v1/audits/{aid}/charts/{enc}/review", "auditor2", json=recode(*dx))
            assert r.status_code == 201, r.text
            assert r.json()["role"] == "second"

        report = (await tenant.get(f"/v1/audits/{aid}/report", "ops")).json()
        overall = report["results"]["overall"]
        assert (overall["chart_level_accuracy"], overall["code_level_accuracy"]) == (0.5, 10 / 12)
        assert overall["pass_rate"] == 0.5
        assert overall["pending_findings"] == 0
        assert report["results"]["by_coder"]["coder-1"]["charts_reviewed"] == 4
        assert report["findings_by_category"]["specificity"]["counted"] == 2
        assert report["time_to_resolution"]["count"] == 2
        # Per coder code (dx then px): auditor-2 also flags I10 on one chart the primary passed.
        flagged = [("error", "error"), ("correct", "correct"), ("correct", "correct")] * 2
        passed = [("correct", "correct"), ("correct", "error"), ("correct", "correct")] + [("correct", "correct")] * 3
        expected = cohen_kappa(flagged + passed)
        pair = report["auditor_agreement"]["pairs"]["auditor-1|auditor-2"]
        assert pair["kappa"] == pytest.approx(expected.kappa) == pytest.approx(0.75)
        assert pair["percent_agreement"] == pytest.approx(11 / 12)

        # Education on the category, acknowledged by the coder only.
        ed = await tenant.post("/v1/education", "auditor", json={"coder_id": "coder-1", "category": "specificity", "audit_id": aid, "note": "OCG I.C.4"})
        assert ed.status_code == 201, ed.text
        assert (await tenant.post(f"/v1/education/{ed.json()['id']}/acknowledge", "vendor_lead")).status_code == 403
        ack = await tenant.post(f"/v1/education/{ed.json()['id']}/acknowledge", "coder")
        assert ack.json()["acknowledged_at"] is not None
        problem(await tenant.post(f"/v1/education/{ed.json()['id']}/acknowledge", "coder"), 409, "already acknowledged")

        # Cycle 2: the same category again is a repeat finding, after acknowledged education.
        later = await coded_chart(tenant, payer="AETNA")
        cycle2 = (await tenant.post("/v1/audits", "auditor", json={"method": "census", "seed": 2, "double_review_share": 0, "universe": {"payers": ["AETNA"]}})).json()
        assert cycle2["encounter_ids"] == [later]
        assert cycle2["cycle"] == audit["cycle"] + 1
        assert (await tenant.post(f"/v1/audits/{cycle2['id']}/charts/{later}/review", "auditor", json=recode("E11.9", "I10"))).status_code == 201
        repeat = (await findings_for(tenant, cycle2["id"], later)).json()[0]
        assert (await tenant.post(f"/v1/findings/{repeat['id']}/respond", "coder", json={"action": "agree"})).json()["state"] == "final"
        report2 = (await tenant.get(f"/v1/audits/{cycle2['id']}/report", "auditor")).json()
        assert [(r["coder_id"], r["category"], r["first_cycle"], r["cycle"], r["encounter_ids"]) for r in report2["repeat_findings"]] == [
            ("coder-1", "specificity", 1, 2, [later])
        ]
        assert [c["code_level_accuracy"] for c in report2["trends"]["by_cycle"]] == [pytest.approx(10 / 12), pytest.approx(2 / 3)]
        coaching = (await tenant.get("/v1/audits/coaching", "coder")).json()["coders"]
        assert list(coaching) == ["coder-1"]
        top = coaching["coder-1"]["top_categories"][0]
        assert (top["category"], top["count"]) == ("specificity", 3)
        assert top["references"] == ["official_guidelines: ICD-10-CM OCG I.C.4.a"]
        assert coaching["coder-1"]["repeats_after_education"] == [{"category": "specificity", "cycle": 2}]
        problem(await tenant.get("/v1/audits/coaching?coder=coder-2", "coder"), 403, "own coaching")

        html = await tenant.get(f"/v1/audits/{aid}/report?format=html", "ops")
        assert html.headers["content-type"].startswith("text/html")
        assert aid in html.text
        assert "Cohen's kappa" in html.text
        assert "0.750" in html.text
        pdf = await tenant.get(f"/v1/audits/{aid}/report?format=pdf", "ops")
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
        assert len(pdf.content) > 1000

        # Another tenant cannot reach any of it.
        for path in (f"/v1/audits/{aid}", f"/v1/audits/{aid}/report", f"/v1/audits/{aid}/findings", f"/v1/audits/{aid}/charts/{charts[0]}"):
            problem(await other_tenant.get(path, "auditor"), 404)
        problem(await other_tenant.post(f"/v1/findings/{ids[0]}/reconcile", "auditor", json={"outcome": "withdrawn", "comment": "x"}), 404)
        assert (await other_tenant.get("/v1/audits/coaching", "auditor")).json()["coders"] == {}
