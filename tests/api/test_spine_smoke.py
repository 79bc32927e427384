"""The walkthrough path over real HTTP: webhook → queue → claim → code → evidence."""

from tests.support import Tenant, eventually


class TestCodingPath:
    async def test_a_ready_chart_is_claimed_coded_and_evidenced(self, tenant: Tenant) -> None:
        enc = await tenant.new_encounter()
        assert enc["status"] == "ready"
        claimed = await tenant.post("/v1/queues/q1/claim", "coder")
        assert claimed.status_code == 200, claimed.text
        chart = claimed.json()
        assert chart["id"] == enc["id"]
        assert chart["status"] == "in_coding"
        doc = chart["documents"][0]["id"]
        body = {
            "diagnoses": [
                {"code": "E11.65", "evidence": [{"document_id": doc, "excerpt": "type 2 diabetes mellitus with hyperglycemia"}]},
                {"code": "I10", "evidence": [{"document_id": doc, "excerpt": "essential hypertension"}]},
            ],
            "procedures": [
                {"code": "99214", "pointers": [1, 2], "evidence": [{"document_id": doc, "excerpt": "follow-up"}]}
            ],
        }
        coded = await tenant.post(f"/v1/encounters/{enc['id']}/coding", "coder", json=body)
        assert coded.status_code == 200, coded.text
        assert coded.json()["status"] == "scrubbing"
        assert coded.json()["scrub"]["clean"] is True
        await eventually(lambda: tenant.get(f"/v1/encounters/{enc['id']}", "ops"), until=lambda r: r.json()["status"] == "submitted")
        evidence = await tenant.get(f"/v1/encounters/{enc['id']}/evidence", "ops")
        assert evidence.status_code == 200
        data = evidence.json()
        assert [e["action"] for e in data["events"]] == ["docs_complete", "claim", "submit_coding", "start_scrub", "scrub_clean"]
        assert data["codes"]["diagnoses"][0]["support"][0]["excerpt"] == "type 2 diabetes mellitus with hyperglycemia"
        assert data["chain"]["verified"] is True
