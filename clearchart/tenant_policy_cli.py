"""`clearchart tenant policy show|set`: an operator's view and change of a tenant's policy."""

import argparse
import getpass
import json
import sys
from typing import Any, NoReturn

from clearchart.oneshot import with_sessions as _run
from clearchart.settings import Settings
from models.tenants.policy import DOCUMENT_TYPES, ENCOUNTER_CLASSES, PolicyInvalid
from services import tenant_policy as service

EXAMPLES = """examples:
  clearchart tenant policy show --tenant demo
  clearchart tenant policy set --tenant demo coding_sla_hours=48 lease_minutes=20 --reason "vendor contract"
  clearchart tenant policy set --tenant demo 'required_documents={"AMB": ["11506-3"], "*": []}'
  clearchart tenant policy set --tenant demo appeal_warning_days=30,14,7 query_escalate_to=dr.advisor
"""


def register(tenant: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    policy = tenant.add_parser("policy", help="show or change a tenant's policy").add_subparsers(dest="policy_action", required=True)
    show = policy.add_parser("show", help="every policy value, its version and who changed it last")
    show.add_argument("--tenant", required=True)
    show.add_argument("--history", action="store_true", help="also list the versions, newest first")
    show.set_defaults(func=cmd_show)
    change = policy.add_parser(
        "set", help="change policy values (all or none)", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    change.add_argument("--tenant", required=True)
    change.add_argument("values", nargs="+", metavar="KEY=VALUE", help="a value as JSON, or a plain word; lists may be comma-separated")
    change.add_argument("--reason", help="why; kept with the new version")
    change.add_argument("--actor", default=f"cli:{getpass.getuser()}", help="who is changing it (default: cli:<login>)")
    change.set_defaults(func=cmd_set)


def parse_values(pairs: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise PolicyInvalid([f"'{pair}': write KEY=VALUE, e.g. coding_sla_hours=48"])
        try:
            values[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            values[key.strip()] = raw
    return values



def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"error: {message}\n")
    raise SystemExit(2)


def render(view: service.PolicyView) -> str:
    lines = [f"tenant {view.tenant_id}: policy version {view.version}"]
    if view.changed_at:
        lines[0] += f", changed {view.changed_at:%Y-%m-%d %H:%M} UTC by {view.changed_by}"
    for key, value in view.policy.as_dict().items():
        if key == "required_documents":
            lines.append("  required_documents:")
            for cls, codes in value.items():
                named = ", ".join(f"{c} ({DOCUMENT_TYPES.get(c, '?')})" for c in codes) or "none listed"
                lines.append(f"    {cls:<6} {ENCOUNTER_CLASSES.get(cls, '?')}: {named}")
        else:
            lines.append(f"  {key}: {json.dumps(value)}")
    return "\n".join(lines)


def cmd_show(args: argparse.Namespace, settings: Settings) -> None:
    async def work(sessions: Any) -> tuple[service.PolicyView, list[service.PolicyChange]]:
        view = await service.show_policy(sessions, args.tenant)
        return view, (await service.history(sessions, args.tenant) if args.history else [])

    try:
        view, changes = _run(settings, work)
    except service.TenantNotFound as exc:
        _fail(f"{exc}; list tenants with SQL or create one with 'clearchart tenant create'")
    sys.stdout.write(render(view) + "\n")
    for c in changes:
        sys.stdout.write(f"  v{c.version} {c.changed_at:%Y-%m-%d %H:%M} {c.actor} ({c.role}): {', '.join(c.changed)}" + (f" — {c.reason}" if c.reason else "") + "\n")


def cmd_set(args: argparse.Namespace, settings: Settings) -> None:
    try:
        changes = parse_values(args.values)
        view = _run(
            settings, lambda s: service.update_policy(s, args.tenant, changes, actor=args.actor, role="admin", reason=args.reason)
        )
    except PolicyInvalid as exc:
        _fail("the policy was not changed:\n  " + "\n  ".join(exc.errors))
    except service.TenantNotFound as exc:
        _fail(str(exc))
    sys.stdout.write(render(view) + "\n")
