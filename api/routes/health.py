"""Probes and Prometheus metrics. The probes are public on purpose: they reveal nothing."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import require
from api.errors import Unavailable
from integrations.codesets.catalog import default_catalog
from integrations.codesets.icd10cm import fiscal_year_of
from models.access import Principal
from models.claims.poller_tables import poller_problems, poller_view
from models.repositories import operations
from services.codesets import load_hint, refresh_catalog

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


# Each probe gets this long: a dependency that does not answer within it counts as down.
PROBE_SECONDS = 1.0


async def _probe(check: Callable[[], Awaitable[object]]) -> str | None:
    """None when the dependency answered, else why not."""
    try:
        await asyncio.wait_for(check(), timeout=PROBE_SECONDS)
    except TimeoutError:
        return f"no answer within {PROBE_SECONDS:.0f} s"
    except Exception as exc:  # any failure means not ready; the type is the useful part
        return f"unreachable ({type(exc).__name__})"
    return None


@router.get("/readyz")
async def readyz(request: Request) -> dict[str, Any]:
    async def database() -> None:
        async with request.app.state.sessions() as session:
            await operations.ping(session)

    down = dict(
        zip(
            ("database", "temporal"),
            await asyncio.gather(_probe(database), _probe(request.app.state.temporal.service_client.check_health)),
            strict=True,
        )
    )
    failed = {name: why for name, why in down.items() if why is not None}
    if failed:
        raise Unavailable(
            "; ".join(f"{name} {why}" for name, why in failed.items()),
            dependencies={name: "down" if why else "ok" for name, why in down.items()},
        )
    ready: dict[str, Any] = {"status": "ready", "database": "ok", "temporal": "ok"}
    async with request.app.state.sessions() as session:
        pollers = await operations.poller_statuses(session)
    reasons = poller_problems(pollers, datetime.now(UTC), request.app.state.settings.clearinghouse_poll_seconds)
    if pollers:
        ready["clearinghouse_pollers"] = [poller_view(p, datetime.now(UTC)) for p in pollers]
    if reasons:
        ready["status"], ready["degraded"] = "degraded", reasons
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
async def metrics(who: Annotated[Principal, Depends(require("metrics.scrape"))]) -> Response:  # noqa: ARG001
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
