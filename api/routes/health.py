"""Probes and Prometheus metrics. The probes are public on purpose: they reveal nothing."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from api.deps import require
from api.errors import Unavailable
from integrations.codesets.catalog import default_catalog
from integrations.codesets.icd10cm import fiscal_year_of
from models.access import Principal
from services.codesets import load_hint, refresh_catalog

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> dict[str, Any]:
    problems: list[str] = []
    try:
        async with request.app.state.sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means not ready; the type does not matter here
        problems.append(f"database unreachable: {type(exc).__name__}")
    try:
        await request.app.state.temporal.service_client.check_health()
    except Exception as exc:
        problems.append(f"temporal unreachable: {type(exc).__name__}")
    if problems:
        raise Unavailable("; ".join(problems))
    ready: dict[str, Any] = {"status": "ready", "database": "ok", "temporal": "ok"}
    await refresh_catalog(request.app.state.sessions)  # a release loaded beside the running API
    today = datetime.now(UTC).date()
    release = default_catalog().icd10cm.release_for(today)
    if default_catalog().icd10cm.stale_for(today) and release is not None:
        ready["warnings"] = [
            f"ICD-10-CM FY{release.fiscal_year} is serving dates of service in FY{fiscal_year_of(today)}: "
            f"load the FY{fiscal_year_of(today)} release from the CMS 'Code Descriptions in Tabular Order' files with "
            f"'{load_hint(fiscal_year_of(today))}'"
        ]
    return ready


@router.get("/metrics", response_class=Response)
async def metrics(who: Annotated[Principal, Depends(require("queues.read"))]) -> Response:  # noqa: ARG001
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
