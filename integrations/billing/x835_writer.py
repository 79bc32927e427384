"""Writing an 835 from a `Remittance`: the sandbox clearinghouse's voice, and a round-trip check.

Only what `parse_835` reads is written, plus the segments X221A1 requires around it
(TRN03, DTM*405, N3/N4 of the payer, NM1*QC), so `parse_835(build_835(r)) == [r]`.
"""

from __future__ import annotations

from integrations.billing.errors import X12BuildError
from integrations.billing.remittance import Adjustment, ClaimPayment, LinePayment, Remittance
from integrations.billing.schemas import Interchange
from integrations.billing.writer import amount, clean, envelope, segment

VERSION = "005010X221A1"


def build_835(remittance: Remittance, interchange: Interchange) -> str:
    """One interchange holding one 835 transaction; BPR01 is H (notice only) when nothing is paid."""
    r = remittance
    expected = sum(c.paid_cents for c in r.claims) - sum(
        p.amount_cents for p in r.provider_adjustments
    )
    if expected != r.total_paid_cents:
        raise X12BuildError(
            f"total paid {r.total_paid_cents} != claim payments minus provider adjustments {expected}"
        )
    paid = r.total_paid_cents
    method = clean(r.payment_method, "payment method") if paid else "NON"
    body = [
        segment("BPR", "I" if paid else "H", amount(paid), "C", method, *[""] * 11,
                r.payment_date.strftime("%Y%m%d")),
        segment("TRN", "1", clean(r.trace_number, "trace number"), clean(r.payer_id, "payer id")),
        segment("DTM", "405", r.payment_date.strftime("%Y%m%d")),
        segment("N1", "PR", clean(r.payer_name, "payer name")),
        segment("N3", "PO BOX 1"),
        segment("N4", "SPRINGFIELD", "IL", "62701"),
        segment("PER", "BL", "EDI SUPPORT", "TE", "8005550100"),
        segment("N1", "PE", clean(r.payee.name, "payee name"), *(("XX", r.payee.npi) if r.payee.npi else ())),
    ]  # fmt: skip
    if r.claims:
        body.append(segment("LX", "1"))
    for claim in r.claims:
        body += _claim(claim)
    if r.provider_adjustments:
        npi = r.payee.npi or "UNKNOWN"
        pairs = [
            part
            for p in r.provider_adjustments
            for part in (
                [p.reason_code, *([p.reference] if p.reference else [])],
                amount(p.amount_cents),
            )
        ]
        fiscal = f"{r.payment_date.year}1231"
        for start in range(0, len(pairs), 12):  # six pairs per PLB
            body.append(segment("PLB", npi, fiscal, *pairs[start : start + 12]))
    return envelope(interchange, "HP", VERSION, "835", [body])


def _claim(c: ClaimPayment) -> list[str]:
    out = [
        segment("CLP", clean(c.claim_control_number, "CLP01"), c.status_code,
                amount(c.charge_cents), amount(c.paid_cents),
                amount(c.patient_responsibility_cents) if c.patient_responsibility_cents else "",
                c.filing_indicator or "ZZ", clean(c.payer_claim_number, "CLP07"), "11", "1"),
        *_cas(c.adjustments),
        segment("NM1", "QC", "1", clean(c.patient_last_name, "patient last name") or "UNKNOWN",
                clean(c.patient_first_name, "patient first name"), "", "", "",
                *(("MI", c.patient_member_id) if c.patient_member_id else ())),
    ]  # fmt: skip
    if c.remarks:
        out.append(segment("MOA", "", "", *c.remarks[:5]))
    for line in c.lines:
        out += _line(line)
    return out


def _line(line: LinePayment) -> list[str]:
    procedure = [line.qualifier, clean(line.procedure_code, "procedure"), *line.modifiers]
    out = [segment("SVC", procedure, amount(line.charge_cents), amount(line.paid_cents), "",
                   _units(line))]  # fmt: skip
    if line.service_date:
        out.append(segment("DTM", "472", line.service_date.strftime("%Y%m%d")))
    out += _cas(line.adjustments)
    out += [segment("LQ", "HE", clean(code, "remark code")) for code in line.remarks]
    return out


def _units(line: LinePayment) -> str:
    text = format(line.units.normalize(), "f")
    return text


def _cas(adjustments: list[Adjustment]) -> list[str]:
    """Group consecutive adjustments of one group code, six triplets per CAS."""
    out: list[str] = []
    runs: list[list[Adjustment]] = []
    for adj in adjustments:
        if runs and runs[-1][0].group == adj.group and len(runs[-1]) < 6:
            runs[-1].append(adj)
        else:
            runs.append([adj])
    for run in runs:
        triplets = [
            part
            for a in run
            for part in (a.carc, amount(a.amount_cents),
                         "" if a.quantity is None else format(a.quantity.normalize(), "f"))
        ]  # fmt: skip
        out.append(segment("CAS", run[0].group, *triplets))
    return out
