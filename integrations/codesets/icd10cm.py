"""ICD-10-CM by release, built on the CMS tabular data that `simple_icd_10_cm` ships.

Shipped release: simple_icd_10_cm 1.5.0 bundles the CMS FY2026 ICD-10-CM tabular list with the
April 1, 2026 update (`icd10c-tabular-April-1-2026.xml`, `<version>2026</version>`). A code is
billable when it is a leaf of that tree (7th-character extensions included), a header otherwise.

Effective dates. ICD-10-CM fiscal-year releases take effect on October 1, and a claim is coded
with the release in force on the date of service (DOS). We model each loaded release as
`Release(fiscal_year, effective_from, effective_to)` and pick the one covering the DOS:

- The shipped release serves FY2026 from 2025-10-01. Codes the April 1, 2026 update added
  (e.g. QA0.-) are therefore also accepted for DOS 2025-10-01..2026-03-31; the payer's scrubber
  catches that rare case, and one release per fiscal year keeps the model simple.
- The newest loaded release stays in force after its fiscal year (`effective_to=None`) until a
  newer one is loaded: refusing every chart on October 1 because an upgrade is late would stop
  the whole coding operation. `Icd10cm.stale_for(dos)` says when that fallback is in use, so
  operations can alert and load the new release (`Icd10Table.from_cms_files`).
- A DOS before the earliest loaded release is `not_in_effect` for every code: an older year's
  code set differs (added, deleted, expanded codes) and we cannot vouch for it. A code that
  exists in another loaded release but not in the one in force on the DOS is `not_in_effect` too.
"""

from __future__ import annotations

import bisect
import re
import sys
import threading
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from types import ModuleType

from models.coding.rules import Icd10Status, normalize_icd10

SearchHit = tuple[str, str, bool]  # (code, description, billable)

# Categories and subcategories; chapters ("4") and blocks ("E08-E13") are navigation only.
_CODE = re.compile(r"^[A-Z][0-9A-Z]{2}(\.[0-9A-Z]{1,4})?$")
_CODE_LIKE_QUERY = re.compile(r"^[A-Z]([0-9A-Z]?\d[0-9A-Z]*)?$")
_WORD = re.compile(r"[a-z0-9]+")
_LIBRARY_LOCK = threading.Lock()


def fiscal_year_of(on: date) -> int:
    """The federal fiscal year a date falls in (FY2027 starts 2026-10-01)."""
    return on.year + 1 if on.month >= 10 else on.year


@dataclass(frozen=True)
class Release:
    fiscal_year: int
    effective_from: date
    effective_to: date | None = None  # last day in force; None: until a newer release loads

    @classmethod
    def for_fiscal_year(cls, fiscal_year: int) -> Release:
        return cls(fiscal_year, date(fiscal_year - 1, 10, 1))


SHIPPED_RELEASE = Release.for_fiscal_year(2026)
SHIPPED_SOURCE = "CMS ICD-10-CM FY2026, April 1, 2026 update (simple_icd_10_cm 1.5.0)"


@dataclass(frozen=True)
class Icd10Entry:
    code: str  # with the dot
    description: str
    billable: bool


class Icd10Table:
    """The codes of one release, with a lazily built search index."""

    def __init__(self, release: Release, entries: Iterable[Icd10Entry]) -> None:
        self.release = release
        self._entries = {e.code: e for e in entries}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, code: str) -> Icd10Entry | None:
        return self._entries.get(normalize_icd10(code))

    @classmethod
    def from_simple_icd_10_cm(cls, release: Release = SHIPPED_RELEASE) -> Icd10Table:
        """Snapshot the release the library has loaded (its bundled one unless changed)."""
        with _LIBRARY_LOCK, _quiet_library() as cm:
            return cls(release, _snapshot(cm))

    @classmethod
    def from_cms_files(cls, release: Release, code_list: str, tabular_xml: str) -> Icd10Table:
        """Load another CMS release (codes file + tabular XML), then restore the bundled one."""
        with _LIBRARY_LOCK, _quiet_library() as cm:
            cm.change_version(code_list, tabular_xml)
            try:
                return cls(release, _snapshot(cm))
            finally:
                cm.change_version()

    @cached_property
    def _by_compact_code(self) -> tuple[list[str], list[Icd10Entry]]:
        ordered = sorted(self._entries.values(), key=lambda e: e.code.replace(".", ""))
        return [e.code.replace(".", "") for e in ordered], ordered

    @cached_property
    def _word_index(self) -> tuple[list[str], list[set[int]], list[Icd10Entry], list[str]]:
        """Sorted vocabulary with postings, so each query word matches words by prefix."""
        entries = list(self._entries.values())
        postings: dict[str, set[int]] = {}
        lowered = [e.description.lower() for e in entries]
        for i, text in enumerate(lowered):
            for word in _WORD.findall(text):
                postings.setdefault(word, set()).add(i)
        vocab = sorted(postings)
        return vocab, [postings[w] for w in vocab], entries, lowered

    def search(self, text_or_prefix: str, limit: int = 20, offset: int = 0) -> list[SearchHit]:
        """The best matches first (see `ranked`), one page of them."""
        if limit <= 0:
            return []
        return [(e.code, e.description, e.billable) for e in self.ranked(text_or_prefix)[offset : offset + limit]]

    def ranked(self, text_or_prefix: str) -> list[Icd10Entry]:
        """Every match, most relevant first.

        A code-like query ("e11.6") lists the codes it starts, closest first: the code itself,
        then its direct children, then theirs (E11.65 comes right after E11.64, not after the
        forty codes below E11.61-E11.64). Other queries match words of the descriptions by
        prefix: descriptions holding the query as a phrase first, then those starting with it,
        then the shorter (less specific) ones, in tabular order. A code token mixed with words
        ("E11 hyperglycemia") narrows the words to that code's family.
        """
        query = " ".join(text_or_prefix.split())
        if not query:
            return []
        compact = query.upper().replace(".", "").replace(" ", "")
        if _CODE_LIKE_QUERY.match(compact):
            family = self._family(compact)
            if family:
                return sorted(family, key=lambda e: (len(e.code), e.code))
        tokens = query.split()
        code_tokens = [
            t.upper().replace(".", "") for t in tokens
            if len(tokens) > 1 and _CODE_LIKE_QUERY.match(t.upper().replace(".", "")) and any(c.isdigit() for c in t)
        ]
        words = _WORD.findall(" ".join(t for t in tokens if t.upper().replace(".", "") not in code_tokens).lower())
        if not words:
            return []
        vocab, postings, entries, lowered = self._word_index
        matched: set[int] | None = None
        for word in words:
            lo = bisect.bisect_left(vocab, word)
            hi = bisect.bisect_left(vocab, word + "\uffff")
            found: set[int] = set().union(*postings[lo:hi])
            matched = found if matched is None else matched & found
            if not matched:
                return []
        hits = [i for i in matched or () if all(entries[i].code.replace(".", "").startswith(c) for c in code_tokens)]
        phrase = " ".join(words)
        return [entries[i] for i in sorted(hits, key=lambda i: (phrase not in lowered[i], not lowered[i].startswith(words[0]), len(lowered[i]), i))]

    def _family(self, compact: str) -> list[Icd10Entry]:
        keys, ordered = self._by_compact_code
        i = bisect.bisect_left(keys, compact)
        j = bisect.bisect_left(keys, compact + "\uffff")
        return ordered[i:j]


class Icd10cm:
    """Loaded releases, resolved by date of service. Loads the shipped release on first use."""

    def __init__(self, tables: Sequence[Icd10Table] | None = None) -> None:
        self._given = list(tables) if tables is not None else None
        self._shipped: Icd10Table | None = None
        self._spans: list[tuple[Icd10Table, date | None]] | None = None
        self._lock = threading.Lock()

    @property
    def _tables(self) -> list[tuple[Icd10Table, date | None]]:
        """Tables ordered by start, each with its last day in force (None: open-ended)."""
        if self._spans is None:
            with self._lock:
                if self._spans is None:
                    given = self._given
                    if given is None:
                        given = self._given = [Icd10Table.from_simple_icd_10_cm()]
                        self._shipped = given[0]
                    self._spans = _spans(given)
        return self._spans

    def shipped_table(self) -> Icd10Table:
        """The release this code ships (built once, kept when operator releases are added)."""
        with self._lock:
            if self._shipped is None:
                given = self._given if self._given is not None else [Icd10Table.from_simple_icd_10_cm()]
                self._given = given
                self._shipped = given[0]
            return self._shipped

    def serve_loaded(self, tables: Sequence[Icd10Table]) -> None:
        """Serve operator-loaded releases; a loaded fiscal year replaces the shipped one's."""
        shipped = self.shipped_table()
        years = {t.release.fiscal_year for t in tables}
        merged = [*([shipped] if shipped.release.fiscal_year not in years else []), *tables]
        with self._lock:
            self._spans = _spans(merged)

    @property
    def releases(self) -> list[Release]:
        return [t.release for t, _ in self._tables]

    def table_for(self, on: date) -> Icd10Table | None:
        """The release in force on a date of service, if any loaded release covers it."""
        for table, end in reversed(self._tables):
            if table.release.effective_from <= on and (end is None or on <= end):
                return table
        return None

    def release_for(self, on: date) -> Release | None:
        table = self.table_for(on)
        return table.release if table is not None else None

    def stale_for(self, on: date) -> bool:
        """True when the DOS is served by an older fiscal year's release (load the new one)."""
        release = self.release_for(on)
        return release is not None and release.fiscal_year < fiscal_year_of(on)

    def status(self, code: str, on: date) -> Icd10Status:
        table = self.table_for(on)
        if table is None:
            return "not_in_effect"
        entry = table.get(code)
        if entry is not None:
            return "billable" if entry.billable else "header"
        if any(other.get(code) for other, _ in self._tables if other is not table):
            return "not_in_effect"
        return "unknown"

    def description(self, code: str) -> str | None:
        """The description from the newest release that has the code."""
        for table, _ in reversed(self._tables):
            entry = table.get(code)
            if entry is not None:
                return entry.description
        return None

    def search(
        self, text_or_prefix: str, limit: int = 20, *, on: date | None = None, offset: int = 0
    ) -> list[SearchHit]:
        """Search the release in force on `on` (default: the newest loaded release)."""
        if on is not None:
            table = self.table_for(on)
        else:
            table = self._tables[-1][0] if self._tables else None
        return table.search(text_or_prefix, limit, offset) if table is not None else []


def _spans(tables: Sequence[Icd10Table]) -> list[tuple[Icd10Table, date | None]]:
    """A release without an end date runs until the next one starts."""
    ordered = sorted(tables, key=lambda t: t.release.effective_from)
    spans: list[tuple[Icd10Table, date | None]] = []
    for i, table in enumerate(ordered):
        end = table.release.effective_to
        if end is None and i + 1 < len(ordered):
            end = ordered[i + 1].release.effective_from - timedelta(days=1)
        spans.append((table, end))
    return spans


def release_library() -> bool:
    """Forget the library's parsed tabular list once this process has built what it needs from it.

    `simple_icd_10_cm` keeps its whole tree alive (about 600,000 objects, 170 MB) for as long as
    it is imported, while a table keeps only its ~98,000 entries. Dropping the modules lets that
    memory be reused; a later build imports the library again (~1.5 s). Answers whether it was
    loaded."""
    with _LIBRARY_LOCK:
        names = [n for n in sys.modules if n == "simple_icd_10_cm" or n.startswith("simple_icd_10_cm.")]
        for name in names:
            del sys.modules[name]
    return bool(names)


@contextmanager
def _quiet_library() -> Iterator[ModuleType]:
    """Import the library lazily (parsing its XML takes ~1.5 s) without its resource warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm

        yield simple_icd_10_cm


def _snapshot(cm: ModuleType) -> list[Icd10Entry]:
    return [
        Icd10Entry(code, cm.get_description(code), cm.is_leaf(code))
        for code in cm.get_all_codes(with_dots=True)
        if _CODE.match(code)
    ]
