"""The appeal packet: what a payer reviewer needs to see why the claim was coded as it was."""

from pathlib import Path
from typing import Any

from fpdf import FPDF
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from models.access import Principal
from models.claims.tables import AppealRow, ClaimRow, DenialRow
from models.encounters.tables import Encounter
from models.repositories import packets
from models.repositories.queries import QueryRepository

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"])
)


async def build_packet(session: AsyncSession, who: Principal, appeal: AppealRow) -> dict[str, Any]:
    repo = QueryRepository(session, who)
    encounter = await session.get_one(Encounter, appeal.encounter_id)
    denial = await session.get_one(DenialRow, appeal.denial_id)
    claim = await session.get_one(ClaimRow, denial.claim_id)
    documents = await packets.documents(session, encounter.id)
    queries = await packets.queries(session, encounter.id)
    codes = encounter.codes or {"diagnoses": [], "procedures": []}
    hashes = {ev["excerpt_sha256"] for kind in ("diagnoses", "procedures") for c in codes.get(kind, []) for ev in c.get("evidence", [])}
    hashes |= {appeal.reason_sha256} | {q.question_sha256 for q in queries} | {q.free_text_sha256 for q in queries if q.free_text_sha256}
    texts = await repo.texts(hashes)
    docs = {str(d.id): d for d in documents}

    def supported(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {"code": c["code"], "modifiers": c.get("modifiers", []), "units": c.get("units"),
             "evidence": [{"document": docs[e["document_id"]].type_display if e["document_id"] in docs else e["document_id"],
                           "excerpt": texts.get(e["excerpt_sha256"], "")} for e in c.get("evidence", [])]}
            for c in items
        ]  # fmt: skip

    return {
        "appeal": {"id": str(appeal.id), "level": appeal.level, "reason": texts.get(appeal.reason_sha256, ""),
                   "deadline": appeal.deadline.isoformat(), "filed_by": appeal.filed_by, "filed_at": appeal.filed_at.isoformat()},
        "claim": {"control_number": claim.control_number, "payer": claim.payer_name or claim.payer_id,
                  "total_charge_cents": claim.total_charge_cents, "date_of_service": str(encounter.date_of_service or "")},
        "denial": {"group": denial.group_code, "carc": denial.carc, "rarcs": list(denial.rarcs), "category": denial.category,
                   "amount_cents": denial.amount_cents, "notice_date": denial.notice_date.isoformat()},
        "diagnoses": supported(codes.get("diagnoses", [])),
        "procedures": supported(codes.get("procedures", [])),
        "documents": [{"type": d.type_display or d.type_code, "version": d.version, "sha256": d.sha256,
                       "received_at": d.received_at.isoformat()} for d in documents],
        "queries": [{"question": texts.get(q.question_sha256, ""), "status": q.status,
                     "answer": texts.get(q.free_text_sha256, "") if q.free_text_sha256 else None,
                     "answered_at": q.answered_at.isoformat() if q.answered_at else None} for q in queries],
    }  # fmt: skip


def render_html(packet: dict[str, Any]) -> str:
    return TEMPLATES.get_template("appeal_packet.html").render(p=packet)


def _latin1(text: Any) -> str:
    """The PDF core fonts are Latin-1; anything else is replaced rather than failing the packet."""
    return str(text).encode("latin-1", "replace").decode("latin-1")


def render_pdf(packet: dict[str, Any]) -> bytes:
    pdf = FPDF()
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 10, _latin1(f"Appeal packet - claim {packet['claim']['control_number']}"), new_x="LMARGIN", new_y="NEXT")

    def section(title: str, lines: list[str]) -> None:
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(0, 8, _latin1(title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 9)
        for line in lines or ["(none)"]:
            pdf.multi_cell(0, 5, _latin1(line), new_x="LMARGIN", new_y="NEXT")

    a, c, d = packet["appeal"], packet["claim"], packet["denial"]
    section("Appeal", [f"Level: {a['level']}  Deadline: {a['deadline']}  Filed by {a['filed_by']} at {a['filed_at']}", f"Reason: {a['reason']}"])
    section("Claim", [f"Payer: {c['payer']}  Date of service: {c['date_of_service']}  Charges: ${c['total_charge_cents'] / 100:.2f}"])
    section("Denial", [f"{d['group']}-{d['carc']} {' '.join(d['rarcs'])} ({d['category']}), ${d['amount_cents'] / 100:.2f}, notice {d['notice_date']}"])
    for title, key in (("Diagnoses and their support", "diagnoses"), ("Procedures and their support", "procedures")):
        section(title, [f"{x['code']} {' '.join(x['modifiers'] or [])}: " + "; ".join(f"\"{e['excerpt']}\" ({e['document']})" for e in x["evidence"]) for x in packet[key]])
    section("Documents reviewed", [f"{doc['type']} v{doc['version']} received {doc['received_at']} sha256 {doc['sha256']}" for doc in packet["documents"]])
    section("Physician queries", [f"Q: {q['question']} -> {q['answer'] or q['status']}" for q in packet["queries"]])
    return bytes(pdf.output())
