"""The per-queue counters the encounters trigger keeps agree with a count of the charts, whatever
changes a chart goes through, and the queue statistics read them."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearchart import admin
from models.access import Principal
from models.repositories.encounters import QueueRepository

INSERT = text(
    """
    INSERT INTO encounters (id, tenant_id, external_id, workflow_id, status, queue_id, priority, worked_by, holds,
                            received_at, overdue, version, updated_at)
    VALUES (:id, :tenant, :ext, :wf, :status, :queue, :priority, '{}', '[]', :received, :overdue, 0, now())
    """
)
COUNTERS = text(
    "SELECT queue_id, status, overdue, sum(n)::int FROM queue_counts WHERE tenant_id = :tenant "
    "GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2, 3"
)
RECOUNT = text(
    "SELECT queue_id, status, overdue, count(*)::int FROM encounters WHERE tenant_id = :tenant AND queue_id IS NOT NULL "
    "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
)


async def _tenant(sessions: async_sessionmaker[AsyncSession]) -> str:
    tenant_id = f"t-{uuid.uuid4().hex[:10]}"
    await admin.create_tenant(sessions, tenant_id, "Counting clinic")
    await admin.create_vendor(sessions, tenant_id, "v1", "Vendor One")
    await admin.create_queue(sessions, tenant_id, "q1", "Queue One", ["v1"])
    await admin.create_queue(sessions, tenant_id, "er", "Emergency", ["v1"])
    return tenant_id


async def test_counters_follow_inserts_moves_status_changes_and_deletes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    tenant_id = await _tenant(sessions)
    now = datetime.now(UTC)
    ids = [uuid.uuid4() for _ in range(7)]
    placed = [("ready", "q1", False)] * 4 + [("in_coding", "er", False), ("on_hold", "er", True), ("ready", None, False)]
    async with sessions.begin() as session:
        for n, (eid, (status, queue, overdue)) in enumerate(zip(ids, placed, strict=True)):
            await session.execute(
                INSERT,
                {"id": eid, "tenant": tenant_id, "ext": f"{tenant_id}-{n}", "wf": f"encounter/{tenant_id}-{n}", "status": status, "queue": queue,
                 "received": now - timedelta(hours=n), "overdue": overdue, "priority": n % 3},
            )  # fmt: skip
    async with sessions.begin() as session:
        await session.execute(text("UPDATE encounters SET status = 'in_coding' WHERE id = :id"), {"id": ids[0]})
        await session.execute(text("UPDATE encounters SET queue_id = 'er' WHERE id = :id"), {"id": ids[1]})
        await session.execute(text("UPDATE encounters SET overdue = true WHERE id = :id"), {"id": ids[2]})
        await session.execute(text("UPDATE encounters SET queue_id = 'q1' WHERE id = :id"), {"id": ids[6]})
        await session.execute(text("UPDATE encounters SET version = 3 WHERE id = :id"), {"id": ids[3]})  # no count changes
        await session.execute(text("DELETE FROM encounters WHERE id = :id"), {"id": ids[5]})
    async with sessions() as session:
        counters = (await session.execute(COUNTERS, {"tenant": tenant_id})).all()
        recount = (await session.execute(RECOUNT, {"tenant": tenant_id})).all()
        assert counters == recount
        assert ("q1", "ready", True, 1) in counters
        assert ("er", "on_hold", True, 0) not in counters

        stats = {q["id"]: q for q in await QueueRepository(session, Principal(tenant_id, "ops-1", "ops")).stats(now)}
    # q1: ids 2 (overdue, priority 2), 3 and 6 (priority 0) ready; id 0 in coding. er: id 1 ready,
    # id 4 in coding. The oldest ready chart (id 6) is not the first of the claim order.
    assert (stats["q1"]["depth"], stats["q1"]["in_coding"], stats["q1"]["on_hold"], stats["q1"]["overdue"]) == (3, 1, 0, 1)
    assert (stats["er"]["depth"], stats["er"]["in_coding"], stats["er"]["on_hold"], stats["er"]["overdue"]) == (1, 1, 0, 0)
    oldest_q1 = stats["q1"]["oldest_received_at"]
    assert isinstance(oldest_q1, datetime)
    assert abs(oldest_q1 - (now - timedelta(hours=6))) < timedelta(seconds=1)


async def test_a_queue_with_no_charts_shows_zeros(sessions: async_sessionmaker[AsyncSession]) -> None:
    tenant_id = await _tenant(sessions)
    async with sessions() as session:
        stats = await QueueRepository(session, Principal(tenant_id, "ops-1", "ops")).stats(datetime.now(UTC))
    assert [(q["id"], q["depth"], q["in_coding"], q["oldest_received_at"]) for q in stats] == [
        ("er", 0, 0, None),
        ("q1", 0, 0, None),
    ]
