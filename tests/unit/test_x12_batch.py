"""Batch interchanges: many one-claim transaction sets under one ISA/GS, checked by pyx12."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from integrations.billing.batch import batch_837p, transaction_body
from integrations.billing.errors import X12BuildError
from integrations.billing.segments import tokenize
from integrations.billing.x837p import build_837p
from integrations.billing.x837p_reader import read_837p
from integrations.billing.x999 import parse_999
from tests.unit.x12_support import BILLING, INTERCHANGE, RECEIVER, SUBMITTER, claims, pyx12_findings

BATCH = replace(INTERCHANGE, control_number=123456789, created_at=datetime(2025, 3, 5, 8, 0, tzinfo=UTC))


def one(ccn: str, n: int) -> str:
    return build_837p(replace(INTERCHANGE, control_number=n), SUBMITTER, RECEIVER, BILLING, claims(ccn))


def test_three_claims_become_three_transaction_sets_of_one_interchange_that_pyx12_accepts() -> None:
    text, controls = batch_837p(BATCH, [one("ENC-1", 1), one("ENC-2", 2), one("ENC-3", 3)])
    segments = tokenize(text)
    ids = [s.id for s in segments]
    assert (ids.count("ISA"), ids.count("GS"), ids.count("ST"), ids.count("SE"), ids.count("CLM")) == (1, 1, 3, 3, 3)
    assert controls == ["0001", "0002", "0003"]
    assert [s.get(2) for s in segments if s.id == "ST"] == controls
    assert segments[-2].id == "GE"
    assert segments[-2].get(1) == "3"
    assert segments[-2].get(2) == "123456789"
    assert segments[-1].get(2) == "123456789"
    assert [c.claim_control_number for c in read_837p(text)] == ["ENC-1", "ENC-2", "ENC-3"]
    ok, errors, ack = pyx12_findings(text)
    assert ok
    assert errors == []
    (group,) = parse_999(ack)
    assert group.group_control_number == "123456789"
    assert (group.status, group.transactions_included, group.transactions_accepted) == ("A", 3, 3)


def test_a_stored_claim_with_two_transaction_sets_or_foreign_delimiters_is_refused() -> None:
    doubled, _ = batch_837p(BATCH, [one("ENC-1", 1), one("ENC-2", 2)])
    with pytest.raises(X12BuildError, match="exactly one transaction set"):
        transaction_body(doubled)
    foreign = one("ENC-1", 1).replace("*", "|")
    with pytest.raises(X12BuildError, match="delimiters"):
        transaction_body(foreign)
    with pytest.raises(X12BuildError, match="at least one claim"):
        batch_837p(BATCH, [])
