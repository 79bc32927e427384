"""Tenant query templates, linted by the same compliance rules as the queries made from them."""

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.exc import IntegrityError

from api.deps import SessionDep, require
from api.errors import Conflict
from api.schemas.queries import TemplateIn, TemplateOut
from models.access import Principal
from models.encounters.tables import QueryTemplateRow
from models.queries.rules import QueryTemplate, lint_refusal, lint_template
from models.repositories import queries as queries_repo

router = APIRouter(prefix="/v1/query-templates", tags=["queries"])


def _out(row: QueryTemplateRow) -> TemplateOut:
    return TemplateOut(
        id=str(row.id),
        name=row.name,
        question=row.question,
        form=row.form,
        options=list(row.options),
        yes_no_purpose=row.yes_no_purpose,
        created_by=row.created_by,
    )


@router.post("", response_model=TemplateOut, status_code=201, responses={409: {"description": "name taken"}, 422: {"description": "not compliant"}})
async def create_template(
    body: TemplateIn, session: SessionDep, who: Annotated[Principal, Depends(require("templates.manage"))]
) -> TemplateOut:
    issues = lint_template(QueryTemplate(body.name, body.question, body.form, list(body.options), body.yes_no_purpose))
    if issues:
        raise lint_refusal(issues)
    row = QueryTemplateRow(
        tenant_id=who.tenant_id,
        name=body.name,
        form=body.form,
        question=body.question,
        options=list(body.options),
        yes_no_purpose=body.yes_no_purpose,
        created_by=who.user_id,
    )
    session.add(row)
    try:
        await session.commit()
    except IntegrityError as exc:
        raise Conflict(f"a template named '{body.name}' already exists; choose another name") from exc
    return _out(row)


@router.get("", response_model=list[TemplateOut])
async def list_templates(session: SessionDep, who: Annotated[Principal, Depends(require("templates.read"))]) -> list[TemplateOut]:
    return [_out(r) for r in await queries_repo.templates(session, who.tenant_id)]
