"""The `clearchart` command: run the stack, and administer tenants, tokens and webhook sources."""

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearchart import admin
from clearchart.db import make_engine, make_sessions
from clearchart.logging import configure_logging
from clearchart.settings import Settings, get_settings
from clearchart.stack import database_settings


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _with_sessions(
    settings: Settings, work: Callable[[async_sessionmaker[AsyncSession], Settings], Awaitable[Any]]
) -> Any:
    settings, _ = database_settings(settings)  # adopts the embedded cluster `up` started, if any

    async def run() -> Any:
        engine = make_engine(settings.sqlalchemy_url, pool_size=1)
        try:
            return await work(make_sessions(engine), settings)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def cmd_up(args: argparse.Namespace, settings: Settings) -> None:
    from clearchart.up import run_up

    if args.port:
        settings = settings.model_copy(update={"api_port": args.port})
    try:
        asyncio.run(run_up(settings, demo=args.demo))
    except KeyboardInterrupt:
        pass


def cmd_migrate(_: argparse.Namespace, settings: Settings) -> None:
    from clearchart.migrate import upgrade

    settings, _pg = database_settings(settings)
    upgrade(settings.sqlalchemy_url)
    _out("database schema is at the latest revision")


def cmd_api(_: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from api.main import create_app

    settings, _pg = database_settings(settings)
    uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port, log_config=None)


def cmd_worker(_: argparse.Namespace, settings: Settings) -> None:
    from clearchart.temporal import connect
    from clearchart.worker import build_worker

    settings, _pg = database_settings(settings)

    async def run() -> None:
        engine = make_engine(settings.sqlalchemy_url)
        worker = build_worker(await connect(settings), make_sessions(engine), settings.task_queue)
        try:
            await worker.run()
        finally:
            await engine.dispose()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass


def cmd_tenant_create(args: argparse.Namespace, settings: Settings) -> None:
    _with_sessions(settings, lambda s, _: admin.create_tenant(s, args.id, args.name))
    _out(f"tenant {args.id} created")


def cmd_vendor_create(args: argparse.Namespace, settings: Settings) -> None:
    _with_sessions(settings, lambda s, _: admin.create_vendor(s, args.tenant, args.id, args.name))
    _out(f"vendor {args.id} created in tenant {args.tenant}")


def cmd_queue_create(args: argparse.Namespace, settings: Settings) -> None:
    vendors = [v for v in args.vendors.split(",") if v]
    _with_sessions(settings, lambda s, _: admin.create_queue(s, args.tenant, args.id, args.name or args.id, vendors))
    _out(f"queue {args.id} serves {', '.join(vendors) or 'no vendor yet'}")


def cmd_route_add(args: argparse.Namespace, settings: Settings) -> None:
    position = _with_sessions(
        settings,
        lambda s, _: admin.add_route(
            s,
            args.tenant,
            args.queue,
            encounter_type=args.encounter_type,
            specialty=args.specialty,
            payer_id=args.payer,
            priority=args.priority,
        ),
    )
    _out(f"routing rule {position} sends matching encounters to {args.queue}")


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> None:
    token = _with_sessions(
        settings,
        lambda s, st: admin.create_token(
            s, st.secret_key, tenant_id=args.tenant, role=args.role, user_id=args.user, vendor_id=args.vendor, npi=args.npi
        ),
    )
    _out(token)


def cmd_source_create(args: argparse.Namespace, settings: Settings) -> None:
    source_id, secret = _with_sessions(settings, lambda s, _: admin.create_source(s, args.tenant, args.name))
    url = f"http://{settings.api_host}:{settings.api_port}/v1/webhooks/ehr?source={source_id}"
    _out(f"source:  {source_id}\nsecret:  {secret}\nwebhook: {url}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clearchart", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start everything on this machine (embedded PostgreSQL and Temporal by default)")
    up.add_argument("--demo", action="store_true", help="seed a demo tenant, users and sandbox encounters")
    up.add_argument("--port", type=int, help="API port (default 8000)")
    up.set_defaults(func=cmd_up)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("api", help="run the API only").set_defaults(func=cmd_api)
    sub.add_parser("worker", help="run a Temporal worker only").set_defaults(func=cmd_worker)

    def group(name: str, help_text: str) -> "argparse._SubParsersAction[argparse.ArgumentParser]":
        return sub.add_parser(name, help=help_text).add_subparsers(dest="action", required=True)

    tenant = group("tenant", "provider organizations").add_parser("create")
    tenant.add_argument("--id", required=True)
    tenant.add_argument("--name", required=True)
    tenant.set_defaults(func=cmd_tenant_create)

    vendor = group("vendor", "coding vendors").add_parser("create")
    vendor.add_argument("--tenant", required=True)
    vendor.add_argument("--id", required=True)
    vendor.add_argument("--name", required=True)
    vendor.set_defaults(func=cmd_vendor_create)

    queue = group("queue", "work queues").add_parser("create")
    queue.add_argument("--tenant", required=True)
    queue.add_argument("--id", required=True)
    queue.add_argument("--name")
    queue.add_argument("--vendors", default="", help="comma-separated vendor ids the queue serves")
    queue.set_defaults(func=cmd_queue_create)

    route = group("route", "routing rules (first match wins)").add_parser("add")
    route.add_argument("--tenant", required=True)
    route.add_argument("--queue", required=True)
    route.add_argument("--encounter-type", help="FHIR Encounter class or type code, e.g. AMB")
    route.add_argument("--specialty")
    route.add_argument("--payer")
    route.add_argument("--priority", type=int, default=0)
    route.set_defaults(func=cmd_route_add)

    token = group("token", "API tokens").add_parser("create")
    token.add_argument("--tenant", required=True)
    token.add_argument("--role", required=True)
    token.add_argument("--user", required=True)
    token.add_argument("--vendor")
    token.add_argument("--npi")
    token.set_defaults(func=cmd_token_create)

    source = group("source", "EHR webhook sources").add_parser("create")
    source.add_argument("--tenant", required=True)
    source.add_argument("--name", required=True)
    source.set_defaults(func=cmd_source_create)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    configure_logging(json_logs=settings.json_logs, level=settings.log_level)
    try:
        args.func(args, settings)
    except admin.AdminError as exc:
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(2) from exc


if __name__ == "__main__":
    main()
