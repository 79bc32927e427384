"""Shared test helpers: sample files, pyx12 validation, a representative 837P input."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyx12.params
import pyx12.x12n_document

from integrations.billing.schemas import (
    BillingProvider,
    Claim837,
    Interchange,
    Payer,
    Receiver,
    RenderingProvider,
    ServiceLine,
    Submitter,
    Subscriber,
)
from integrations.billing.x837p import ClaimEntry

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "x12"


def sample(name: str) -> str:
    return (SAMPLES / name).read_text()


def pyx12_findings(text: str) -> tuple[bool, list[str], str]:
    """Run pyx12's validator in-process: (verdict, every error string it reported, its 999)."""
    ack, report = io.StringIO(), io.StringIO()
    ok = pyx12.x12n_document.x12n_document(
        pyx12.params.params(), io.StringIO(text), ack, None, None, report
    )
    errors: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "errors" and isinstance(value, list):
                    errors.extend(f"{e.get('err_cde')}: {e.get('err_str')}" for e in value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(json.loads(report.getvalue()))
    return bool(ok), errors, ack.getvalue()


INTERCHANGE = Interchange("CLEARCHART", "SANDBOXCH", 42, datetime(2025, 3, 4, 10, 30, tzinfo=UTC))
SUBMITTER = Submitter("CLEARCHART RCM", "CLEARCHART", "BILLING DESK", "(555) 010-2000")
RECEIVER = Receiver("SANDBOX CLEARINGHOUSE", "SANDBOXCH")
BILLING = BillingProvider(
    "1234567893", "NORTHWIND CLINIC", "12-3456789", "100 MAIN ST", "SPRINGFIELD", "IL",
    "62701", "SUITE 2",
)  # fmt: skip
JANE = Subscriber(
    "W123456789", "DOE", "JANE", date(1980, 5, 17), "F", "1 ELM ST", "SPRINGFIELD", "IL",
    "627011234",
)  # fmt: skip
RAJ = Subscriber(
    "M555", "PATEL", "RAJ", date(1957, 1, 2), "M", "9 OAK AVE", "PEORIA", "IL", "61602"
)
AETNA = Payer("60054", "AETNA")
MEDICARE = Payer("00952", "MEDICARE PART B", "MB")


def claim(ccn: str, *lines: ServiceLine, diagnoses: list[str] | None = None) -> Claim837:
    return Claim837(
        claim_control_number=ccn,
        total_charge_cents=sum(line.charge_cents for line in lines),
        place_of_service="11",
        diagnoses=diagnoses or ["E11.9", "I10", "Z79.4"],
        lines=list(lines),
        rendering_provider=RenderingProvider("9876543213", "SMITH", "ALEX"),
    )


def line(code: str, cents: int, *modifiers: str, pointers: list[int] | None = None) -> ServiceLine:
    return ServiceLine(code, cents, 1, pointers or [1], date(2025, 3, 1), list(modifiers))


def claims(*ccns: str) -> list[ClaimEntry]:
    """One claim per CLM01, alternating two patients and payers, two lines each."""
    out: list[ClaimEntry] = []
    for n, ccn in enumerate(ccns):
        subscriber, payer = (JANE, AETNA) if n % 2 == 0 else (RAJ, MEDICARE)
        out.append((subscriber, payer, claim(
            ccn, line("99214", 15000, "25", pointers=[1, 2, 3]), line("20610", 10025, "RT", "59")
        )))  # fmt: skip
    return out
