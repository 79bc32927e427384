"""The projection: one transaction writes the encounter row, its hold and query rows, and the
audit event that explains the change. Idempotent by (encounter, seq): a retried attempt finds
its event and does nothing."""

import uuid
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import Client

from models.encounters.tables import AuditEvent, Encounter, QueryRow
from models.evidence.chain import GENESIS, Keyring
from models.repositories import audit_events, projection_events, projection_rows
from models.repositories.audit_seal import LedgerAppend, append_ledger_entries, seal_event
from services import ehr_writeback, outbound_events
from workflows.types import ProjectBatch, ProjectInput, QueryEvent

log = structlog.get_logger(__name__)

_ROW_DATETIMES = ("lease_expires_at", "coded_at", "sla_due_at")
_QUERY_DATETIMES = ("opened_at", "escalated_at", "expired_at", "answered_at", "withdrawn_at")


class ProjectionActivities:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], keys: Keyring, client: Client, workflow_queue: str | None = None
    ) -> None:
        self._sessions = sessions
        self._keys = keys
        self._client = client  # local activities have no activity.client()
        # Where webhook deliveries and EHR write-backs start: the interactive queue, also when
        # a background worker runs the projection (default: the queue this activity came from).
        self._workflow_queue = workflow_queue

    @activity.defn(name="encounters.project")
    async def project(self, inp: ProjectInput) -> None:
        await self._project([inp])

    @activity.defn(name="encounters.project_batch")
    async def project_batch(self, batch: ProjectBatch) -> None:
        """Several changes of one workflow task, in order, in one transaction."""
        await self._project(batch.items)

    async def _project(self, items: list[ProjectInput]) -> None:
        async with self._sessions.begin() as session:
            applied: list[tuple[bool, AuditEvent | None]] = []
            last: AuditEvent | None = None  # the batch's previous event: its hash and facts are not read back
            for inp in items:
                applied.append(await self._apply(session, inp, last))
                last = applied[-1][1] or last
            # Last: the ledger entries take the tenant's ledger lock, held until the commit.
            appends = [
                LedgerAppend(sealed.encounter_id, inp.seq, sealed.hash, inp.occurred_at)
                for inp, (_, sealed) in zip(items, applied, strict=True)
                if sealed is not None
            ]
            if appends:
                await append_ledger_entries(session, items[0].tenant_id, appends, self._keys)
        queued = [q for q, _ in applied]
        for inp, queue in zip(items, queued, strict=True):
            await self._dispatch(inp, queued=queue)
            log.info("encounter.projected", encounter_id=inp.encounter_id, seq=inp.seq, action=inp.action)

    async def _apply(self, session: AsyncSession, inp: ProjectInput, last: AuditEvent | None) -> tuple[bool, AuditEvent | None]:
        """Writes one change and seals its event (None: applied before); answers whether it
        queued an outbound message. `last`: the event this transaction sealed before, if any."""
        encounter_id = uuid.UUID(inp.encounter_id)
        row = await session.get_one(Encounter, encounter_id, with_for_update=True)
        if row.version >= inp.seq:
            # A retried attempt still hands on its events: its first may have committed
            # and then failed before dispatching.
            return True, None
        holds_before = list(row.holds)
        prev_hash = GENESIS
        follows = last if last is not None and last.encounter_id == encounter_id and last.seq == inp.seq - 1 else None
        if follows is not None:
            prev_hash = follows.hash
        elif inp.seq > 1:
            prev_hash = await audit_events.event_hash(session, encounter_id, inp.seq - 1) or GENESIS
        await _sync_holds(session, inp, row.holds)
        if inp.query is not None:
            await _upsert_query(session, inp, inp.query)
        for record in inp.records:  # an input recorded before the events existed
            await projection_events.apply_legacy_record(session, inp.tenant_id, record)
        for event in inp.events:
            await projection_events.apply_event(session, inp.tenant_id, event)
        for key, value in inp.row.items():
            setattr(row, key, datetime.fromisoformat(value) if key in _ROW_DATETIMES and value else value)
        row.lease_token = uuid.UUID(inp.row["lease_token"]) if inp.row.get("lease_token") else None
        row.version = inp.seq
        projection_rows.stamp(row)
        queued = await outbound_events.record_projection(session, inp, holds_before)
        sealed = await seal_event(
            session, tenant_id=inp.tenant_id, encounter_id=encounter_id, common=_event_fields(inp), prev_hash=prev_hash,
            keys=self._keys, ledger=False, follows=follows,
        )  # fmt: skip
        return queued, sealed

    async def _dispatch(self, inp: ProjectInput, *, queued: bool) -> None:
        """Hand on the outbox only when this change queued a message (or may have): a tenant
        without webhook endpoints costs no dispatch transaction per projection."""
        queue = self._workflow_queue or activity.info().task_queue
        client = lambda: self._client  # noqa: E731
        if queued:
            await outbound_events.dispatch_encounter(self._sessions, client, queue, uuid.UUID(inp.encounter_id))
        await ehr_writeback.start_for_projection(self._sessions, client, queue, inp)


def _event_fields(inp: ProjectInput) -> dict[str, Any]:
    return {
        "seq": inp.seq,
        "actor": inp.actor.user_id,
        "role": inp.actor.role,
        "vendor": inp.actor.vendor_id,
        "action": inp.action,
        "before": inp.before,
        "after": inp.after,
        "reason": inp.reason,
        "occurred_at": inp.occurred_at,
    }


async def _sync_holds(session: AsyncSession, inp: ProjectInput, previous: list[Any]) -> None:
    """New open holds are inserted; holds that were open and are gone now were released."""
    current = {h["id"]: h for h in inp.row.get("holds", [])}
    for hold in current.values():
        await projection_rows.add_hold(
            session,
            {
                "id": uuid.UUID(hold["id"]),
                "tenant_id": inp.tenant_id,
                "encounter_id": uuid.UUID(inp.encounter_id),
                "reason": hold["reason"],
                "placed_at": datetime.fromisoformat(hold["placed_at"]),
                "placed_by": hold["placed_by"],
                "query_id": uuid.UUID(hold["query_id"]) if hold.get("query_id") else None,
            },
        )
    released = [uuid.UUID(h["id"]) for h in previous if h["id"] not in current]
    if released:
        await projection_rows.release_holds(session, released, inp.occurred_at, inp.actor.user_id)


async def _upsert_query(session: AsyncSession, inp: ProjectInput, event: QueryEvent) -> None:
    values: dict[str, Any] = {
        key: datetime.fromisoformat(value) if key in _QUERY_DATETIMES and value else value
        for key, value in event.fields.items()
    }
    if values.get("addendum_document_id"):
        values["addendum_document_id"] = uuid.UUID(values["addendum_document_id"])
    values["status"] = event.status
    query_id = uuid.UUID(event.query_id)
    if await session.get(QueryRow, query_id) is None:
        session.add(QueryRow(id=query_id, tenant_id=inp.tenant_id, encounter_id=uuid.UUID(inp.encounter_id), **values))
        await session.flush()
    else:
        await projection_rows.update_query(session, query_id, values)
