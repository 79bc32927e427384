"""All code-suggestion SQL. Reads go through an encounter the caller may already see."""

import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.coding.suggestions import NoteDocument, Suggestion
from models.coding.tables import CodeSuggestionRow
from models.encounters.tables import Document, Encounter


class SuggestionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def notes(self, tenant_id: str, encounter_id: uuid.UUID) -> tuple[list[NoteDocument], date | None]:
        """The chart's documents that carry text, oldest first, and its date of service."""
        encounter = await self.session.get(Encounter, encounter_id)
        if encounter is None or encounter.tenant_id != tenant_id:
            return [], None
        rows = await self.session.execute(
            select(Document.id, Document.text)
            .where(Document.encounter_id == encounter_id, Document.text.is_not(None))
            .order_by(Document.received_at, Document.id)
        )
        dos = encounter.date_of_service or encounter.received_at.date()
        return [NoteDocument(str(i), t) for i, t in rows if t], dos

    async def store(self, tenant_id: str, encounter_id: uuid.UUID, suggestions: Sequence[Suggestion]) -> None:
        """Upsert by (encounter, engine version, code); a decided suggestion keeps what the coder saw."""
        for rank, s in enumerate(suggestions, start=1):
            values: dict[str, Any] = {
                "tenant_id": tenant_id,
                "encounter_id": encounter_id,
                "code": s.code,
                "description": s.description,
                "confidence": s.confidence,
                "rank": rank,
                "reason": s.reason,
                "matched_term": s.matched_term,
                "spans": [asdict(span) for span in s.spans],
                "engine_version": s.engine_version,
                "status": "open",
            }
            stmt = insert(CodeSuggestionRow).values(id=uuid.uuid4(), **values)
            refreshed = {k: stmt.excluded[k] for k in ("description", "confidence", "rank", "reason", "matched_term", "spans")}
            await self.session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["encounter_id", "engine_version", "code"],
                    set_=refreshed,
                    where=CodeSuggestionRow.status == "open",
                )
            )

    async def for_encounter(self, encounter_id: uuid.UUID) -> list[CodeSuggestionRow]:
        """The newest engine version's suggestions, best first."""
        newest = (
            select(CodeSuggestionRow.engine_version)
            .where(CodeSuggestionRow.encounter_id == encounter_id)
            .order_by(CodeSuggestionRow.created_at.desc())
            .limit(1)
            .scalar_subquery()
        )
        rows = await self.session.scalars(
            select(CodeSuggestionRow)
            .where(CodeSuggestionRow.encounter_id == encounter_id, CodeSuggestionRow.engine_version == newest)
            .order_by(CodeSuggestionRow.rank)
        )
        return list(rows)

    async def get(self, encounter_id: uuid.UUID, suggestion_id: uuid.UUID) -> CodeSuggestionRow | None:
        row = await self.session.get(CodeSuggestionRow, suggestion_id)
        return row if row is not None and row.encounter_id == encounter_id else None

    async def decide(
        self, row: CodeSuggestionRow, status: str, user_id: str, vendor_id: str | None, at: datetime
    ) -> None:
        await self.session.execute(
            update(CodeSuggestionRow)
            .where(CodeSuggestionRow.id == row.id)
            .values(status=status, decided_by=user_id, decided_vendor=vendor_id, decided_at=at)
        )

    async def for_encounters(self, encounter_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[CodeSuggestionRow]]:
        """Per encounter, the suggestions of the newest engine version that ran on it."""
        rows = await self.session.scalars(
            select(CodeSuggestionRow)
            .where(CodeSuggestionRow.encounter_id.in_(list(encounter_ids)))
            .order_by(CodeSuggestionRow.encounter_id, CodeSuggestionRow.created_at.desc(), CodeSuggestionRow.rank)
        )
        found: dict[uuid.UUID, list[CodeSuggestionRow]] = {}
        for row in rows:
            mine = found.setdefault(row.encounter_id, [])
            if not mine or mine[0].engine_version == row.engine_version:
                mine.append(row)
        return found

    async def count(self, encounter_id: uuid.UUID) -> int:
        return int(
            await self.session.scalar(
                select(func.count()).select_from(CodeSuggestionRow).where(CodeSuggestionRow.encounter_id == encounter_id)
            )
            or 0
        )
