"""HCPCS Level II codes, loaded from a CSV table with effective dates.

CMS publishes HCPCS Level II quarterly with add and termination dates; its descriptors are public
domain. A tenant (or operations) loads the full file in this small format; `data/hcpcs_sample.csv`
is a real-code subset for the demo and tests. CPT text is AMA-licensed and never belongs here.

CSV columns: code, short_description, effective_from, effective_to (ISO dates; blank = open).
`effective_to` is the last day the code may be billed (CMS's termination date minus one day).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path

_HCPCS = re.compile(r"^[A-V]\d{4}$")
_COLUMNS = ("code", "short_description", "effective_from", "effective_to")
SAMPLE_FILE = "hcpcs_sample.csv"
_DATA_PACKAGE = "integrations.codesets.data"


class HcpcsTableError(ValueError):
    """A HCPCS table file is malformed; the message names the row."""


@dataclass(frozen=True)
class HcpcsCode:
    code: str
    short_description: str
    effective_from: date | None = None
    effective_to: date | None = None

    def in_effect(self, on: date) -> bool:
        starts_ok = self.effective_from is None or self.effective_from <= on
        return starts_ok and (self.effective_to is None or on <= self.effective_to)


class HcpcsTable:
    """HCPCS Level II codes by code; a code may be listed once."""

    def __init__(self, codes: Iterable[HcpcsCode]) -> None:
        self._codes: dict[str, HcpcsCode] = {}
        for c in codes:
            if c.code in self._codes:
                raise HcpcsTableError(f"HCPCS code {c.code} is listed twice")
            self._codes[c.code] = c

    def __len__(self) -> int:
        return len(self._codes)

    def __iter__(self) -> Iterator[HcpcsCode]:
        return iter(self._codes.values())

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and _key(code) in self._codes

    def get(self, code: str) -> HcpcsCode | None:
        return self._codes.get(_key(code))

    def is_active(self, code: str, on: date) -> bool:
        entry = self.get(code)
        return entry is not None and entry.in_effect(on)

    def description(self, code: str) -> str | None:
        entry = self.get(code)
        return entry.short_description if entry else None

    @classmethod
    def from_csv_text(cls, text: str, *, source: str = "<text>") -> HcpcsTable:
        reader = csv.DictReader(io.StringIO(text))
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise HcpcsTableError(f"{source}: missing columns {', '.join(missing)}")
        return cls(_parse_row(row, f"{source}:{reader.line_num}") for row in reader)

    @classmethod
    def from_csv(cls, path: str | Path) -> HcpcsTable:
        path = Path(path)
        return cls.from_csv_text(path.read_text(encoding="utf-8"), source=str(path))

    @classmethod
    def sample(cls) -> HcpcsTable:
        """The shipped real-code subset (`data/hcpcs_sample.csv`)."""
        text = resources.files(_DATA_PACKAGE).joinpath(SAMPLE_FILE).read_text("utf-8")
        return cls.from_csv_text(text, source=SAMPLE_FILE)


def _key(code: str) -> str:
    return "".join(code.split()).upper()


def _parse_row(row: dict[str, str], where: str) -> HcpcsCode:
    code = _key(row.get("code") or "")
    if not _HCPCS.match(code):
        raise HcpcsTableError(f"{where}: {code!r} is not a HCPCS Level II code (A–V + 4 digits)")
    start = _parse_date(row.get("effective_from"), where)
    end = _parse_date(row.get("effective_to"), where)
    if start and end and end < start:
        raise HcpcsTableError(f"{where}: {code} ends ({end}) before it starts ({start})")
    return HcpcsCode(code, (row.get("short_description") or "").strip(), start, end)


def _parse_date(value: str | None, where: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HcpcsTableError(f"{where}: {value!r} is not an ISO date (YYYY-MM-DD)") from None
