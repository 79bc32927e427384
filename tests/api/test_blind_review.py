"""A blind QA review stays blind: the encounter and evidence endpoints withhold the coder's codes."""

from tests.api.test_audits import CODER_CODES, coded_chart, recode
from tests.support import Tenant


class TestBlindReview:
    async def test_an_auditor_sees_the_codes_only_after_submitting_a_re_coding(self, tenant: Tenant) -> None:
        enc = await coded_chart(tenant)
        audit = await tenant.post("/v1/audits", "auditor", json={"method": "census", "seed": 3, "blind": True})
        assert audit.status_code == 201, audit.text
        for path in (f"/v1/encounters/{enc}", f"/v1/encounters/{enc}/evidence"):
            hidden = await tenant.get(path, "auditor")
            assert hidden.status_code == 403, path
            assert "blind" in hidden.json()["detail"]
        assert (await tenant.get(f"/v1/encounters/{enc}", "ops")).status_code == 200
        submitted = await tenant.post(f"/v1/audits/{audit.json()['id']}/charts/{enc}/review", "auditor", json=recode(*CODER_CODES))
        assert submitted.status_code in (200, 201), submitted.text
        shown = await tenant.get(f"/v1/encounters/{enc}", "auditor")
        assert shown.status_code == 200
        assert [d["code"] for d in shown.json()["codes"]["diagnoses"]] == list(CODER_CODES)

    async def test_an_auditors_re_coding_meets_the_code_set_rules(self, tenant: Tenant) -> None:
        enc = await coded_chart(tenant)
        audit = (await tenant.post("/v1/audits", "auditor", json={"method": "census", "seed": 5})).json()
        refused = await tenant.post(f"/v1/audits/{audit['id']}/charts/{enc}/review", "auditor", json=recode("E11", "I10"))
        assert refused.status_code == 422
        assert "icd10cm.not_billable" in [e["rule"] for e in refused.json()["errors"]]
        accepted = await tenant.post(f"/v1/audits/{audit['id']}/charts/{enc}/review", "auditor", json=recode(*CODER_CODES))
        assert accepted.status_code in (200, 201), accepted.text
