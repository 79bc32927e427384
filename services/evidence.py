"""Evidence for one encounter (the packet, printable HTML, PDF) and verification of the audit
chain; the API routes and the web pages both call these."""

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from models.access import Principal
from models.encounters.tables import Encounter, QueryRow
from models.errors import InvalidRequest, NotVisible
from models.evidence.chain import Keyring
from models.evidence.packet import (
    ChainFact,
    DocumentFact,
    EncounterFact,
    EventFact,
    FindingFact,
    HoldFact,
    IndicatorFact,
    QueryFact,
    build_packet,
)
from models.repositories.encounters import EncounterRepository
from models.repositories.evidence_chain import (
    ClaimHistorySource,
    EvidenceRepository,
    VerifyResult,
    verify_events,
)
from models.repositories.queries import QueryRepository
from services.chain_report import verify_json
from services.encounters import load, refuse_if_blind

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parents[1] / "api" / "templates"),
    autoescape=select_autoescape(["html"]),
)

# How the caller shows a query (the API's query view): the packet quotes the same fields.
QueryViews = Callable[[QueryRepository, list[QueryRow], datetime], Awaitable[Sequence[Any]]]


def chain_report(result: VerifyResult, scope: str) -> dict[str, Any]:
    return {"scope": scope, **verify_json(result), "head": result.head}


async def snapshot(session: AsyncSession) -> None:
    """Read everything from one snapshot, so the chain head, the events and the rows they explain
    agree even while the workflow appends (when the caller already began a transaction, its own)."""
    if not session.in_transaction():
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


async def _packet(
    repo: EncounterRepository, e: Encounter, who: Principal, keys: Keyring, views: QueryViews,
    claim_history: ClaimHistorySource | None, reason: str | None,
) -> dict[str, Any]:  # fmt: skip
    """Gather the chart's rows as plain facts; models.evidence.packet decides what the packet says."""
    session = repo.session
    rows = EvidenceRepository(session, who.tenant_id)
    now = datetime.now(UTC)
    codes = e.codes or {}
    hashes = {ev["excerpt_sha256"] for kind in ("diagnoses", "procedures") for c in codes.get(kind, []) for ev in c.get("evidence", [])}
    queries = []
    stored = list(await rows.queries(e.id))
    found = await views(QueryRepository(session, who), stored, now)
    for q, view in zip(stored, found, strict=True):
        queries.append(
            QueryFact(
                id=view.id, status=view.status, form=view.form, question=view.question,
                indicators=[IndicatorFact(i.document_id, i.excerpt) for i in view.indicators],
                asked_by=view.asked_by, opened_at=view.opened_at, physician_npi=view.physician_npi,
                physician_user=view.physician_user, options=list(view.options), answered_at=view.answered_at,
                answered_by=view.answered_by, answer_option=view.answer_option, answer_text=view.answer_text,
                addendum_document_id=view.addendum_document_id, escalated_at=view.escalated_at,
                expired_at=view.expired_at, withdrawn_at=view.withdrawn_at, withdrawn_by=q.withdrawn_by,
            )
        )
    claims = await claim_history(session, who.tenant_id, e.id) if claim_history else None
    result = await verify_events(session, who.tenant_id, e.id, keys)
    documents = await repo.documents(e.id)
    return build_packet(
        encounter=EncounterFact(
            id=str(e.id), external_id=e.external_id, status=e.status, received_at=e.received_at,
            encounter_class=e.encounter_class, specialty=e.specialty, payer=e.payer_name or e.payer_id,
            rendering_npi=e.practitioner_npi, date_of_service=e.date_of_service, coded_at=e.coded_at,
        ),
        documents=[
            DocumentFact(str(d.id), d.external_id, d.version, d.sha256, d.received_at, d.type_code, d.type_display)
            for d in documents
        ],
        document_texts={str(d.id): d.text for d in documents},
        codes=codes,
        texts=await rows.texts(hashes),
        queries=queries,
        holds=[
            HoldFact(str(h.id), h.reason, h.placed_at, h.placed_by, h.released_at, h.released_by, str(h.query_id) if h.query_id else None)
            for h in await rows.holds(e.id)
        ],
        events=[
            EventFact(ev.seq, ev.occurred_at, ev.action, ev.actor, ev.role, ev.hash, ev.vendor, ev.reason, ev.before, ev.after)
            for ev in await repo.timeline(e.id)
        ],
        chain=ChainFact(result.verified, result.events_checked, result.head, chain_report(result, "chart")["first_break"]),
        now=now,
        claims=claims,
        access_reason=reason,
        findings=[
            FindingFact(
                str(f.id), str(a.id), a.name, f.auditor_id, f.coder_id, f.kind, f.code_type, f.coder_code, f.auditor_code,
                f.category, f.severity, f"{f.reference_kind}: {f.reference_citation}", f.rationale, f.state, f.outcome,
                f.opened_at, f.resolved_at, list(f.events or []),
            )
            for f, a in await rows.findings(e.id)
        ],
        qa_events=[
            EventFact(ev.seq, ev.occurred_at, ev.action, ev.actor, ev.role, ev.hash, ev.vendor, ev.reason, ev.before, ev.after)
            for ev in await rows.qa_events(e.id)
        ],
    )


async def packet(
    session: AsyncSession, who: Principal, keys: Keyring, encounter_id: uuid.UUID, *,
    views: QueryViews, claim_history: ClaimHistorySource | None, reason: str | None,
) -> dict[str, Any]:  # fmt: skip
    """Why this claim was coded this way: documents seen (hashes, never note text), codes with the
    excerpts that support them, queries, holds, claim history, actors, and the verified chain head."""
    await snapshot(session)
    await refuse_if_blind(session, who, encounter_id)
    repo = EncounterRepository(session, who)
    e = await load(repo, encounter_id)
    return await _packet(repo, e, who, keys, views, claim_history, reason)


async def verify_trail(
    session: AsyncSession, who: Principal, keys: Keyring, encounter_id: uuid.UUID | None, scope: Literal["chart", "tenant", "all"] | None
) -> dict[str, Any]:
    """Recompute the hash chains in scope and name the earliest event that no longer matches."""
    scope = scope or ("chart" if encounter_id else "tenant")
    if scope == "all":
        raise InvalidRequest(
            "verifying every tenant is not offered over the API (a token only reaches its own tenant); "
            "an operator runs 'clearchart audit verify' on a host with database access"
        )
    if scope == "chart" and encounter_id is None:
        raise InvalidRequest("scope=chart needs encounter_id")
    if scope == "tenant" and encounter_id is not None:
        raise InvalidRequest("encounter_id narrows the check to one chart; use scope=chart or drop encounter_id")
    await snapshot(session)
    if encounter_id is not None:
        await load(EncounterRepository(session, who), encounter_id)
    result = await verify_events(session, who.tenant_id, encounter_id, keys)
    if encounter_id is not None and result.events_checked == 0 and result.verified:
        raise NotVisible(f"encounter {encounter_id} has no audit events")
    return {**chain_report(result, scope), "checked_at": datetime.now(UTC).isoformat()}


# ---- HTML and PDF ----------------------------------------------------------------------


def render_html(p: dict[str, Any]) -> str:
    return _templates.get_template("evidence.html").render(p=p)


_ASCII = str.maketrans({"—": "-", "–": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...", "•": "*", "\u00a0": " "})


def latin1(text: object) -> str:
    """Core PDF fonts speak latin-1 only: map common punctuation, replace anything else by '?'."""
    return str(text).translate(_ASCII).encode("latin-1", "replace").decode("latin-1")


def _pdf_sections(p: dict[str, Any]) -> list[tuple[str, list[str]]]:
    e, a, chain, ch = p["encounter"], p["actors"], p["chain"], p["claim_history"]
    codes = [
        f"{kind[:-1]} {c['position']}: {c['code']}" + "".join(
            f"\n    {s['document_external_id'] or s['document_id']} v{s['document_version']} [{s['start']}-{s['end']}]"
            f"{'' if s['quote_verified'] else ' NOT VERIFIED'}: \"{s['excerpt'] or '(excerpt unavailable)'}\""
            f"\n      document sha256 {s['document_sha256']}"
            for s in c["support"]
        )
        for kind in ("diagnoses", "procedures") for c in p["codes"][kind]
    ]
    queries = [
        f"{q['form']} query to {q['physician_user'] or q['physician_npi']} ({q['status']}), opened {q['opened_at']}: {q['question']}"
        + "".join(f"\n    indicator [{i['document_id']}]: \"{i['excerpt']}\"" for i in q["indicators"])
        + (f"\n    answer by {q['answered_by']} at {q['answered_at']}: {q['answer_option'] or ''} {q['answer_text'] or ''}" if q["answered_by"] else "")
        for q in p["queries"]
    ]
    people = [f"{k.replace('_', ' ')}: {v['user']}" for k, v in a.items() if isinstance(v, dict) and v]
    people += [f"auditor: {x['user']} ({', '.join(x['actions'])})" for x in a["auditors"]]
    people += [f"physician: {x['user']} (NPI {x['npi']}) answered {x['answered_at']}" for x in a["physicians"]]
    claim_lines = [ch["note"]] if not ch["activity"] else [
        *(f"scrub {s['rule']} ({s['severity']}): {s['message']} -> {s['resolution'] or 'unresolved'}" for s in ch["scrubs"]),
        *(f"claim {c['control_number']}: {c['status']} submitted {c['submitted_at']} by {c['submitted_by']}" for c in ch["claims"]),
        *(f"denial {d['group_code']}-{d['carc']} ({d['category']}) {d['notice_date']}" for d in ch["denials"]),
        *(f"appeal {x['level']} filed {x['filed_at']}: {x['decision'] or x['status'] or 'open'}" for x in ch["appeals"]),
    ]
    return [
        ("Encounter", [f"{e['external_id']} ({e['id']}), status {e['status']}, received {e['received_at']}, DOS {e['date_of_service']}"]),
        ("Documents seen", [f"{d['external_id']} v{d['version']} {d['type_display'] or d['type_code'] or ''} received {d['received_at']}\n    sha256 {d['sha256']}" for d in p["documents"]] or ["none"]),
        ("Final codes and supporting excerpts", codes or ["not coded yet"]),
        ("Queries", queries or ["none"]),
        ("Holds", [f"{h['reason']} by {h['placed_by']} at {h['placed_at']}, {'open' if h['open'] else 'released by ' + str(h['released_by'])}, {h['duration_seconds'] // 3600} h" for h in p["holds"]] or ["none"]),
        ("Claim, denial and appeal history", claim_lines),
        ("Actors", people or ["none yet"]),
        ("QA findings", [
            f"{f['category']} ({f['severity']}) by {f['auditor']}: {f['coder_code'] or '-'} -> {f['auditor_code'] or '-'}, "
            f"{f['state']}{' / ' + f['outcome'] if f['outcome'] else ''}\n    {f['reference']}: {f['rationale']}"
            for f in p["qa"]["findings"]
        ] or ["none"]),
        ("QA trail", [f"{ev['seq']}. {ev['at']} {ev['action']} by {ev['actor']} ({ev['role']})" for ev in p["qa"]["events"]] or ["none"]),
        ("Audit trail", [f"{ev['seq']}. {ev['at']} {ev['action']} by {ev['actor']} ({ev['role']}){' - ' + ev['reason'] if ev['reason'] else ''}" for ev in p["events"]]),
        ("Hash chain", [f"{chain['events_checked']} events, verify {'PASSES' if chain['verified'] else 'FAILS'}", f"head {chain['head'] or '-'}"]
         + ([f"first broken event: seq {chain['first_break']['seq']} ({chain['first_break']['problem']})"] if chain["first_break"] else [])),
    ]


def render_pdf(p: dict[str, Any]) -> bytes:
    from fpdf import FPDF  # imported on use: only PDF requests pay for it

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.multi_cell(0, 8, latin1(f"Evidence packet - encounter {p['encounter']['external_id']}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=8)
    pdf.multi_cell(0, 5, latin1(f"Generated {p['generated_at']}; access reason: {p.get('access_reason') or 'not given'}"), new_x="LMARGIN", new_y="NEXT")
    for title, lines in _pdf_sections(p):
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", 11)
        pdf.multi_cell(0, 7, latin1(title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=9)
        for line in lines:
            pdf.multi_cell(0, 5, latin1(line), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
