"""`clearchart codesets load|status`: load the quarterly NCCI PTP and MUE files and fee schedules.

A load parses and checks the whole file first (a bad row names its line and changes nothing),
then swaps the table in one transaction: delete, COPY, record the version. A scrub therefore
sees the old table or the new one, never half of either.

- ``ptp`` and ``mue`` are global. The loaded version replaces every row of the table, whatever
  its version: CMS quarterly files are cumulative (deleted edits keep their deletion date), and
  the scrub reads all rows of a table, so rows of an older quarter left behind would apply twice.
  CMS splits the practitioner PTP file in parts: repeat ``--file`` to load them as one version.
- ``fees`` belong to a tenant and replace that tenant's rows for the payers in the file.
  Columns: ``code``, ``modifier`` (blank = global rate), ``amount`` in dollars (``90`` or
  ``90.00``) or ``amount_cents`` in integer cents, ``effective_from`` and ``effective_to``
  (ISO, YYYYMMDD or MM/DD/YYYY; ``--effective-from`` fills a blank start), and ``payer`` unless
  ``--payer`` is given (``*`` is the tenant default rate). Amounts are per unit.
"""

import argparse
import asyncio
import csv
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearchart.oneshot import with_sessions as _run
from clearchart.settings import Settings, get_settings
from integrations.codesets.carc_file import read_carc_csv
from integrations.codesets.scrub_files import (
    TableFormatError,
    _parse_date,
    load_mue_csv,
    load_ptp_csv,
)
from models.claims.scrub_reference import EPOCH
from models.encounters.tables import Tenant
from models.repositories import code_tables
from models.repositories.carc_table import replace_carc

CODE = re.compile(r"[A-Z0-9]{1,5}")


class LoadError(Exception):
    """The load cannot go ahead (wrong options, unknown tenant); nothing was changed."""


class Progress:
    """Rows done and rate on stderr: one rewritten line on a terminal, a line every few seconds
    otherwise (so logs of a cron job stay readable)."""

    def __init__(self, stream: TextIO | None = None, every_seconds: float = 5.0) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every = every_seconds
        self.phase, self.started, self.last = "", time.monotonic(), 0.0

    def start(self, phase: str) -> None:
        self.phase, self.started, self.last = phase, time.monotonic(), 0.0

    def __call__(self, rows: int, *, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.last < (0.2 if self.tty else self.every):
            return
        self.last = now
        rate = rows / max(now - self.started, 1e-6)
        text = f"{self.phase}: {rows:,} rows ({rate:,.0f} rows/s)"
        self.stream.write(f"\r{text}\x1b[K" + ("\n" if final else "") if self.tty else text + "\n")
        self.stream.flush()


@dataclass(frozen=True)
class LoadReport:
    table: str
    version: str
    rows: int
    seconds: float


async def load_table(
    sessions: async_sessionmaker[AsyncSession],
    table: str,
    files: list[Path],
    version: str,
    *,
    tenant: str | None = None,
    payer: str | None = None,
    effective_from: date | None = None,
    progress: Progress | None = None,
) -> LoadReport:
    """Parse every file (nothing written on a bad row), then replace the table in one transaction."""
    if (table == "fees") != bool(tenant):
        raise LoadError("fees need --tenant; ptp, mue and carc are global and take no --tenant")
    began = time.monotonic()
    if table == "carc":
        return await _load_carc(sessions, files, version, began)
    show = progress or Progress()
    show.start(f"reading {table}")
    rows = await asyncio.to_thread(_read, table, files, effective_from, payer, show)
    show(len(rows), final=True)
    show.start(f"writing {table}")
    async with sessions.begin() as session:
        if table == "fees":
            if await session.get(Tenant, tenant) is None:
                raise LoadError(f"no tenant {tenant!r}")
            await code_tables.replace_fees(session, tenant or "", version, rows)
        else:
            await code_tables.replace_global(session, table, version, rows, show)
            await code_tables.record_version(session, table, version, len(rows))
    show(len(rows), final=True)
    return LoadReport(table, version, len(rows), time.monotonic() - began)


async def _load_carc(sessions: async_sessionmaker[AsyncSession], files: list[Path], version: str, began: float) -> LoadReport:
    try:
        table = read_carc_csv(files[0], version)
    except (ValueError, KeyError) as exc:
        raise LoadError(f"{files[0]}: {exc}; nothing was changed") from exc
    async with sessions.begin() as session:
        count = await replace_carc(session, table)
    return LoadReport("carc", version, count, time.monotonic() - began)


def _read(table: str, files: list[Path], start: date | None, payer: str | None, show: Progress) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []

    def after(done: int) -> Callable[[int], None]:
        return lambda n: show(done + n)

    for path in files:
        done = len(out)
        if table == "ptp":
            edits = load_ptp_csv(path, progress=after(done))
            out += [(e.column1, e.column2, e.modifier_indicator, e.effective_from, e.effective_to) for e in edits]
        elif table == "mue":
            limits = load_mue_csv(path, effective_from=start or EPOCH, progress=after(done))
            out += [(m.code, m.limit, m.adjudication_indicator, m.effective_from, m.effective_to) for m in limits]
        else:
            out += read_fees(path, payer=payer, effective_from=start)  # checks its own rows
            continue
        for n, row in enumerate(out[done:], start=1):  # the loaders do not check widths; the table does
            codes = row[:2] if table == "ptp" else row[:1]
            if not all(CODE.fullmatch(c) for c in codes):
                raise TableFormatError(f"{path.name} data row {n}: codes must be 1-5 letters/digits, got {codes}")
    return out


def read_fees(path: Path, *, payer: str | None, effective_from: date | None) -> list[tuple[Any, ...]]:
    """Rows ``(payer, code, modifier, amount_cents, effective_from, effective_to)``."""
    out: list[tuple[Any, ...]] = []
    header: dict[str, int] | None = None
    for line_no, cells in _lines(path):
        if header is None:
            header = {c.strip().lower(): i for i, c in enumerate(cells)}
            if "code" not in header or not {"amount", "amount_cents"} & set(header):
                raise TableFormatError(f"{path.name} line {line_no}: header needs code and amount (dollars) or amount_cents")
            if "payer" not in header and not payer:
                raise TableFormatError(f"{path.name}: no payer column; pass --payer (or '*' for the tenant default)")
            continue
        f = {k: cells[i].strip() if i < len(cells) else "" for k, i in header.items()}
        try:
            out.append(_fee_row(f, payer, effective_from))
        except (ValueError, InvalidOperation) as exc:
            raise TableFormatError(f"{path.name} line {line_no}: {exc}") from exc
    if header is None:
        raise TableFormatError(f"{path.name}: no header row")
    return out


def _fee_row(f: dict[str, str], payer: str | None, effective_from: date | None) -> tuple[Any, ...]:
    row_payer = f.get("payer") or payer or ""
    if payer and row_payer != payer:
        raise ValueError(f"payer {row_payer!r} differs from --payer {payer!r}")
    code, modifier = f["code"].upper(), f.get("modifier", "").upper() or None
    if not CODE.fullmatch(code) or (modifier and not re.fullmatch(r"[A-Z0-9]{2}", modifier)) or len(row_payer) > 64:
        raise ValueError(f"need a 1-5 character code, a 2-character modifier or blank, a payer; got {code!r} {modifier!r}")
    if f.get("amount_cents"):
        if not f["amount_cents"].isdigit():
            raise ValueError(f"amount_cents must be whole cents, got {f['amount_cents']!r}")
        cents = int(f["amount_cents"])
    else:
        dollars = Decimal(f.get("amount", "").replace("$", "").replace(",", ""))
        if dollars < 0 or dollars != dollars.quantize(Decimal("0.01")):
            raise ValueError(f"amount must be dollars with at most 2 decimals, got {f.get('amount')!r}")
        cents = int(dollars * 100)
    start = _parse_date(f.get("effective_from", "")) or effective_from
    if start is None:
        raise ValueError("effective_from is blank; fill it or pass --effective-from")
    end = _parse_date(f.get("effective_to", ""))
    if end is not None and end < start:
        raise ValueError(f"effective_to {end} is before effective_from {start}")
    return (row_payer, code, modifier, cents, start, end)


def _lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    delimiter = "\t" if path.suffix.lower() in (".txt", ".tsv") else ","
    with path.open(newline="", encoding="utf-8-sig") as fh:
        for line_no, row in enumerate(csv.reader(fh, delimiter=delimiter), start=1):
            if row and "".join(row).strip() and not row[0].lstrip().startswith("#"):
                yield line_no, row


async def status(sessions: async_sessionmaker[AsyncSession], tenant: str | None = None) -> list[dict[str, Any]]:
    """Every loaded table with its version, recorded and actual row counts, and load time."""
    async with sessions() as session:
        out: list[dict[str, Any]] = []
        for v, actual in await code_tables.loaded_tables(session):
            out.append({"table": v.table_name, "scope": "global", "version": v.version, "rows": v.rows,
                        "rows_in_table": actual, "loaded_at": v.loaded_at.isoformat()})
        for t, p, version, count in await code_tables.fee_schedules(session, tenant):
            out.append({"table": "fees", "scope": f"{t}/{p}", "version": version, "rows": count, "rows_in_table": count, "loaded_at": None})
    return out



def cmd_load(args: argparse.Namespace, settings: Settings) -> None:
    if args.table == "icd10cm":
        return _load_icd10cm(args, settings)
    if not args.version:
        sys.stderr.write(f"error: --version is required for --table {args.table} (e.g. 2026Q4)\n")
        raise SystemExit(2)
    start = date.fromisoformat(args.effective_from) if args.effective_from else None
    files = [Path(f) for f in args.file]
    try:
        report: LoadReport = _run(settings, lambda s: load_table(
            s, args.table, files, args.version, tenant=args.tenant, payer=args.payer, effective_from=start))  # fmt: skip
    except (TableFormatError, LoadError, OSError) as exc:
        sys.stderr.write(f"\nerror: {exc}\nnothing was changed; the loaded version stays in force\n")
        raise SystemExit(2) from exc
    sys.stdout.write(f"{report.table} {report.version}: {report.rows:,} rows loaded in {report.seconds:.1f} s\n")


def _load_icd10cm(args: argparse.Namespace, settings: Settings) -> None:
    from services import codesets

    if not args.release or len(args.file) != 1:
        sys.stderr.write("error: --table icd10cm takes --release FYyyyy and one --file (the CMS icd10cm_order_yyyy.txt)\n")
        raise SystemExit(2)
    try:
        loaded = _run(settings, lambda s: codesets.load_icd10cm(s, args.release, Path(args.file[0])))
    except (codesets.ReleaseError, ValueError, OSError) as exc:
        sys.stderr.write(f"\nerror: {exc}\nnothing was changed; the releases in force stay as they were\n")
        raise SystemExit(2) from exc
    sys.stdout.write(
        f"icd10cm FY{loaded.fiscal_year}: {loaded.codes:,} codes loaded; it serves dates of service from {loaded.serves_from}\n"
    )
    _release_held(settings)


def _release_held(settings: Settings) -> None:
    """Release the charts held for a code set that a loaded release now serves (idempotent)."""
    from services import codesets

    waiting, unserved = _run(settings, codesets.held_for_release)
    if not waiting:
        sys.stdout.write("no chart is held for an ICD-10-CM release that is now loaded\n")
    else:
        sys.stdout.write(f"releasing {len(waiting)} chart(s) held for an ICD-10-CM release that is now loaded\n")
        done = [0]

        def show(chart: "codesets.HeldChart", outcome: str) -> None:
            done[0] += 1
            sys.stdout.write(
                f"  [{done[0]}/{len(waiting)}] {chart.tenant_id} {chart.external_id} "
                f"(date of service {chart.date_of_service}): {outcome}\n"
            )
            sys.stdout.flush()

        try:
            report = _run(settings, lambda s: _with_temporal(settings, lambda t: codesets.release_served(s, t, show)))
        except RuntimeError as exc:
            sys.stderr.write(
                f"error: {exc}\nthe release is loaded; once the stack is up, release the held charts with "
                "'clearchart codesets release-holds'\n"
            )
            raise SystemExit(1) from exc
        sys.stdout.write(f"{report.released} released, {report.already} already released, {report.failed} failed\n")
        unserved = report.still_held
        if report.failed:
            sys.stderr.write("some charts were not released: run 'clearchart codesets release-holds' again\n")
            raise SystemExit(1)
    if unserved:
        sys.stdout.write(
            f"{unserved} chart(s) stay held: no loaded release serves their date of service "
            "(the web UI lists them at /ui/encounters?hold_reason=codeset_release_missing)\n"
        )


async def _with_temporal(settings: Settings, work: Callable[[Any], Any]) -> Any:
    """Reach the stack's Temporal (briefly: an operator may load a release with the stack down)."""
    from clearchart.temporal import address_of, connect_briefly

    address = address_of(settings)
    try:
        client = await connect_briefly(settings)
    except RuntimeError as exc:
        raise RuntimeError(f"Temporal is not reachable at {address} ({exc})") from exc
    return await work(client)


def cmd_release_holds(_: argparse.Namespace, settings: Settings) -> None:
    _release_held(settings)


def _icd10cm_status(settings: Settings) -> None:
    from services import codesets

    ranges = _run(settings, codesets.served_ranges)
    sys.stdout.write("ICD-10-CM releases by date of service:\n")
    sys.stdout.write(f"  before {ranges[0].serves_from}: no release; such charts are held until one is loaded\n")
    for r in ranges:
        until = f"to {r.serves_to}" if r.serves_to else "onward"
        sys.stdout.write(f"  FY{r.fiscal_year}  {r.serves_from} {until:<14} {r.codes:>7,} codes  {r.source}\n")
    latest = ranges[-1]
    from datetime import UTC, datetime

    from integrations.codesets.icd10cm import fiscal_year_of

    current = fiscal_year_of(datetime.now(UTC).date())
    if latest.fiscal_year < current:
        sys.stdout.write(f"  FY{current} dates of service are served by FY{latest.fiscal_year}: {codesets.load_hint(current)}\n")


def cmd_status(args: argparse.Namespace, settings: Settings) -> None:
    _icd10cm_status(settings)
    rows = _run(settings, lambda s: status(s, args.tenant))
    if not rows:
        sys.stdout.write("no code tables loaded (ptp and mue checks are skipped by the scrub)\n")
    for r in rows:
        loaded = r["loaded_at"] or "-"
        sys.stdout.write(f"{r['table']:<5} {r['scope']:<32} {r['version']:<24} {r['rows']:>10,} rows  loaded {loaded}\n")


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add `codesets load` and `codesets status` to the `clearchart` command."""
    group = sub.add_parser("codesets", help="ICD-10-CM releases, NCCI PTP, MUE and fee schedule tables").add_subparsers(dest="action", required=True)
    load = group.add_parser("load", help="replace a table with a CMS quarterly file (CSV or tab-separated TXT)")
    load.add_argument("--table", required=True, choices=["icd10cm", "ptp", "mue", "fees", "carc"])
    load.add_argument("--release", help="icd10cm only: the federal fiscal year of the CMS release, e.g. FY2027")
    load.add_argument("--file", required=True, action="append", help="repeat for a file CMS ships in parts")
    load.add_argument("--version", help="ptp, mue, fees, carc: e.g. 2025Q3; recorded with every scrub")
    load.add_argument("--tenant", help="fees only: the tenant whose schedule this is")
    load.add_argument("--payer", help="fees only: payer id of every row ('*' = tenant default) when the file has no payer column")
    load.add_argument("--effective-from", help="YYYY-MM-DD for rows without a start date (MUE files carry none)")
    load.set_defaults(func=cmd_load)
    again = group.add_parser(
        "release-holds", help="release charts held for an ICD-10-CM release that is now loaded ('load' does it too)"
    )
    again.set_defaults(func=cmd_release_holds)
    show = group.add_parser("status", help="loaded tables, versions, row counts and load times")
    show.add_argument("--tenant", help="only this tenant's fee schedules")
    show.set_defaults(func=cmd_status)


def main(argv: list[str] | None = None) -> None:
    """`python -m clearchart.codesets_cli ...` works before the subcommand is wired into `clearchart`."""
    parser = argparse.ArgumentParser(prog="clearchart")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["codesets", *(argv if argv is not None else sys.argv[1:])])
    args.func(args, get_settings())


if __name__ == "__main__":
    main()
