"""Submitting a chart's coding: every code checked against the code sets, the date of service
and its cited evidence before the workflow sees it; a refused submission changes nothing."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from integrations.codesets.catalog import default_catalog
from models.access import Principal
from models.coding.quotation import verify_quote
from models.coding.rules import (
    CodingIssue,
    CodingSubmission,
    DiagnosisCode,
    Evidence,
    ProcedureCode,
    normalize_icd10,
    validate_coding,
)
from models.errors import InvalidRequest
from models.repositories.encounters import EncounterRepository
from services import suggestions
from services.codesets import refresh_from
from services.encounters import actor, handle, load, store_text
from workflows.encounter import EncounterWorkflow
from workflows.types import SubmitCodingRequest


@dataclass(frozen=True)
class Cited:
    """An excerpt quoted from one of the chart's documents; `near` disambiguates repeated text."""

    document_id: str
    excerpt: str
    near: int | None = None


@dataclass(frozen=True)
class DiagnosisLine:
    code: str
    evidence: Sequence[Cited] = ()
    suggestion_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ProcedureLine:
    code: str
    modifiers: Sequence[str] = ()
    units: int = 1
    pointers: Sequence[int] = field(default_factory=list)
    evidence: Sequence[Cited] = ()


def refusal(issues: Sequence[CodingIssue], what: str) -> InvalidRequest:
    """Every problem with a coding, each with its path and rule: nothing was stored."""
    return InvalidRequest(
        f"{len(issues)} problem(s) with {what}: " + "; ".join(f"{i.path}: {i.message}" for i in issues),
        errors=[{"path": i.path, "code": i.code, "rule": i.rule, "message": i.message} for i in issues],
    )


def check_recoding(diagnoses: Sequence[str], procedures: Sequence[ProcedureLine], service_date: date) -> None:
    """An auditor's re-coding meets the same code-set rules as the coder's (evidence and pointers aside)."""
    submission = CodingSubmission(
        [DiagnosisCode(normalize_icd10(code)) for code in diagnoses],
        [ProcedureCode(p.code.upper(), list(p.modifiers), p.units, [1]) for p in procedures],
    )
    issues = [
        i
        for i in validate_coding(submission, date_of_service=service_date, catalog=default_catalog(), document_ids=set(), require_evidence=False)
        if not i.rule.startswith(("pointer.", "evidence."))
    ]
    if issues:
        raise refusal(issues, "the re-coding")


async def submit_coding(
    session: AsyncSession,
    temporal: Client,
    who: Principal,
    encounter_id: uuid.UUID,
    diagnoses: Sequence[DiagnosisLine],
    procedures: Sequence[ProcedureLine],
) -> uuid.UUID:
    """Returns the chart's id once the workflow recorded the coding (cited suggestions accepted)."""
    repo = EncounterRepository(session, who)
    e = await load(repo, encounter_id)
    texts = {str(d.id): d.text for d in await repo.documents(e.id)}
    misquoted: list[CodingIssue] = []

    async def evidence(items: Sequence[Cited], path: str, code: str) -> list[Evidence]:
        cited = []
        for k, ev in enumerate(items):
            span, issue = verify_quote(ev.document_id, ev.excerpt, texts, path=f"{path}.evidence[{k}]", code=code, near=ev.near)
            misquoted.extend([issue] if issue else [])
            digest = await store_text(repo, ev.excerpt)
            cited.append(Evidence(ev.document_id, digest, span.start, span.end) if span else Evidence(ev.document_id, digest))
        return cited

    cited = [(i, d.code, str(d.suggestion_id)) for i, d in enumerate(diagnoses) if d.suggestion_id]
    if problems := await suggestions.check_cited(session, e.id, cited):
        raise InvalidRequest("; ".join(f"diagnoses[{i}].suggestion_id: {m}" for i, m in problems))
    submission = CodingSubmission(
        diagnoses=[
            DiagnosisCode(
                normalize_icd10(d.code), await evidence(d.evidence, f"diagnoses[{i}]", normalize_icd10(d.code)),
                str(d.suggestion_id or ""),
            )
            for i, d in enumerate(diagnoses)
        ],
        procedures=[
            ProcedureCode(
                p.code.upper(), list(p.modifiers), p.units, list(p.pointers),
                await evidence(p.evidence, f"procedures[{i}]", p.code.upper()),
            )
            for i, p in enumerate(procedures)
        ],
    )
    await refresh_from(session)  # an ICD-10-CM release loaded since this process started
    issues = validate_coding(
        submission,
        date_of_service=e.date_of_service or e.received_at.date(),
        catalog=default_catalog(),
        document_ids=set(texts),
    ) + misquoted
    if issues:
        await session.rollback()
        raise refusal(issues, "the submitted codes")
    await session.commit()
    await handle(temporal, e.id).execute_update(EncounterWorkflow.submit_coding, SubmitCodingRequest(actor(who), submission))
    if cited:  # only once the coding is recorded: a refused submission accepts nothing
        await suggestions.accept_cited(session, who, e.id, [sid for _, _, sid in cited])
        await session.commit()
    return e.id
