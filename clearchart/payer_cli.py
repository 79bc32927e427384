"""`clearchart payer add|list`: the tenant's payer table, which the 837P bills from."""

import argparse
import asyncio
import json
from typing import Any

from clearchart.db import make_engine, make_sessions
from clearchart.settings import Settings
from clearchart.stack import database_settings
from services import payers


def _run(settings: Settings, work: Any) -> Any:
    settings, _ = database_settings(settings)

    async def run() -> Any:
        engine = make_engine(settings.sqlalchemy_url, pool_size=1)
        try:
            async with make_sessions(engine)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def cmd_add(args: argparse.Namespace, settings: Settings) -> None:
    try:
        payers.check(args.id, args.name, args.x12_id or args.id, args.filing)
    except payers.PayerRefused as exc:
        raise SystemExit(str(exc)) from exc
    row = _run(settings, lambda s: payers.add(s, args.tenant, args.id, args.name, args.x12_id or args.id, args.filing))
    print(json.dumps(row))  # noqa: T201 - the command's output


def cmd_list(args: argparse.Namespace, settings: Settings) -> None:
    rows = _run(settings, lambda s: payers.listing(s, args.tenant))
    if args.json:
        for row in rows:
            print(json.dumps(row))  # noqa: T201 - the command's output
        return
    if not rows:
        print(f"tenant {args.tenant} has no payers yet: add one with 'clearchart payer add'")  # noqa: T201
        return
    print(_table(rows))  # noqa: T201 - the command's output


COLUMNS = (("payer_id", "PAYER ID"), ("name", "NAME"), ("x12_payer_id", "X12 ID"), ("filing_indicator", "FILING"))


def _table(rows: list[dict[str, Any]]) -> str:
    """Columns as wide as their longest value: readable in a terminal, one payer a line."""
    cells = [[label for _, label in COLUMNS]] + [[str(r.get(key) or "") for key, _ in COLUMNS] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in cells)


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    group = sub.add_parser("payer", help="the payers a tenant bills (name, payer id, claim filing indicator)").add_subparsers(dest="action", required=True)
    add = group.add_parser("add", help="add a payer, or correct one with the same id")
    add.add_argument("--tenant", required=True)
    add.add_argument("--id", required=True, help="the payer id as the EHR's Coverage names it, e.g. MEDICARE")
    add.add_argument("--name", required=True, help="the payer's name on the claim")
    add.add_argument("--x12-id", help="the clearinghouse payer id (NM1*PR09); defaults to --id")
    add.add_argument("--filing", required=True, help="SBR09 claim filing indicator: MB, MA, MC, CI, BL, HM, 12, …")
    add.set_defaults(func=cmd_add)
    show = group.add_parser("list", help="the tenant's payers")
    show.add_argument("--tenant", required=True)
    show.add_argument("--json", action="store_true", help="one JSON object a line, for scripts")
    show.set_defaults(func=cmd_list)
