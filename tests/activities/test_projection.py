"""The projection activity on its own (``ActivityEnvironment``), against the suite's PostgreSQL.

A projection is retried by Temporal whenever an attempt's answer is lost, so applying the same
input twice must change nothing; each applied input appends one event to the chart's hash chain,
and the chain's facts must catch a row changed behind the application's back. Inputs recorded
before the typed events existed (``Record`` naming a table) must still decode and write exactly
what the events write now, so old histories and the evidence digests stay as they were.
"""

import dataclasses
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.testing import ActivityEnvironment

from activities.projection import ProjectionActivities
from clearchart import admin
from clearchart.keys import chain_keyring
from clearchart.settings import Settings
from models.claims.tables import ClaimRow, InboundFile, PaymentRow, ScrubRun
from models.encounters.tables import AuditEvent, AuditLedgerEntry, Encounter
from models.repositories.evidence_chain import verify_events
from models.repositories.evidence_facts import encounter_facts
from models.repositories.evidence_receipts import record_receipts
from models.repositories.projection_events import apply_event, apply_legacy_record
from workflows.types import (
    SYSTEM,
    AcknowledgedEdit,
    AppealDecided,
    AppealFiled,
    ClaimAcknowledged,
    ClaimAdjudicated,
    ClaimRejected,
    DenialClosed,
    DenialFacts,
    DenialOpened,
    ProjectBatch,
    ProjectInput,
    ProjectionEvent,
    Record,
    ScrubAcknowledged,
)

CONVERTER = DataConverter.default.payload_converter
AT = datetime(2026, 3, 2, 14, 30, 5, 123456, tzinfo=UTC)


@dataclass(frozen=True)
class Chart:
    tenant_id: str
    encounter_id: str
    scrub_id: str
    claim_id: str
    payment_id: str
    denial_id: str
    appeal_id: str

    def denial(self) -> DenialFacts:
        return DenialFacts(
            encounter_id=self.encounter_id, claim_id=self.claim_id, payment_id=self.payment_id, group_code="CO", carc="16",
            rarcs=["M51"], category="coding", amount_cents=12500, line_index=0, payer_id="SANDBOX1", appealable=True,
            not_appealable_reason=None, notice_date="2026-03-01", appeal_deadline="2026-05-30", work_queue="denials-coding",
            cause_table_version="carc-2026.1",
        )  # fmt: skip


@pytest_asyncio.fixture(loop_scope="session")
async def chart(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Chart]:
    """A tenant with one encounter, its scrub run, its submitted claim and an 835 payment for it."""
    tenant_id = f"t-{uuid.uuid4().hex[:10]}"
    await admin.create_tenant(sessions, tenant_id, f"Tenant {tenant_id}", {})
    ids = [uuid.uuid4() for _ in range(7)]
    encounter_id, scrub_id, claim_id, file_id, payment_id, denial_id, appeal_id = ids
    async with sessions.begin() as session:
        session.add(Encounter(id=encounter_id, tenant_id=tenant_id, external_id=f"E-{encounter_id.hex[:8]}",
                              workflow_id=f"encounter/{encounter_id}", status="received", received_at=AT))  # fmt: skip
        await session.flush()
        scrub = ScrubRun(id=scrub_id, tenant_id=tenant_id, encounter_id=encounter_id, run_no=1, hard_count=0, soft_count=1)
        claim = ClaimRow(id=claim_id, tenant_id=tenant_id, encounter_id=encounter_id, control_number=claim_id.hex[:20],
                         status="submitted", total_charge_cents=20000, x12="ISA*...~")  # fmt: skip
        session.add_all([scrub, claim])
        # As the claims activity does: rows written outside a projection carry a keyed receipt.
        keys = chain_keyring(Settings())
        await record_receipts(session, keys, "scrubs", [scrub])
        await record_receipts(session, keys, "claims", [claim])
        session.add(InboundFile(id=file_id, tenant_id=tenant_id, kind="835", sha256=file_id.hex * 2, body="ISA*...~"))
        await session.flush()
        payment = PaymentRow(id=payment_id, tenant_id=tenant_id, file_id=file_id, claim_id=claim_id, control_number="C1",
                             status_code="4", outcome="denied", charge_cents=20000, paid_cents=0,
                             patient_responsibility_cents=0)  # fmt: skip
        session.add(payment)
        await record_receipts(session, keys, "payments", [payment])  # as the 835 intake does
    yield Chart(tenant_id, *(str(i) for i in (encounter_id, scrub_id, claim_id, payment_id, denial_id, appeal_id)))


@pytest.fixture
def activities(sessions: async_sessionmaker[AsyncSession], temporal_client: Client) -> ProjectionActivities:
    return ProjectionActivities(sessions, chain_keyring(Settings()), temporal_client)


def decoded(inp: ProjectInput) -> ProjectInput:
    """The input as the activity receives it: through Temporal's JSON payload converter."""
    payload = CONVERTER.to_payloads([inp])[0]
    back = CONVERTER.from_payloads([payload], [ProjectInput])[0]
    assert isinstance(back, ProjectInput)
    return back


def change(chart: Chart, seq: int, action: str, *, events: Sequence[ProjectionEvent] = (), records: Sequence[Record] = ()) -> ProjectInput:
    status = {1: "submitted", 2: "denied"}.get(seq, "in_appeal")
    return ProjectInput(
        tenant_id=chart.tenant_id, encounter_id=chart.encounter_id, seq=seq, action=action, actor=SYSTEM,
        before={"status": "scrubbing"}, after={"status": status}, occurred_at=AT + timedelta(minutes=seq),
        row={"status": status, "holds": [], "worked_by": [], "overdue": False}, reason=f"r{seq}",
        events=list(events), records=list(records),
    )  # fmt: skip


async def rows(sessions: async_sessionmaker[AsyncSession], chart: Chart) -> dict[str, Any]:
    """Everything the projection of this chart may have written, as plain values."""
    eid = uuid.UUID(chart.encounter_id)
    async with sessions() as session:
        out: dict[str, Any] = {"facts": await encounter_facts(session, eid)}
        for name, model in (("events", AuditEvent), ("ledger", AuditLedgerEntry)):
            out[name] = await session.scalar(select(func.count()).select_from(model).where(model.encounter_id == eid))
        out["version"] = await session.scalar(select(Encounter.version).where(Encounter.id == eid))
    return out


class TestIdempotence:
    async def test_the_same_input_twice_writes_once_and_appends_one_event(
        self, activities: ProjectionActivities, sessions: async_sessionmaker[AsyncSession], chart: Chart
    ) -> None:
        inp = decoded(change(chart, 1, "remit_denied", events=[
            ClaimAdjudicated(chart.claim_id, "denied", 0), DenialOpened(chart.denial_id, chart.denial()),
        ]))  # fmt: skip
        env = ActivityEnvironment()
        await env.run(activities.project, inp)
        first = await rows(sessions, chart)
        assert (first["events"], first["ledger"], first["version"]) == (1, 1, 1)
        assert chart.denial_id in first["facts"]["denials"]

        await env.run(activities.project, inp)
        assert await rows(sessions, chart) == first

    async def test_a_repeated_event_in_a_new_input_leaves_the_rows_as_they_were(
        self, activities: ProjectionActivities, sessions: async_sessionmaker[AsyncSession], chart: Chart
    ) -> None:
        """Event writes set values by id; a later change carrying the same event adds only its own audit event."""
        opened = DenialOpened(chart.denial_id, chart.denial())
        env = ActivityEnvironment()
        await env.run(activities.project, decoded(change(chart, 1, "remit_denied", events=[opened])))
        first = await rows(sessions, chart)
        await env.run(activities.project, decoded(change(chart, 2, "remit_denied", events=[opened])))
        second = await rows(sessions, chart)
        assert second["facts"]["denials"] == first["facts"]["denials"]
        assert (second["events"], second["ledger"]) == (2, 2)


class TestHashChain:
    async def test_each_change_appends_one_event_and_the_chain_verifies(
        self, activities: ProjectionActivities, sessions: async_sessionmaker[AsyncSession], chart: Chart
    ) -> None:
        env = ActivityEnvironment()
        await env.run(activities.project, decoded(change(chart, 1, "accept_277ca", events=[ClaimAcknowledged(chart.claim_id, AT)])))
        await env.run(activities.project, decoded(change(chart, 2, "remit_denied", events=[
            ClaimAdjudicated(chart.claim_id, "denied", 0), DenialOpened(chart.denial_id, chart.denial()),
        ])))  # fmt: skip
        async with sessions() as session:
            result = await verify_events(session, chart.tenant_id, uuid.UUID(chart.encounter_id), chain_keyring(Settings()))
            chain = (await session.execute(select(AuditEvent.seq, AuditEvent.prev_hash, AuditEvent.hash)
                                           .where(AuditEvent.encounter_id == uuid.UUID(chart.encounter_id))
                                           .order_by(AuditEvent.seq))).all()  # fmt: skip
        assert result.verified, repr(result.first_break.problem if result.first_break else None)
        assert (result.encounters_checked, result.events_checked) == (1, 2)
        assert [seq for seq, _, _ in chain] == [1, 2]
        assert chain[1].prev_hash == chain[0].hash
        assert result.head == chain[1].hash

    async def test_a_batch_chains_its_events_and_ledger_entries_as_one_by_one_would(
        self, activities: ProjectionActivities, sessions: async_sessionmaker[AsyncSession], chart: Chart
    ) -> None:
        """The batch seals each change after the previous one without reading it back: the facts
        each event carries are still what the database held when it was sealed."""
        batch = ProjectBatch([
            decoded(change(chart, 1, "accept_277ca", events=[ClaimAcknowledged(chart.claim_id, AT)])),
            decoded(change(chart, 2, "remit_denied", events=[
                ClaimAdjudicated(chart.claim_id, "denied", 0), DenialOpened(chart.denial_id, chart.denial()),
            ])),
            decoded(change(chart, 3, "note")),
        ])  # fmt: skip
        await ActivityEnvironment().run(activities.project_batch, batch)
        eid = uuid.UUID(chart.encounter_id)
        async with sessions() as session:
            result = await verify_events(session, chart.tenant_id, eid, chain_keyring(Settings()))
            events = (await session.scalars(select(AuditEvent).where(AuditEvent.encounter_id == eid).order_by(AuditEvent.seq))).all()
            ledger = (await session.scalars(
                select(AuditLedgerEntry).where(AuditLedgerEntry.encounter_id == eid).order_by(AuditLedgerEntry.seq)
            )).all()  # fmt: skip
        assert result.verified, repr(result.first_break.problem if result.first_break else None)
        assert [e.seq for e in events] == [1, 2, 3]
        assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:2]]
        facts = [e.facts or {} for e in events]
        assert chart.denial_id not in facts[0].get("denials", {})
        assert chart.denial_id in facts[1]["denials"]
        # Only the chart's own row changed in between: every other section is carried on as it was.
        assert {k: v for k, v in facts[2].items() if k != "encounter"} == {k: v for k, v in facts[1].items() if k != "encounter"}
        assert facts[2]["encounter"] != facts[1]["encounter"]
        assert [(e.event_count, e.head_hash) for e in ledger] == [(e.seq, e.hash) for e in events]
        assert [e.seq for e in ledger] == [ledger[0].seq, ledger[0].seq + 1, ledger[0].seq + 2]

    @pytest.mark.parametrize(
        ("statement", "section"),
        [
            ("UPDATE denials SET amount_cents = amount_cents + 1 WHERE encounter_id = :e", "denials"),
            ("UPDATE claims SET status = 'paid' WHERE encounter_id = :e", "claims"),
        ],
    )
    async def test_a_row_changed_behind_the_application_fails_verify(
        self,
        activities: ProjectionActivities,
        sessions: async_sessionmaker[AsyncSession],
        admin_sessions: async_sessionmaker[AsyncSession],
        chart: Chart,
        statement: str,
        section: str,
    ) -> None:
        await ActivityEnvironment().run(activities.project, decoded(change(chart, 1, "remit_denied", events=[
            ClaimAdjudicated(chart.claim_id, "denied", 0), DenialOpened(chart.denial_id, chart.denial()),
        ])))  # fmt: skip
        async with admin_sessions.begin() as session:
            assert (await session.execute(text(statement), {"e": chart.encounter_id})).rowcount == 1  # type: ignore[attr-defined]
        async with sessions() as session:
            result = await verify_events(session, chart.tenant_id, uuid.UUID(chart.encounter_id), chain_keyring(Settings()))
        assert result.first_break is not None
        assert result.first_break.seq == 1
        assert f"{section} (1 changed, 0 removed)" in result.first_break.problem

    async def test_an_event_changed_behind_the_application_fails_verify(
        self,
        activities: ProjectionActivities,
        sessions: async_sessionmaker[AsyncSession],
        admin_sessions: async_sessionmaker[AsyncSession],
        chart: Chart,
    ) -> None:
        await ActivityEnvironment().run(activities.project, decoded(change(chart, 1, "accept_277ca", events=[ClaimAcknowledged(chart.claim_id, AT)])))
        async with admin_sessions.begin() as session:  # the append-only trigger is off only in this transaction
            await session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
            await session.execute(text("UPDATE audit_events SET reason = 'forged' WHERE encounter_id = :e"), {"e": chart.encounter_id})
            await session.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))
        async with sessions() as session:
            result = await verify_events(session, chart.tenant_id, uuid.UUID(chart.encounter_id), chain_keyring(Settings()))
        assert result.first_break is not None
        assert result.first_break.seq == 1


def legacy_and_typed(chart: Chart) -> list[tuple[list[Record], list[ProjectionEvent]]]:
    """Each change as workflows described it before (tables and columns) and as they do now."""
    at, iso = AT, AT.isoformat()
    values = dataclasses.asdict(chart.denial())
    return [
        ([Record("scrub_runs", chart.scrub_id, {"acknowledgments": [{"rule": "R1", "line_index": 0, "reason_sha256": "a" * 64, "by": "u1"}]})],
         [ScrubAcknowledged(chart.scrub_id, [AcknowledgedEdit("R1", 0, "a" * 64, "u1")])]),
        ([Record("claims", chart.claim_id, {"status": "rejected", "filed": False, "acknowledged_at": iso, "rejection": "A7:21"})],
         [ClaimRejected(chart.claim_id, at, "A7:21")]),
        ([Record("claims", chart.claim_id, {"status": "accepted", "filed": True, "acknowledged_at": iso})],
         [ClaimAcknowledged(chart.claim_id, at)]),
        ([Record("claims", chart.claim_id, {"status": "denied", "paid_cents": 0, "filed": True}), Record("denials", chart.denial_id, values)],
         [ClaimAdjudicated(chart.claim_id, "denied", 0), DenialOpened(chart.denial_id, chart.denial())]),
        ([Record("appeals", chart.appeal_id, {"encounter_id": chart.encounter_id, "denial_id": chart.denial_id, "level": "redetermination",
                                             "reason_sha256": "b" * 64, "deadline": "2026-05-30", "status": "open", "filed_by": "u2",
                                             "filed_at": iso}),
          Record("denials", chart.denial_id, {"status": "appealed"})],
         [AppealFiled(chart.appeal_id, chart.encounter_id, chart.denial_id, "redetermination", "b" * 64, "2026-05-30", "u2", at)]),
        ([Record("appeals", chart.appeal_id, {"status": "decided", "decision": "upheld", "recovered_cents": 0, "decided_at": iso}),
          Record("denials", chart.denial_id, {"status": "closed"})],
         [AppealDecided(chart.appeal_id, chart.denial_id, "upheld", 0, at)]),
        ([Record("denials", chart.denial_id, {"status": "closed"})], [DenialClosed(chart.denial_id)]),
    ]  # fmt: skip


class TestOlderInputs:
    async def test_events_write_exactly_what_the_table_records_wrote(self, sessions: async_sessionmaker[AsyncSession], chart: Chart) -> None:
        """Same rows, same evidence digests, change after change. Both sides run in one transaction
        (so server defaults such as created_at agree), each in a savepoint rolled back after."""
        steps = legacy_and_typed(chart)
        eid = uuid.UUID(chart.encounter_id)
        seen: dict[str, list[dict[str, dict[str, str]]]] = {}
        async with sessions() as session:
            for side in ("legacy", "typed"):
                savepoint = await session.begin_nested()
                seen[side] = []
                for n, (records, events) in enumerate(steps, start=1):
                    inp = decoded(change(chart, n, "step", records=records if side == "legacy" else [], events=events if side == "typed" else []))
                    for record in inp.records:
                        await apply_legacy_record(session, chart.tenant_id, record)
                    for event in inp.events:
                        await apply_event(session, chart.tenant_id, event)
                    await session.flush()
                    seen[side].append(await encounter_facts(session, eid))
                await savepoint.rollback()
            await session.rollback()
        assert seen["typed"] == seen["legacy"]
        assert [len(f["appeals"]) for f in seen["typed"]] == [0, 0, 0, 0, 1, 1, 1]
        assert seen["typed"][2]["claims"] != seen["typed"][1]["claims"]  # each step really wrote

    async def test_an_input_recorded_before_events_existed_decodes_and_applies(
        self, activities: ProjectionActivities, sessions: async_sessionmaker[AsyncSession], chart: Chart
    ) -> None:
        """The JSON an older worker sent: ``records`` naming the claims table, and no ``events`` key."""
        old = CONVERTER.to_payloads([change(chart, 1, "accept_277ca")])[0]
        body = json.loads(old.data)
        del body["events"]
        body["records"] = [{"table": "claims", "id": chart.claim_id,
                            "values": {"status": "accepted", "filed": True, "acknowledged_at": AT.isoformat()}}]  # fmt: skip
        payload = Payload(metadata=dict(old.metadata), data=json.dumps(body).encode())
        inp = CONVERTER.from_payloads([payload], [ProjectInput])[0]
        assert isinstance(inp, ProjectInput)
        assert inp.events == []
        assert inp.records[0].table == "claims"

        await ActivityEnvironment().run(activities.project, inp)
        async with sessions() as session:
            claim = await session.get_one(ClaimRow, uuid.UUID(chart.claim_id))
        assert (claim.status, claim.filed, claim.acknowledged_at) == ("accepted", True, AT)

    def test_every_event_kind_decodes_to_itself(self, chart: Chart) -> None:
        """Events share field names; ``kind`` is what tells them apart in a payload."""
        events = [e for _, typed in legacy_and_typed(chart) for e in typed] + [DenialOpened(chart.denial_id, None)]
        back = decoded(change(chart, 1, "step", events=events)).events
        assert back == events
        assert [type(e) for e in back] == [type(e) for e in events]

