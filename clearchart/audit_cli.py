"""`clearchart audit verify [--tenant T] [--against checkpoint.json]`, `clearchart audit checkpoint`
and `clearchart keys rotate KIND`: the operator's check of every audit chain.

The API verifies one chart or the caller's tenant; a token never reaches another tenant, so
"everything" is checked here, with direct database access, by whoever runs the deployment.
Exit status 0 when every chain verifies, 1 when one is broken (cron- and CI-friendly).
"""

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearchart.keys import KINDS, chain_keyring, load_keys, rotate
from clearchart.oneshot import with_sessions as _with_engine
from clearchart.settings import Settings
from models.evidence.chain import Keyring
from models.evidence.checkpoint import check_signature, fingerprint, public_key, sign_checkpoint
from models.repositories import ledger
from models.repositories.evidence_chain import verify_events
from services.chain_report import verify_json


async def verify_report(
    sessions: async_sessionmaker[AsyncSession], tenant: str | None, keys: Keyring
) -> dict[str, Any]:
    """One tenant, or each tenant holding audit events, checked chain by chain."""
    async with sessions() as session:
        # One snapshot: a chain head and the rows it attests are read as of the same moment.
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        if tenant is not None:
            tenants = [tenant]
        else:
            tenants = await ledger.audited_tenants(session)
        results = {t: await verify_events(session, t, None, keys) for t in tenants}
    report: dict[str, Any] = {
        "checked_at": datetime.now(UTC).isoformat(),
        "verified": all(r.verified for r in results.values()),
        "tenants": [{"tenant_id": t, **verify_json(r)} for t, r in results.items()],
    }
    return report


async def ledger_tips(sessions: async_sessionmaker[AsyncSession], tenant: str | None) -> list[dict[str, Any]]:
    """The last ledger entry of each tenant (or one tenant): what a checkpoint signs."""
    async with sessions() as session:
        tips = []
        for tenant_id, seq in await ledger.last_entries(session, tenant):
            digest = await ledger.entry_hash(session, tenant_id, seq)
            tips.append({"tenant_id": tenant_id, "ledger_seq": seq, "ledger_hash": digest})
    return tips


async def against_checkpoint(
    sessions: async_sessionmaker[AsyncSession], checkpoint: dict[str, Any], pinned: str | None
) -> list[dict[str, Any]]:
    """Problems found comparing the ledger with a signed checkpoint (empty: it still holds)."""
    bad = check_signature(checkpoint, pinned)
    if bad:
        return [{"problem": bad}]
    problems = []
    async with sessions() as session:
        for tip in checkpoint["tenants"]:
            stored = await ledger.entry_hash(session, tip["tenant_id"], tip["ledger_seq"])
            if stored != tip["ledger_hash"]:
                what = "is missing: the ledger was truncated" if stored is None else "differs: the ledger was rewritten"
                problems.append(
                    {"tenant_id": tip["tenant_id"], "ledger_seq": tip["ledger_seq"],
                     "problem": f"ledger entry {tip['ledger_seq']} signed at {checkpoint['created_at']} {what}"}
                )  # fmt: skip
    return problems



def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> None:
    keys = chain_keyring(settings)
    checkpoint = json.loads(Path(args.against).read_text()) if args.against else None

    async def work(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
        report = await verify_report(sessions, args.tenant, keys)
        if checkpoint is not None:
            problems = await against_checkpoint(sessions, checkpoint, args.public_key)
            report["checkpoint"] = {"created_at": checkpoint.get("created_at"), "holds": not problems, "problems": problems}
            report["verified"] = report["verified"] and not problems
        return report

    report = _with_engine(settings, work)
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    if not report["verified"]:
        raise SystemExit(1)


def cmd_audit_checkpoint(args: argparse.Namespace, settings: Settings) -> None:
    signing = load_keys(settings, "signing")
    tips = _with_engine(settings, lambda sessions: ledger_tips(sessions, args.tenant))
    signed = sign_checkpoint(tips, created_at=datetime.now(UTC), key_id=signing.current, seed=signing.key)
    text = json.dumps(signed, indent=2) + "\n"
    if args.out:
        Path(args.out).write_text(text)
        sys.stderr.write(f"checkpoint written to {args.out}; signing key {fingerprint(public_key(signing.key))}\n")
    else:
        sys.stdout.write(text)


def cmd_keys_rotate(args: argparse.Namespace, settings: Settings) -> None:
    sys.stdout.write(f"{args.kind}: new current key {rotate(settings, args.kind)} (older keys kept)\n")


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add `audit verify`, `audit checkpoint` and `keys rotate` to the `clearchart` command."""
    audit = sub.add_parser("audit", help="the hash-chained audit log").add_subparsers(dest="action", required=True)
    verify = audit.add_parser("verify", help="recompute every audit chain; exit 1 and name the first broken event")
    verify.add_argument("--tenant", help="only this tenant (default: every tenant in the database)")
    verify.add_argument("--against", metavar="CHECKPOINT", help="also prove the ledger still holds this signed checkpoint")
    verify.add_argument("--public-key", help="the signer's key fingerprint (SHA256:…) the checkpoint must carry")
    verify.set_defaults(func=cmd_audit_verify)
    checkpoint = audit.add_parser("checkpoint", help="print (or --out) an Ed25519-signed head of every tenant ledger")
    checkpoint.add_argument("--tenant", help="only this tenant")
    checkpoint.add_argument("--out", help="write to this file instead of standard output")
    checkpoint.set_defaults(func=cmd_audit_checkpoint)
    keys = sub.add_parser("keys", help="keys kept outside the database").add_subparsers(dest="action", required=True)
    rotate_cmd = keys.add_parser("rotate", help="add a key and make it current; old keys stay for verifying/decrypting")
    rotate_cmd.add_argument("kind", choices=KINDS)
    rotate_cmd.set_defaults(func=cmd_keys_rotate)
