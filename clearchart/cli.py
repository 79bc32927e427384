"""The `clearchart` command: run the stack, and administer tenants, tokens and webhook sources."""

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearchart import (
    admin,
    audit_cli,
    codesets_cli,
    payer_cli,
    sandbox_cli,
    temporal,
    tenant_policy_cli,
)
from clearchart.db import make_engine, make_sessions
from clearchart.logging import configure_logging
from clearchart.secret_box import secret_keys
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
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_up(settings, demo=args.demo))


def cmd_migrate(_: argparse.Namespace, settings: Settings) -> None:
    from clearchart.stack import migrate_database

    migrate_database(settings)
    _out("database schema is at the latest revision; the application's role is granted")


def cmd_api(_: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from api.main import create_app

    settings, _pg = database_settings(settings)
    uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port, log_config=None)


def cmd_worker(args: argparse.Namespace, settings: Settings) -> None:
    from clearchart.temporal import connect
    from clearchart.worker import build_worker, prepare_process, yield_cpu

    settings, _pg = database_settings(settings)
    yield_cpu(args.role, settings)

    async def run() -> None:
        await asyncio.to_thread(prepare_process, args.role)
        engine = make_engine(settings.sqlalchemy_url)
        try:
            async with httpx.AsyncClient(timeout=30) as http:
                await build_worker(await connect(settings), make_sessions(engine), settings, http, args.role).run()
        finally:
            await engine.dispose()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


def cmd_mllp(args: argparse.Namespace, settings: Settings) -> None:
    from clearchart.mllp import run_mllp

    settings, _pg = database_settings(settings)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_mllp(settings, uuid.UUID(args.source), args.host, args.port))


def cmd_tenant_create(args: argparse.Namespace, settings: Settings) -> None:
    _with_sessions(settings, lambda s, _: admin.create_tenant(s, args.id, args.name))
    _out(f"tenant {args.id} created")


def cmd_tenant_delegate(args: argparse.Namespace, settings: Settings) -> None:
    _with_sessions(settings, lambda s, _: admin.set_query_delegates(s, args.tenant, args.physician, args.delegate or []))
    _out(f"queries to {args.physician} may be answered by: {', '.join(args.delegate or []) or 'the physician only'}")


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
    source_id, secret = _with_sessions(settings, lambda s, _: admin.create_source(s, args.tenant, args.name, secret_keys(settings)))
    url = f"http://{settings.api_host}:{settings.api_port}/v1/webhooks/ehr?source={source_id}"
    _out(f"source:  {source_id}\nsecret:  {secret}\nwebhook: {url}")


def cmd_sandbox_bundle(args: argparse.Namespace, _: Settings) -> None:
    from integrations.sandbox.bundles import synthetic_bundle

    doc_types = [d for d in args.doc_types.split(",") if d]
    start = None
    if args.date_of_service:
        try:
            start = datetime.combine(date.fromisoformat(args.date_of_service), time(9), UTC)
        except ValueError as exc:
            raise SystemExit(f"error: --date-of-service must be YYYY-MM-DD, not {args.date_of_service!r}") from exc
    bundle = synthetic_bundle(
        encounter_id=args.encounter_id, patient_id=args.patient_id or f"pt-{args.encounter_id}", doc_types=doc_types,
        encounter_type=args.encounter_type, period_start=start,
    )  # fmt: skip
    _out(json.dumps(bundle, indent=2))


def cmd_sandbox_send(args: argparse.Namespace, _: Settings) -> None:
    import httpx

    from integrations.sandbox.ehr import push_bundle

    with open(args.file, encoding="utf-8") as fh:
        bundle = json.load(fh)

    async def send() -> httpx.Response:
        async with httpx.AsyncClient(timeout=60) as client:
            return await push_bundle(client, args.url, args.secret, bundle, msg_id=args.id)

    response = asyncio.run(send())
    _out(f"{response.status_code} {response.text}")
    if response.status_code >= 400:
        raise SystemExit(1)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clearchart", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start everything on this machine (embedded PostgreSQL and Temporal by default)")
    up.add_argument("--demo", action="store_true", help="seed a demo tenant, users and sandbox encounters")
    up.add_argument("--port", type=int, help="API port (default 8000)")
    up.set_defaults(func=cmd_up)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("api", help="run the API only").set_defaults(func=cmd_api)
    worker = sub.add_parser("worker", help="run Temporal workers only (start several to scale out)")
    worker.add_argument(
        "--role",
        choices=["all", "interactive", "billing"],
        default="all",
        help="interactive: encounter workflows and their short activities; billing: claim building and submission",
    )
    worker.set_defaults(func=cmd_worker)
    mllp = sub.add_parser("mllp", help="listen for HL7 v2 messages over MLLP for one webhook source")
    mllp.add_argument("--source", required=True, help="the source id printed by 'clearchart source create'")
    mllp.add_argument("--host", default="127.0.0.1")
    mllp.add_argument("--port", type=int, default=2575)
    mllp.set_defaults(func=cmd_mllp)

    def group(name: str, help_text: str) -> "argparse._SubParsersAction[argparse.ArgumentParser]":
        return sub.add_parser(name, help=help_text).add_subparsers(dest="action", required=True)

    tenants = group("tenant", "provider organizations and their policy")
    tenant = tenants.add_parser("create")
    tenant.add_argument("--id", required=True)
    tenant.add_argument("--name", required=True)
    tenant.set_defaults(func=cmd_tenant_create)
    tenant_policy_cli.register(tenants)
    delegate = tenants.add_parser("delegate", help="name who may answer a physician's queries")
    delegate.add_argument("--tenant", required=True)
    delegate.add_argument("--physician", required=True, help="the addressed physician's user id or NPI")
    delegate.add_argument("--delegate", action="append", help="a physician user id (repeat; none: remove all)")
    delegate.set_defaults(func=cmd_tenant_delegate)

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

    sandbox = group("sandbox", "a sandbox EHR: synthetic FHIR bundles and signed webhook deliveries")
    bundle = sandbox.add_parser("bundle", help="print a synthetic FHIR R4 Bundle with one Encounter")
    bundle.add_argument("--encounter-id", required=True)
    bundle.add_argument("--patient-id")
    bundle.add_argument("--encounter-type", default="AMB")
    bundle.add_argument("--doc-types", default="11506-3", help="comma-separated LOINC document types")
    bundle.add_argument("--date-of-service", help="YYYY-MM-DD (default: yesterday)")
    bundle.set_defaults(func=cmd_sandbox_bundle)
    send = sandbox.add_parser("send", help="POST a bundle file signed per Standard Webhooks")
    send.add_argument("file")
    send.add_argument("--url", required=True, help="the webhook URL printed by 'clearchart source create'")
    send.add_argument("--secret", required=True)
    send.add_argument("--id", help="webhook-id; reuse one to simulate a redelivery")
    send.set_defaults(func=cmd_sandbox_send)
    sandbox_cli.register(sandbox)
    audit_cli.register(sub)
    codesets_cli.register(sub)
    payer_cli.register(sub)
    return parser


SERVERS = frozenset({"up", "api", "worker", "mllp", "migrate"})


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    # A one-shot command prints its answer; its routine log lines (the cluster it adopted, the HTTP
    # request it sent) would bury it. Servers log at the configured level; so does a command when
    # CLEARCHART_LOG_LEVEL is set.
    quiet = args.command not in SERVERS and "CLEARCHART_LOG_LEVEL" not in os.environ
    configure_logging(json_logs=settings.json_logs, level="WARNING" if quiet else settings.log_level)
    try:
        args.func(args, settings)
    except admin.AdminError as exc:
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(2) from exc
    if args.command not in SERVERS and temporal.client_made():
        # The Temporal SDK's native runtime keeps threads that can abort the interpreter's
        # finalization ("PyGILState_Release"), turning a finished command into exit code -6: a
        # one-shot command whose work is done and printed leaves without finalizing.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


if __name__ == "__main__":
    main()
