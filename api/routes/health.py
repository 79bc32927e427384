"""Probes and Prometheus metrics. The probes are public on purpose: they reveal nothing."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from api.deps import require
from api.errors import Unavailable
from models.access import Principal

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> dict[str, str]:
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
    return {"status": "ready", "database": "ok", "temporal": "ok"}


@router.get("/metrics", response_class=Response)
async def metrics(who: Annotated[Principal, Depends(require("queues.read"))]) -> Response:  # noqa: ARG001
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
