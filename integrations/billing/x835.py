"""Parsing X12 5010 835 remittance advice (005010X221A1) into `Remittance` values.

oxedi's typed tables need pyarrow, which this project does not ship, and they flatten away
modifiers and remark codes; so the loops are walked here, on the shared tokenizer, and oxedi
serves the tests as an independent check of the 835 writer. Every CAS triplet (up to six
per segment) is kept. Any malformed input raises `X12ParseError` naming the segment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from integrations.billing.errors import X12ParseError
from integrations.billing.remittance import (
    CLAIM_STATUS_CODES,
    Adjustment,
    ClaimPayment,
    LinePayment,
    Payee,
    ProviderAdjustment,
    Remittance,
)
from integrations.billing.segments import Segment, read

VERSION = "005010X221A1"
GROUP_CODES = frozenset({"CO", "PR", "OA", "PI", "CR"})
_MIA_REMARKS = (5, 20, 21, 22, 23)
_MOA_REMARKS = (3, 4, 5, 6, 7)


@dataclass
class _Line:
    svc: Segment
    service_date: date | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)


@dataclass
class _Claim:
    clp: Segment
    patient: Segment | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    lines: list[_Line] = field(default_factory=list)


@dataclass
class _Header:
    bpr: Segment | None = None
    trn: Segment | None = None
    payer: Segment | None = None
    payee: Segment | None = None
    plb: list[ProviderAdjustment] = field(default_factory=list)


def parse_835(data: str | bytes) -> list[Remittance]:
    """One `Remittance` per ST..SE transaction (a file may carry several payments)."""
    return [_remittance(transaction) for transaction in read(data, "835", VERSION)]


def _remittance(segments: list[Segment]) -> Remittance:
    header, claims = _Header(), list[_Claim]()
    for seg in segments[1:-1]:
        claim = claims[-1] if claims else None
        line = claim.lines[-1] if claim and claim.lines else None
        match seg.id:
            case "BPR":
                header.bpr = seg
            case "TRN" if claim is None:
                header.trn = seg
            case "N1" if claim is None and seg.get(1) in ("PR", "PE"):
                header.payer, header.payee = (
                    (seg, header.payee) if seg.get(1) == "PR" else (header.payer, seg)
                )
            case "CLP":
                claims.append(_Claim(seg))
            case "PLB":
                header.plb += _plb(seg)
            case "SVC" | "CAS" | "MOA" | "MIA" | "NM1" | "LQ" | "DTM" if claim is not None:
                _claim_detail(seg, claim, line)
            case "SVC" | "CAS" | "MOA" | "MIA" | "LQ":
                raise X12ParseError(f"{seg.where}: {seg.id} appears before any CLP claim")
    bpr = _required(header.bpr, segments[0], "BPR (financial information)")
    trn = _required(header.trn, segments[0], "TRN (reassociation trace number)")
    payer = _required(header.payer, segments[0], "N1*PR (payer identification)")
    payee = _required(header.payee, segments[0], "N1*PE (payee identification)")
    return Remittance(
        payer_name=payer.require(2, "payer name"),
        payer_id=trn.get(3),
        payee=Payee(payee.require(2, "payee name"), payee.get(4) if payee.get(3) == "XX" else ""),
        trace_number=trn.require(2, "check or EFT trace number"),
        payment_date=bpr.date(16, "payment date"),
        total_paid_cents=bpr.cents(2, "total payment amount"),
        claims=[_freeze(claim) for claim in claims],
        provider_adjustments=header.plb,
        payment_method=bpr.get(4),
    )


def _required(seg: Segment | None, st: Segment, what: str) -> Segment:
    if seg is None:
        raise X12ParseError(f"transaction {st.get(2)!r} ({st.where}): missing {what}")
    return seg


def _claim_detail(seg: Segment, claim: _Claim, line: _Line | None) -> None:
    match seg.id:
        case "SVC":
            claim.lines.append(_Line(seg))
        case "CAS":
            (line.adjustments if line else claim.adjustments).extend(cas(seg))
        case "MOA" | "MIA":
            positions = _MOA_REMARKS if seg.id == "MOA" else _MIA_REMARKS
            claim.remarks += [seg.get(n) for n in positions if seg.get(n)]
        case "NM1" if seg.get(1) == "QC" and line is None:
            claim.patient = seg
        case "LQ" if line is not None and seg.get(1) == "HE":
            line.remarks.append(seg.require(2, "remark code"))
        case "DTM" if line is not None and seg.get(1) in ("472", "150"):
            if line.service_date is None or seg.get(1) == "472":
                line.service_date = seg.date(2, "service date")


def cas(seg: Segment) -> list[Adjustment]:
    """All CARC triplets of one CAS segment (CAS02-04, 05-07, ... 17-19)."""
    group = seg.require(1, "claim adjustment group code")
    if group not in GROUP_CODES:
        raise X12ParseError(
            f"{seg.where}: group code {group!r} is not one of {sorted(GROUP_CODES)}"
        )
    adjustments = []
    for start in range(2, 20, 3):
        reason = seg.get(start)
        if not reason:
            if seg.get(start + 1):
                raise X12ParseError(f"{seg.where}: amount CAS{start + 1:02d} without a reason code")
            continue
        adjustments.append(
            Adjustment(group, reason, seg.cents(start + 1, "adjustment amount"),
                       seg.decimal(start + 2, "adjustment quantity"))
        )  # fmt: skip
    if not adjustments:
        raise X12ParseError(f"{seg.where}: CAS carries no reason code/amount pair")
    return adjustments


def _plb(seg: Segment) -> list[ProviderAdjustment]:
    seg.require(1, "provider identifier")
    seg.date(2, "fiscal period date")
    out = []
    for start in range(3, 15, 2):
        if not seg.get(start):
            continue
        reason, *reference = seg.components(start)
        out.append(
            ProviderAdjustment(reason, seg.delimiters.component.join(reference),
                               seg.cents(start + 1, "provider adjustment amount"))
        )  # fmt: skip
    if not out:
        raise X12ParseError(f"{seg.where}: PLB carries no adjustment reason/amount pair")
    return out


def _freeze(claim: _Claim) -> ClaimPayment:
    clp, patient = claim.clp, claim.patient
    status = clp.require(2, "claim status code")
    if status not in CLAIM_STATUS_CODES:
        raise X12ParseError(f"{clp.where}: CLP02 claim status {status!r} is not one of {', '.join(CLAIM_STATUS_CODES)}")
    return ClaimPayment(
        claim_control_number=clp.require(1, "patient control number"),
        status_code=clp.require(2, "claim status code"),
        charge_cents=clp.cents(3, "total claim charge"),
        paid_cents=clp.cents(4, "claim payment amount"),
        patient_responsibility_cents=clp.cents(5, "patient responsibility", required=False),
        payer_claim_number=clp.get(7),
        filing_indicator=clp.get(6),
        patient_member_id=patient.get(9) if patient else "",
        patient_last_name=patient.get(3) if patient else "",
        patient_first_name=patient.get(4) if patient else "",
        adjustments=claim.adjustments,
        remarks=claim.remarks,
        lines=[_line(line) for line in claim.lines],
    )


def _line(line: _Line) -> LinePayment:
    svc = line.svc
    procedure = svc.components(1)
    if len(procedure) < 2 or not procedure[1]:
        raise X12ParseError(f"{svc.where}: SVC01 needs qualifier and procedure code (HC:99213)")
    units = svc.decimal(5, "units paid")  # omitted means one unit (X221A1 SVC05 note)
    return LinePayment(
        procedure_code=procedure[1],
        charge_cents=svc.cents(2, "line charge"),
        paid_cents=svc.cents(3, "line payment"),
        units=Decimal(1) if units is None else units,
        service_date=line.service_date,
        modifiers=[m for m in procedure[2:6] if m],
        adjustments=line.adjustments,
        remarks=line.remarks,
        qualifier=procedure[0],
    )
