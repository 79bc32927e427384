"""Prospective QA over real HTTP: a sampled chart's clean claim does not leave until it is reviewed."""

import httpx

from tests.api.test_audits import CODER_CODES, coded_chart, findings_for, recode
from tests.support import LiveStack, eventually, make_tenant


class TestPrebillReview:
    async def test_a_prospectively_sampled_chart_is_billed_only_after_its_review(self, live: LiveStack) -> None:
        async with httpx.AsyncClient(timeout=60) as http:
            # A review window of about seven seconds: long enough to sample, short enough to wait on.
            tenant = await make_tenant(live, http, prebill_review_hours=0.002)
            enc = await coded_chart(tenant)
            assert (await tenant.get(f"/v1/encounters/{enc}", "ops")).json()["status"] == "scrubbing"
            audit = await tenant.post("/v1/audits", "auditor", json={"method": "census", "seed": 7, "timing": "prospective"})
            assert audit.status_code == 201, audit.text
            audit_id = audit.json()["id"]

            def timeline(r: httpx.Response) -> list[str]:
                return [t["action"] for t in r.json()["timeline"]]

            held = await eventually(lambda: tenant.get(f"/v1/encounters/{enc}", "ops"), until=lambda r: "qa_prebill_hold" in timeline(r))
            assert held.json()["status"] == "scrubbing"
            assert (await tenant.get(f"/v1/claims?encounter_id={enc}", "ops")).json() == []

            reviewed = await tenant.post(f"/v1/audits/{audit_id}/charts/{enc}/review", "auditor", json=recode("E11.9", *CODER_CODES[1:]))
            assert reviewed.status_code in (200, 201), reviewed.text
            recorded = await findings_for(tenant, audit_id, enc)
            assert recorded.status_code == 201, recorded.text
            billed = await eventually(lambda: tenant.get(f"/v1/encounters/{enc}", "ops"), until=lambda r: r.json()["status"] == "submitted")
            assert timeline(billed)[-1] == "scrub_clean"
