"""`clearchart audit verify [--tenant T]`: the operator's check of every audit chain.

The API verifies one chart or the caller's tenant; a token never reaches another tenant, so
"everything" is checked here, with direct database access, by whoever runs the deployment.
Exit status 0 when every chain verifies, 1 when one is broken (cron- and CI-friendly).
"""

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearchart.db import make_engine, make_sessions
from clearchart.settings import Settings
from clearchart.stack import database_settings
from models.repositories.audit import verify_events
from models.tables import AuditEvent


async def verify_report(sessions: async_sessionmaker[AsyncSession], tenant: str | None) -> dict[str, Any]:
    """One tenant, or each tenant holding audit events, checked chain by chain."""
    async with sessions() as session:
        if tenant is not None:
            tenants = [tenant]
        else:
            found = await session.scalars(select(AuditEvent.tenant_id).distinct().order_by(AuditEvent.tenant_id))
            tenants = list(found.all())
        results = {t: await verify_events(session, t, None) for t in tenants}
    report: dict[str, Any] = {
        "checked_at": datetime.now(UTC).isoformat(),
        "verified": all(r.verified for r in results.values()),
        "tenants": [],
    }
    for t, r in results.items():
        brk = r.first_break
        report["tenants"].append(
            {
                "tenant_id": t,
                "verified": r.verified,
                "encounters_checked": r.encounters_checked,
                "events_checked": r.events_checked,
                "broken_encounters": r.broken_encounters,
                "first_break": None
                if brk is None
                else {
                    "encounter_id": brk.encounter_id,
                    "seq": brk.seq,
                    "action": brk.action,
                    "occurred_at": brk.occurred_at.isoformat() if brk.occurred_at else None,
                    "problem": brk.problem,
                },
            }
        )
    return report


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> None:
    settings, _pg = database_settings(settings)

    async def run() -> dict[str, Any]:
        engine = make_engine(settings.sqlalchemy_url, pool_size=1)
        try:
            return await verify_report(make_sessions(engine), args.tenant)
        finally:
            await engine.dispose()

    report = asyncio.run(run())
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    if not report["verified"]:
        raise SystemExit(1)


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add `audit verify` to the `clearchart` command."""
    audit = sub.add_parser("audit", help="the hash-chained audit log").add_subparsers(dest="action", required=True)
    verify = audit.add_parser("verify", help="recompute every audit chain; exit 1 and name the first broken event")
    verify.add_argument("--tenant", help="only this tenant (default: every tenant in the database)")
    verify.set_defaults(func=cmd_audit_verify)
