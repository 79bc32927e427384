"""Clinical acts stay clinical: only the addressed physician or a configured delegate answers a
query (and files an addendum); admins withdraw or reassign. Reassignment targets must exist."""

import pytest

from clearchart import admin
from tests.api.test_queries_api import claimed_chart, query
from tests.support import Tenant


async def _token(t: Tenant, key: str, role: str, user: str, vendor: str | None = None, npi: str | None = None) -> None:
    t.tokens[key] = await admin.create_token(
        t.stack.sessions, t.stack.settings.secret_key, tenant_id=t.id, role=role, user_id=user, vendor_id=vendor, npi=npi
    )


class TestAnswering:
    async def test_an_admin_cannot_answer_or_file_an_addendum_but_can_withdraw(self, tenant: Tenant) -> None:
        enc, doc = await claimed_chart(tenant)
        raised = (await tenant.post(f"/v1/encounters/{enc}/queries", "coder", json=query(doc))).json()
        refused = await tenant.post(
            f"/v1/queries/{raised['id']}/answer", "admin", json={"free_text": "yes", "addendum": "Addendum: controlled."}
        )
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
        still = (await tenant.get(f"/v1/queries/{raised['id']}", "ops")).json()
        assert (still["status"], still["addendum_document_id"]) == ("open", None)
        withdrawn = await tenant.post(f"/v1/queries/{raised['id']}/withdraw", "admin", json={"reason": "asked twice"})
        assert withdrawn.status_code == 200, withdrawn.text
        assert withdrawn.json()["status"] == "withdrawn"

    async def test_a_delegate_the_tenant_configured_answers_another_physician_does_not(self, tenant: Tenant) -> None:
        await _token(tenant, "resident", "physician", "dr-resident", npi="1999999984")
        await _token(tenant, "stranger", "physician", "dr-stranger")
        enc, doc = await claimed_chart(tenant)
        raised = (await tenant.post(f"/v1/encounters/{enc}/queries", "coder", json=query(doc))).json()
        assert (await tenant.post(f"/v1/queries/{raised['id']}/answer", "resident", json={"free_text": "x"})).status_code == 404
        with pytest.raises(admin.AdminError, match="dr-nobody"):
            await admin.set_query_delegates(tenant.stack.sessions, tenant.id, "1234567893", ["dr-nobody"])
        await admin.set_query_delegates(tenant.stack.sessions, tenant.id, "1234567893", ["dr-resident"])  # dr-1's NPI
        assert [q["id"] for q in (await tenant.get("/v1/queries", "resident")).json()] == [raised["id"]]
        assert (await tenant.get("/v1/queries", "stranger")).json() == []
        stolen = await tenant.post(f"/v1/queries/{raised['id']}/answer", "stranger", json={"free_text": "x"})
        assert stolen.status_code == 404
        answered = await tenant.post(f"/v1/queries/{raised['id']}/answer", "resident", json={"free_text": "Type 2, controlled."})
        assert answered.status_code == 200, answered.text
        assert (answered.json()["status"], answered.json()["answered_by"]) == ("answered", "dr-resident")


class TestReassign:
    async def test_only_an_existing_coder_of_the_named_vendor_receives_a_chart(self, tenant: Tenant) -> None:
        enc, _ = await claimed_chart(tenant)
        path = f"/v1/encounters/{enc}/reassign"
        events = len((await tenant.get(f"/v1/encounters/{enc}", "ops")).json()["timeline"])
        # A user nobody issued, a coder of another vendor, a lead, and a coder of a vendor q1 is not routed to.
        for to_user, to_vendor in (("coder-ghost", "v1"), ("coder-3", "v1"), ("lead-1", "v1"), ("coder-3", "v2")):
            r = await tenant.post(path, "ops", json={"to_user": to_user, "to_vendor": to_vendor})
            assert r.status_code == 422, (to_user, r.text)
            assert to_user in r.json()["detail"]
        chart = (await tenant.get(f"/v1/encounters/{enc}", "ops")).json()
        assert (chart["assignee"], len(chart["timeline"])) == ("coder-1", events)
        moved = await tenant.post(path, "admin", json={"to_user": "coder-2", "to_vendor": "v1"})
        assert moved.status_code == 200, moved.text
        assert (moved.json()["assignee"], moved.json()["assignee_vendor"]) == ("coder-2", "v1")
