"""835 intake without the stack: how many claim payments per second are parsed and matched.

    python -m bench.remittance --payments 20000 --files 5

Builds 835 files (X12 5010, two service lines per claim, contractual adjustments) with the
project's writer, then times what `POST /v1/remittances` does before it touches a workflow:
the checked parse (`services.billing_intake.read_835`) and the match of every CLP01 against the
claims it could settle (here an in-memory index of the control numbers, standing in for the one
`IN (...)` query per file). Applying payments to workflows is an update per claim, measured by
`bench.intake` as any other update.
"""

import argparse
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal

from integrations.billing.remittance import Adjustment, ClaimPayment, LinePayment, Payee, Remittance
from integrations.billing.schemas import Interchange
from integrations.billing.x835_writer import build_835
from services.billing_intake import read_835


def payment(n: int) -> ClaimPayment:
    lines = [
        LinePayment(code, 15000, 12000, Decimal(1), date(2026, 11, 2), [], [Adjustment("CO", "45", 3000)])
        for code in ("99214", "36415")
    ]
    return ClaimPayment(
        claim_control_number=f"CC{n:014d}",
        status_code="1",
        charge_cents=30000,
        paid_cents=24000,
        patient_responsibility_cents=0,
        payer_claim_number=f"PCN{n:09d}",
        filing_indicator="12",
        patient_member_id=f"M{n:010d}",
        patient_last_name="DOE",
        patient_first_name="JANE",
        lines=lines,
    )


def file_835(first: int, count: int, control: int) -> str:
    claims = [payment(n) for n in range(first, first + count)]
    remittance = Remittance(
        payer_name="BENCH HEALTH PLAN",
        payer_id="1999999999",
        payee=Payee("BENCH CLINIC", "1234567893"),
        trace_number=f"EFT{control:09d}",
        payment_date=date(2026, 12, 1),
        total_paid_cents=sum(c.paid_cents for c in claims),
        claims=claims,
        payment_method="ACH",
    )
    return build_835(remittance, Interchange("BENCHPAYER", "CLEARCHART", control, datetime.now(UTC)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.remittance", description=__doc__.split("\n")[0])
    parser.add_argument("--payments", type=int, default=20000, help="claim payments in all (default 20000)")
    parser.add_argument("--files", type=int, default=5, help="835 files they are spread over (default 5)")
    args = parser.parse_args(argv)
    per_file = max(1, args.payments // args.files)
    files = [file_835(i * per_file, per_file, i + 1) for i in range(args.files)]
    known = {f"CC{n:014d}": n for n in range(per_file * args.files)}
    began = time.perf_counter()
    matched = 0
    for text in files:
        for remittance in read_835(text):
            numbers = [c.claim_control_number for c in remittance.claims]
            matched += sum(1 for number in numbers if number in known)
    seconds = time.perf_counter() - began
    total = per_file * args.files
    if matched != total:
        raise SystemExit(f"matched {matched} of {total} claim payments")
    megabytes = sum(len(t) for t in files) / 1e6
    sys.stdout.write(
        f"835 parse + match: {total} claim payments in {args.files} file(s) ({megabytes:.1f} MB), "
        f"{seconds:.2f} s, {total / seconds:,.0f} payments/s\n"
    )


if __name__ == "__main__":
    main()
