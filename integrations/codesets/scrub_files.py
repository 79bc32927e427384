"""Readers for the CMS quarterly NCCI PTP and MUE files (CSV or tab-separated) into edit-table rows.

File I/O lives here, apart from the pure tables in `models/claims/scrub_reference.py`; a file that does not
look like the CMS layout is refused with the row and what is wrong.
"""

import csv
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Final, cast

from models.claims.scrub_reference import (
    EPOCH,
    AdjudicationIndicator,
    ModifierIndicator,
    MueLimit,
    PtpEdit,
)


class TableFormatError(ValueError):
    """The file does not look like the CMS layout; the message names the row and what is wrong."""


Progress = Callable[[int], None]

_PTP_COLUMNS: Final = {
    "column1": ["column 1", "column1", "col 1", "column one"],
    "column2": ["column 2", "column2", "col 2", "column two"],
    "effective_from": ["effective date", "effective_from", "effective"],
    "effective_to": ["deletion date", "effective_to", "deletion"],
    "modifier_indicator": ["modifier", "modifier_indicator"],
}
_MUE_COLUMNS: Final = {
    "code": ["hcpcs/cpt code", "hcpcs", "cpt", "code"],
    "limit": [
        "practitioner services mue",
        "outpatient hospital services mue",
        "dme supplier",
        "mue value",
        "limit",
    ],
    "adjudication_indicator": ["mue adjudication indicator", "mai", "adjudication_indicator"],
    "effective_from": ["effective date", "effective_from"],
    "effective_to": ["deletion date", "end date", "effective_to"],
}
_OPTIONAL: Final = {"effective_from", "effective_to"}


def _norm(header: str) -> str:
    return re.sub(r"\s+", " ", header.replace("\n", " ")).strip().lower()


def _match_header(row: list[str], spec: dict[str, list[str]]) -> dict[str, int] | None:
    """Map wanted fields to column positions when ``row`` is the header row, else ``None``."""
    names = [_norm(cell) for cell in row]
    found: dict[str, int] = {}
    for wanted, prefixes in spec.items():
        for i, name in enumerate(names):
            if i not in found.values() and any(name.startswith(p) for p in prefixes):
                found[wanted] = i
                break
    required = set(spec) - _OPTIONAL
    return found if required <= set(found) else None


def _parse_date(raw: str) -> date | None:
    raw = raw.strip()
    if raw in ("", "*"):
        return None
    for fmt in ("%Y%m%d", "%Y-%m-%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(raw, fmt).date()  # noqa: DTZ007 - a calendar date, no time
        except ValueError:
            continue
    raise ValueError(f"unreadable date {raw!r} (use YYYYMMDD, YYYY-MM-DD or MM/DD/YYYY)")


def _rows(path: Path, spec: dict[str, list[str]]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line_no, fields)`` after the header; preamble, ``#`` comments and blanks skipped."""
    delimiter = "\t" if path.suffix.lower() in (".txt", ".tsv") else ","
    header: dict[str, int] | None = None
    with path.open(newline="", encoding="utf-8-sig") as fh:
        for line_no, row in enumerate(csv.reader(fh, delimiter=delimiter), start=1):
            if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = _match_header(row, spec)
                continue
            cells = [c.strip() for c in row]
            yield line_no, {k: cells[i] if i < len(cells) else "" for k, i in header.items()}
    if header is None:
        wanted = ", ".join(sorted(set(spec) - _OPTIONAL))
        raise TableFormatError(f"{path.name}: no header row with columns for {wanted}")


def load_ptp_csv(
    path: Path | str, *, progress: Progress | None = None, every: int = 10_000
) -> list[PtpEdit]:
    """Read an NCCI PTP file (practitioner or hospital, CSV or tab-separated TXT).

    Expected columns (header matched by prefix, case-insensitive, any preamble skipped):
    ``Column 1``, ``Column 2``, ``Effective Date`` (YYYYMMDD), ``Deletion Date`` (``*`` = none),
    ``Modifier`` (0 not allowed, 1 allowed, 9 not applicable). Other columns (the pre-1996 flag,
    the PTP edit rationale) are ignored. ``progress`` receives the row count every ``every`` rows
    and once at the end.
    """
    path, out = Path(path), list[PtpEdit]()
    for line_no, f in _rows(path, _PTP_COLUMNS):
        indicator = f["modifier_indicator"][:1]
        if indicator not in ("0", "1", "9") or not f["column1"] or not f["column2"]:
            raise TableFormatError(f"{path.name} line {line_no}: need both codes and 0/1/9")
        try:
            start = _parse_date(f.get("effective_from", "")) or EPOCH
            end = _parse_date(f.get("effective_to", ""))
        except ValueError as exc:
            raise TableFormatError(f"{path.name} line {line_no}: {exc}") from exc
        out.append(
            PtpEdit(f["column1"], f["column2"], start, end, cast(ModifierIndicator, indicator))
        )
        if progress is not None and len(out) % every == 0:
            progress(len(out))
    if progress is not None:
        progress(len(out))
    return out


def load_mue_csv(
    path: Path | str,
    *,
    effective_from: date = EPOCH,
    progress: Progress | None = None,
    every: int = 10_000,
) -> list[MueLimit]:
    """Read a CMS MUE file (practitioner, outpatient hospital or DME).

    Expected columns: ``HCPCS/CPT Code``, ``... MUE Values`` (the unit limit), ``MUE Adjudication
    Indicator`` (its leading digit, e.g. ``"2 Date of Service Edit: Policy"``). The quarterly files
    carry no dates, so ``effective_from`` (the quarter start) applies unless the file has
    ``Effective Date`` / ``Deletion Date`` columns.
    """
    path, out = Path(path), list[MueLimit]()
    for line_no, f in _rows(path, _MUE_COLUMNS):
        mai = f["adjudication_indicator"][:1]
        if mai not in ("1", "2", "3") or not f["limit"].isdigit() or not f["code"]:
            raise TableFormatError(f"{path.name} line {line_no}: need code, integer limit, MAI")
        try:
            start = _parse_date(f.get("effective_from", "")) or effective_from
            end = _parse_date(f.get("effective_to", ""))
        except ValueError as exc:
            raise TableFormatError(f"{path.name} line {line_no}: {exc}") from exc
        limit = int(f["limit"])
        out.append(MueLimit(f["code"], limit, cast(AdjudicationIndicator, mai), start, end))
        if progress is not None and len(out) % every == 0:
            progress(len(out))
    if progress is not None:
        progress(len(out))
    return out


def read_csv_dicts(path: Path | str) -> list[dict[str, str]]:
    """Rows of a small CSV with a header, ``#`` comment lines skipped (fee schedules, CARC maps)."""
    with Path(path).open(newline="", encoding="utf-8-sig") as fh:
        lines = [ln for ln in fh if ln.strip() and not ln.lstrip().startswith("#")]
    return [{k.strip(): (v or "").strip() for k, v in r.items()} for r in csv.DictReader(lines)]
