"""Mutated samples: the parsers either succeed or raise X12ParseError, nothing else."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.billing.errors import X12ParseError
from integrations.billing.x277ca import parse_277ca
from integrations.billing.x835 import parse_835
from integrations.billing.x837p_reader import read_837p
from integrations.billing.x999 import parse_999
from tests.unit.x12_support import sample

Parser = Callable[[str | bytes], object]
CASES: list[tuple[str, Parser]] = [
    ("835-denial-and-paid.edi", parse_835),
    ("835-emedny-denials.edi", parse_835),
    ("835-single-line-paid-contractual.edi", parse_835),
    ("277CA-accepted-emedny.edi", parse_277ca),
    ("277CA-rejected-A7-emedny.edi", parse_277ca),
    ("999-rejected-emedny.edi", parse_999),
    ("837P-moov-io-sample.edi", read_837p),
]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
case = st.sampled_from(CASES)


def _survives(parser: Parser, data: str | bytes) -> None:
    try:
        parser(data)
    except X12ParseError as exc:
        detail = exc.detail
        assert detail, "X12ParseError must carry an actionable message"


@FUZZ
@given(case, st.data())
def test_truncation(chosen: tuple[str, Parser], data: st.DataObject) -> None:
    text = sample(chosen[0])
    _survives(chosen[1], text[: data.draw(st.integers(0, len(text)))])


@FUZZ
@given(case, st.data())
def test_dropped_and_duplicated_segments(chosen: tuple[str, Parser], data: st.DataObject) -> None:
    segments = sample(chosen[0]).split("~")
    index = data.draw(st.integers(0, len(segments) - 1))
    if data.draw(st.booleans()):
        del segments[index]
    else:
        segments.insert(index, segments[index])
    _survives(chosen[1], "~".join(segments))


@FUZZ
@given(case, st.data())
def test_corrupted_numbers(chosen: tuple[str, Parser], data: st.DataObject) -> None:
    text = sample(chosen[0])
    digits = [i for i, ch in enumerate(text) if ch.isdigit() or ch == "."]
    for _ in range(data.draw(st.integers(1, 5))):
        i = data.draw(st.sampled_from(digits))
        junk = data.draw(st.sampled_from(["", "-", ".", "..", "E5", "1" * 30, "NaN", "x", "0.001"]))
        text = text[:i] + junk + text[i + 1 :]
    _survives(chosen[1], text)


@FUZZ
@given(case, st.data())
def test_garbage_bytes(chosen: tuple[str, Parser], data: st.DataObject) -> None:
    raw = sample(chosen[0]).encode()
    i = data.draw(st.integers(0, len(raw)))
    _survives(chosen[1], raw[:i] + data.draw(st.binary(min_size=1, max_size=40)) + raw[i:])


@FUZZ
@given(st.sampled_from([parse_835, parse_277ca, parse_999, read_837p]), st.text(max_size=300))
def test_arbitrary_text(parser: Parser, text: str) -> None:
    _survives(parser, text)


@FUZZ
@given(case, st.data())
def test_swapped_delimiters(chosen: tuple[str, Parser], data: st.DataObject) -> None:
    text = sample(chosen[0])
    a, b = data.draw(st.sampled_from([("*", ":"), ("~", "*"), (":", "^"), ("~", "\n"), ("*", "|")]))
    _survives(chosen[1], text.replace(a, "\0").replace(b, a).replace("\0", b))
