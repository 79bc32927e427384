"""The activity behind EHR write-back: build the DocumentReference from the projection, PUT it."""

import uuid

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from integrations.ehr.client import EhrRejected, FhirClient
from models.encounters.fhir_work import YES_NO_OPTIONS, answer_document
from models.encounters.tables import Encounter, Patient, QueryRow, Tenant
from models.repositories import text_blobs
from services.ehr_writeback import EHR_BASE_SETTING, EHR_TOKEN_SETTING
from workflows.ehr_writeback import WriteBackInput

log = structlog.get_logger(__name__)


class EhrWriteBackActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], http: httpx.AsyncClient) -> None:
        self._sessions = sessions
        self._http = http

    @activity.defn(name="ehr.write_back_answer")
    async def write_back_answer(self, inp: WriteBackInput) -> str:
        async with self._sessions() as session:
            tenant = await session.get_one(Tenant, inp.tenant_id)
            base = tenant.settings.get(EHR_BASE_SETTING)
            token = tenant.settings.get(EHR_TOKEN_SETTING)
            q = await session.get_one(QueryRow, uuid.UUID(inp.query_id))
            enc = await session.get_one(Encounter, q.encounter_id)
            patient = await session.get(Patient, enc.patient_id) if enc.patient_id else None
            hashes = {q.question_sha256, *q.option_sha256s, *([q.free_text_sha256] if q.free_text_sha256 else [])}
            texts = await text_blobs.texts(session, inp.tenant_id, hashes)
            addendum = await text_blobs.document_text(session, q.addendum_document_id) if q.addendum_document_id else None
        if not base:
            return "not configured"
        options = [texts.get(h, "") for h in q.option_sha256s] if q.form == "multiple_choice" else list(YES_NO_OPTIONS) if q.form == "yes_no" else []
        chosen = options[q.option_index] if q.option_index is not None and q.option_index < len(options) else None
        answer = " — ".join(x for x in (chosen, texts.get(q.free_text_sha256 or "")) if x) or "(see addendum)"
        doc = answer_document(
            q, ehr_encounter_id=enc.external_id, ehr_patient_id=patient.external_id if patient else None,
            question=texts.get(q.question_sha256, ""), answer=answer, addendum=addendum,
        )  # fmt: skip
        try:
            await FhirClient(self._http, str(base), token=str(token) if token else None).put(doc)
        except EhrRejected as exc:
            raise ApplicationError(str(exc), type="EhrRejected", non_retryable=True) from exc
        return f"DocumentReference/{doc['id']}"
