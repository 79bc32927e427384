"""`clearchart sandbox clearinghouse script`: make the sandbox clearinghouse answer one claim (or
every claim of a member) the way a payer would — deny, reject, partially pay, reverse, late 277CA —
so the demo and tests can show denials, appeals and exceptions end to end."""

import argparse
import asyncio
import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearchart.db import make_engine, make_sessions
from clearchart.settings import Settings
from clearchart.stack import database_settings
from integrations.sandbox.clearinghouse import DatabaseStore, script_problem


def script_of(args: argparse.Namespace) -> dict[str, Any]:
    script: dict[str, Any] = {}
    for key in ("deny", "reject", "partial", "pay_percent", "syntax_reject", "envelope_reject"):
        if getattr(args, key) is not None:
            script[key] = getattr(args, key)
    for flag in ("reverse", "late_277ca"):
        if getattr(args, flag):
            script[flag] = True
    return script


async def put_script(sessions: async_sessionmaker[AsyncSession], key: str, script: dict[str, Any]) -> None:
    await DatabaseStore(lambda: sessions).put_script(key, script)


def cmd_script(args: argparse.Namespace, settings: Settings) -> None:
    script = script_of(args)
    if problem := script_problem(script):
        raise SystemExit(problem)
    key = args.claim or f"member:{args.member_id}"
    settings, _ = database_settings(settings)

    async def run() -> None:
        engine = make_engine(settings.sqlalchemy_url, pool_size=1)
        try:
            await put_script(make_sessions(engine), key, script)
        finally:
            await engine.dispose()

    asyncio.run(run())
    print(json.dumps({"key": key, "script": script}))  # noqa: T201 - the command's output


def register(sandbox: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    group = sandbox.add_parser("clearinghouse", help="the sandbox clearinghouse").add_subparsers(dest="ch_action", required=True)
    script = group.add_parser("script", help="decide how the sandbox answers a claim, before it is submitted")
    which = script.add_mutually_exclusive_group(required=True)
    which.add_argument("--claim", help="the claim control number (CLM01)")
    which.add_argument("--member-id", help="every claim of this subscriber member id (NM1*IL09)")
    script.add_argument("--deny", help="deny every line with GROUP-CARC, e.g. CO-11")
    script.add_argument("--reject", help="reject it in the 277CA with this text")
    script.add_argument("--partial", help="deny the first line with GROUP-CARC, pay the others")
    script.add_argument("--pay-percent", type=int, help="allowed share of each line's charge (default 80)")
    script.add_argument("--reverse", action="store_true", help="a later 835 reverses the payment (CLP02=22) and pays it again")
    script.add_argument("--late-277ca", action="store_true", help="send the 277CA after the 835")
    script.add_argument("--syntax-reject", metavar="SEGMENT", help="the 999 rejects the claim's transaction set, naming this segment (e.g. CLM)")
    script.add_argument("--envelope-reject", metavar="NOTE", help="a TA1 rejects the whole interchange with this note code (e.g. 024)")
    script.set_defaults(func=cmd_script)
