"""Pull 277CAs and 835s from the clearinghouse and apply each to the tenant whose claims it holds.

Each poll runs as the activity of a scheduled ``ClearinghousePoll`` workflow
(``workflows.clearinghouse_poll``). Why a poller: the clearinghouse protocol is a mailbox
(``GET /v1/responses?since=``), so nobody
pushes these files to ``/v1/acknowledgments`` or ``/v1/remittances`` unless we fetch them.

Routing: our CLM01 control numbers are unique across tenants, so the claims inside a file name
its tenant. A file whose claims all belong to one tenant is applied verbatim (the normal case:
an 835 transaction pays one payee, and the sandbox answers each submission separately). A file
whose claims span tenants is split: each tenant gets a file re-written with only its own claims
(provider-level PLB adjustments go with the tenant holding most claims of that payment), so no
tenant ever stores another tenant's claims. A file matching no tenant, or that does not parse,
is kept in ``clearinghouse_files`` with its body for operations to handle; it never blocks the
files after it. 999s and TA1s answer the batches we sent (``services.claim_acks``): accepted
sets are noted on their claims, rejected sets and interchanges send their claims to rework.

Idempotency: the cursor is the last file recorded, and applying goes through
``services.billing_intake``, which answers the same bytes for the same tenant once.

Never stuck: whatever goes wrong with one file (unreadable, a bug, a claim whose encounter
cannot take it) is recorded on that file (or in the remittance-exceptions queue, claim by claim)
and the cursor moves on. Each poll writes a heartbeat (``clearinghouse_poller_status``) that
``/readyz`` reads to report the poller degraded, and Prometheus counters for ``/metrics``. Open
remittance exceptions are retried after each poll, so a payment waiting for its claim to reach a
state that can take it is applied without anyone asking.
"""

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from prometheus_client import Counter, Gauge
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from clearchart.settings import Settings
from integrations.billing.client import HttpClearinghouse, InboundFile
from integrations.billing.errors import (
    ClearinghouseRejected,
    ClearinghouseUnavailable,
    X12BuildError,
    X12ParseError,
)
from integrations.billing.remittance import Remittance
from integrations.billing.schemas import Interchange
from integrations.billing.segments import Segment, tokenize
from integrations.billing.x277ca import ClaimAck
from integrations.billing.x277ca_writer import build_277ca
from integrations.billing.x835_writer import build_835
from models.errors import DomainError
from models.repositories import operations
from models.repositories import remittance as remittance_repo
from services.billing_intake import (
    LOOKUP_BATCH,
    Intake,
    ingest_277ca,
    ingest_835,
    read_277ca,
    read_835,
)
from services.claim_acks import apply_999, apply_ta1
from services.remittance_exceptions import retry_open

log = structlog.get_logger(__name__)

# Files kept for a person: unreadable, matching no tenant, or failing in a way nobody foresaw.
DEAD_LETTER_STATUSES = ("refused", "unrouted", "failed")
FILES = Counter("clearchart_clearinghouse_files_total", "Inbound clearinghouse files handled, by kind and status", ["kind", "status"])
POLL_FAILURES = Counter("clearchart_clearinghouse_poll_failures_total", "Polls that failed (clearinghouse or database unreachable, bugs)")
OPEN_EXCEPTIONS = Gauge("clearchart_remittance_exceptions_open", "Remittance exceptions waiting, all tenants")
POLL_LAST_SUCCESS = Gauge("clearchart_clearinghouse_last_success_timestamp_seconds", "Unix time of the last successful poll")

# An arbitrary, fixed key: the advisory lock every poller process takes before polling.
POLLER_LOCK = 0x434C4348


async def poll_once(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], temporal: Client, http: httpx.AsyncClient
) -> list[dict[str, Any]]:
    """Fetch every file after the cursor and handle each in order; returns one summary per file.

    Only one poller works at a time (a PostgreSQL advisory lock); another simply skips its turn.
    """
    async with sessions() as lock_session:
        if not await operations.try_lock(lock_session, POLLER_LOCK):
            return []
        try:
            handled = await _poll(settings, sessions, temporal, http)
            POLL_LAST_SUCCESS.set_to_current_time()
            applied = await retry_open(sessions, temporal, settings.task_queue)
            if applied:
                log.info("poller.exceptions_applied", count=applied)
            async with sessions() as session:
                OPEN_EXCEPTIONS.set(await operations.open_exceptions(session))
            return handled
        finally:
            await operations.unlock(lock_session, POLLER_LOCK)


async def _poll(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], temporal: Client, http: httpx.AsyncClient
) -> list[dict[str, Any]]:
    source = settings.clearinghouse
    clearinghouse = HttpClearinghouse(http, source, settings.clearinghouse_api_key)
    async with sessions() as session:
        since = await operations.last_file_id(session, source)
    handled = []
    for file in await clearinghouse.fetch_responses(since):
        async with sessions() as session:
            seen = await operations.file_seen(session, source, file.id)
        if not seen:
            handled.append(await handle_file(sessions, temporal, source, file, settings.task_queue))
    return handled


async def handle_file(
    sessions: async_sessionmaker[AsyncSession], temporal: Client, source: str, file: InboundFile, task_queue: str | None = None
) -> dict[str, Any]:
    """Route one inbound file to its tenant(s), apply it, and record it (which moves the cursor)."""
    summary: dict[str, Any] = {"file_id": file.id, "kind": file.kind, "tenants": [], "results": {}}
    keep_body = True
    detail: str | None = None
    try:
        if file.kind in ("999", "TA1"):
            status, detail, keep_body = await _acknowledgment(sessions, temporal, file, summary)
        else:
            status, detail = await _route(sessions, temporal, file, summary, task_queue)
            keep_body = status in ("unrouted", "refused")
    except DomainError as exc:
        status, detail = "refused", exc.detail
    except X12BuildError as exc:  # a split could not be re-written; keep the file for a person
        status, detail = "refused", f"could not split the file per tenant: {exc}"
    except (ClearinghouseUnavailable, ClearinghouseRejected, OSError):
        raise  # the whole poll is retried; the file is not recorded, so it comes again
    except Exception as exc:  # a bug must not pin the cursor on this file: keep it for a person
        log.exception("poller.file_failed", file_id=file.id)
        status, detail = "failed", f"{type(exc).__name__}: {exc}"[:2000]
    summary.update(status=status, detail=detail)
    async with sessions.begin() as session:
        row = {"source": source, "file_id": file.id, "kind": file.kind, "status": status, "tenants": summary["tenants"],
               "detail": detail, "body": file.content if keep_body else None}
        await operations.record_file(session, row)
    FILES.labels(kind=file.kind, status=status).inc()
    if status in DEAD_LETTER_STATUSES:
        async with sessions.begin() as session:
            await operations.count_failed_file(session, source)
    log.info("poller.file", file_id=file.id, kind=file.kind, status=status, tenants=summary["tenants"], detail=detail)
    return summary


async def _acknowledgment(
    sessions: async_sessionmaker[AsyncSession], temporal: Client, file: InboundFile, summary: dict[str, Any]
) -> tuple[str, str | None, bool]:
    """A 999 or TA1 for batches we sent: accepted sets are noted, rejected ones go to rework."""
    try:
        applied = await (apply_999 if file.kind == "999" else apply_ta1)(sessions, temporal, file.content, file.id)
    except X12ParseError as exc:
        return "refused", f"not a readable {file.kind}: {exc.detail}", True
    summary["tenants"] = applied["tenants"]
    summary["results"] = {"claims": applied["claims"]}
    if not applied["tenants"]:
        return "unrouted", f"no batch of ours has control number {', '.join(applied['unmatched_groups'][:5])}", True
    rejected = sum(1 for c in applied["claims"] if not c["accepted"])
    return "applied", f"{len(applied['claims']) - rejected} claim(s) accepted, {rejected} sent back to rework", False


async def heartbeat(sessions: async_sessionmaker[AsyncSession], source: str, error: str | None) -> None:
    """Record this poll's result for ``/readyz``; a database outage only skips the heartbeat."""
    now = datetime.now(UTC)
    if error:
        POLL_FAILURES.inc()
    values: dict[str, Any] = {"last_attempt_at": now}
    if error is None:
        values.update(last_success_at=now, consecutive_failures=0, last_error=None)
    else:
        values.update(consecutive_failures=1, last_error=error[:2000])
    try:
        async with sessions.begin() as session:
            await operations.heartbeat(session, source, values, failed=error is not None)
    except Exception:  # the database is down: the next heartbeat tells the story
        log.warning("poller.heartbeat_failed")


async def _route(
    sessions: async_sessionmaker[AsyncSession], temporal: Client, file: InboundFile, summary: dict[str, Any], task_queue: str | None
) -> tuple[str, str | None]:
    acks: list[ClaimAck] = []
    remittances: list[Remittance] = []
    if file.kind == "277CA":
        acks = read_277ca(file.content)
        numbers = [a.claim_control_number for a in acks]
    else:
        remittances = read_835(file.content)
        numbers = [cp.claim_control_number for r in remittances for cp in r.claims]
    owners: dict[str, str] = {}
    unique = sorted(set(numbers))
    async with sessions() as session:
        for start in range(0, len(unique), LOOKUP_BATCH):
            batch = unique[start : start + LOOKUP_BATCH]
            owners.update(await remittance_repo.claim_owners(session, batch))
    tenants = sorted(set(owners.values()))
    summary["tenants"] = tenants
    if not tenants:
        return "unrouted", f"no tenant has a claim among {', '.join(numbers[:5]) or 'no claims'}"
    if len(tenants) == 1:
        parts = {tenants[0]: [file.content]}
    elif file.kind == "277CA":
        parts = split_277ca(file.content, acks, owners)
    else:
        parts = split_835(file.content, remittances, owners)
    for tenant, texts in parts.items():
        summary["results"][tenant] = [(await _ingest(sessions, temporal, file.kind, tenant, text, task_queue)).result for text in texts]
    strays = sorted(set(numbers) - set(owners))
    detail = f"claims no tenant has were left out: {', '.join(strays[:5])}" if strays and len(tenants) > 1 else None
    return ("applied" if len(tenants) == 1 else "split"), detail


async def _ingest(
    sessions: async_sessionmaker[AsyncSession], temporal: Client, kind: str, tenant: str, text: str, task_queue: str | None
) -> Intake:
    async with sessions() as session:
        if kind == "277CA":
            return await ingest_277ca(session, temporal, tenant, text, task_queue)
        return await ingest_835(session, temporal, tenant, text, task_queue)


def _envelope(segments: list[Segment]) -> Interchange:
    """The original ISA sender, receiver, control number and time, so a split is deterministic
    (the same file split again yields the same bytes, which the intake then recognizes)."""
    isa = segments[0]
    try:
        created = datetime.strptime(isa.get(9) + isa.get(10), "%y%m%d%H%M").replace(tzinfo=UTC)
    except ValueError:
        created = datetime(2000, 1, 1, tzinfo=UTC)
    number = isa.get(13).strip()
    return Interchange(isa.get(6).strip() or "PAYER", isa.get(8).strip() or "CLEARCHART", int(number) if number.isdigit() else 1, created)


def split_277ca(content: str, acks: list[ClaimAck], owners: dict[str, str]) -> dict[str, list[str]]:
    """One 277CA per tenant holding only that tenant's claims (payer, provider, batch kept)."""
    segments = tokenize(content)

    def nm1(qualifier: str) -> Segment | None:
        return next((s for s in segments if s.id == "NM1" and s.get(1) == qualifier), None)

    payer, provider = nm1("PR"), nm1("85")
    bht = next((s for s in segments if s.id == "BHT"), None)
    out: dict[str, list[str]] = {}
    for tenant in sorted(set(owners.values())):
        mine = [a for a in acks if owners.get(a.claim_control_number) == tenant]
        out[tenant] = [build_277ca(
            mine, _envelope(segments),
            payer_name=(payer.get(3) if payer else "") or "PAYER", payer_id=(payer.get(9) if payer else "") or "PAYER",
            provider_name=(provider.get(3) if provider else "") or "PROVIDER",
            provider_npi=(provider.get(9) if provider else "") or "0000000000",
            batch_reference=(bht.get(3) if bht else "") or "SPLIT",
        )]  # fmt: skip
    return out


def split_835(content: str, remittances: list[Remittance], owners: dict[str, str]) -> dict[str, list[str]]:
    """Per tenant, one 835 per payment that settles its claims; totals re-balanced per part."""
    envelope = _envelope(tokenize(content))
    out: dict[str, list[str]] = {}
    for n, remittance in enumerate(remittances):
        by_tenant: dict[str, list[Any]] = {}
        for cp in remittance.claims:
            if cp.claim_control_number in owners:
                by_tenant.setdefault(owners[cp.claim_control_number], []).append(cp)
        if not by_tenant:
            continue
        lead = max(by_tenant, key=lambda t: len(by_tenant[t]))
        for tenant, claims in by_tenant.items():
            plb = remittance.provider_adjustments if tenant == lead else []
            total = sum(c.paid_cents for c in claims) - sum(p.amount_cents for p in plb)
            part = replace(remittance, claims=claims, provider_adjustments=plb, total_paid_cents=total)
            number = (envelope.control_number * 100 + n) % 1_000_000_000 or 1
            out.setdefault(tenant, []).append(build_835(part, replace(envelope, control_number=number)))
    return out
