"""Verified quotations: an excerpt cited as evidence must occur in the document version it cites.

Whitespace is the one thing normalised (line breaks, runs of spaces, tabs, non-breaking spaces
all compare as one space), because a selection copied out of a rendered note reflows it; case,
punctuation and wording must match, so a paraphrase is never passed off as a quote. Offsets are
character positions in the stored document text, so the packet can show the quote in context.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from models.coding.rules import CodingIssue

CONTEXT_CHARS = 80


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def _collapse(text: str) -> tuple[str, list[int]]:
    """`text` with each whitespace run as one space, and each output char's index in `text`."""
    out: list[str] = []
    where: list[int] = []
    in_space = False
    for i, ch in enumerate(text):
        if ch.isspace():
            if not in_space:
                out.append(" ")
                where.append(i)
            in_space = True
        else:
            out.append(ch)
            where.append(i)
            in_space = False
    return "".join(out), where


def normalise(text: str) -> str:
    return _collapse(text)[0].strip()


def locate(excerpt: str, document: str, near: int | None = None) -> Span | None:
    """Where `excerpt` occurs in `document` (whitespace-normalised), as offsets into `document`.

    With several occurrences the one starting closest to `near` wins (the reader's selection),
    else the first.
    """
    needle = normalise(excerpt)
    if not needle:
        return None
    hay, where = _collapse(document)
    found: list[int] = []
    at = hay.find(needle)
    while at != -1:
        found.append(at)
        at = hay.find(needle, at + 1)
    if not found:
        return None
    pick = found[0] if near is None else min(found, key=lambda i: abs(where[i] - near))
    return Span(where[pick], where[pick + len(needle) - 1] + 1)


def verify_quote(
    document_id: str, excerpt: str, texts: Mapping[str, str | None], *, path: str, code: str, near: int | None = None
) -> tuple[Span | None, CodingIssue | None]:
    """The excerpt's span in its document, or the issue that refuses it (an unknown document is
    reported by the coding rules, so it is no issue here)."""
    if document_id not in texts:
        return None, None
    text = texts[document_id]
    short = excerpt if len(excerpt) <= 120 else excerpt[:119] + "…"
    if text is None:
        msg = (
            f"Evidence for {code or '(blank)'} cites document {document_id!r}, which has no text to quote "
            f"(excerpt \"{short}\"): cite a document whose text the chart holds."
        )
        return None, CodingIssue(f"{path}.excerpt", code, "evidence.document_has_no_text", msg)
    span = locate(excerpt, text, near)
    if span is None:
        msg = (
            f"Evidence for {code or '(blank)'} quotes \"{short}\", which does not occur in document "
            f"{document_id!r}: quote the note verbatim (only whitespace may differ)."
        )
        return None, CodingIssue(f"{path}.excerpt", code, "evidence.excerpt_not_in_document", msg)
    return span, None


def quoted_at(excerpt: str, document: str, span: Span) -> bool:
    """True when the document still holds the excerpt at the stored offsets."""
    if not 0 <= span.start < span.end <= len(document):
        return False
    return normalise(document[span.start : span.end]) == normalise(excerpt)


def in_context(document: str, span: Span, chars: int = CONTEXT_CHARS) -> dict[str, str]:
    """The quote with up to `chars` characters either side, for a reader to judge it in place."""
    return {
        "before": document[max(span.start - chars, 0) : span.start],
        "quote": document[span.start : span.end],
        "after": document[span.end : span.end + chars],
    }


def highlight(document: str, spans: list[Span]) -> list[tuple[str, bool]]:
    """The document cut into (text, cited) segments; overlapping spans merge into one mark."""
    merged: list[list[int]] = []
    for s in sorted(spans, key=lambda s: s.start):
        if not 0 <= s.start < s.end <= len(document):
            continue
        if merged and s.start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], s.end)
        else:
            merged.append([s.start, s.end])
    out: list[tuple[str, bool]] = []
    pos = 0
    for start, end in merged:
        if start > pos:
            out.append((document[pos:start], False))
        out.append((document[start:end], True))
        pos = end
    if pos < len(document) or not out:
        out.append((document[pos:], False))
    return out


def spans_by_document(codes: Mapping[str, object] | None) -> dict[str, list[Span]]:
    """Cited spans of a stored coding (`encounters.codes`), grouped by document id."""
    out: dict[str, list[Span]] = {}
    if not isinstance(codes, Mapping):
        return out
    for kind in ("diagnoses", "procedures"):
        for line in codes.get(kind) or []:  # type: ignore[attr-defined]
            for ev in line.get("evidence", []):
                if isinstance(ev.get("start"), int) and isinstance(ev.get("end"), int):
                    out.setdefault(str(ev.get("document_id")), []).append(Span(ev["start"], ev["end"]))
    return out
