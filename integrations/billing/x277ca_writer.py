"""Writing a 277CA (005010X214) from `ClaimAck` values, for the sandbox clearinghouse.

Patient names are not echoed (the workflow matches on our CLM01 in TRN*2, and names are PHI
we do not need to move); the patient NM1 carries a fixed placeholder.
"""

from __future__ import annotations

from collections.abc import Sequence

from integrations.billing.schemas import Interchange
from integrations.billing.writer import amount, clean, envelope, segment
from integrations.billing.x277ca import ClaimAck

VERSION = "005010X214"


def build_277ca(
    acks: Sequence[ClaimAck],
    interchange: Interchange,
    *,
    payer_name: str,
    payer_id: str,
    provider_name: str,
    provider_npi: str,
    batch_reference: str,
) -> str:
    day = interchange.created_at.strftime("%Y%m%d")
    accepted = [a for a in acks if a.accepted]
    rejected = [a for a in acks if not a.accepted]
    body = [
        segment("BHT", "0085", "08", clean(batch_reference, "batch reference"), day,
                interchange.created_at.strftime("%H%M%S"), "TH"),
        segment("HL", "1", "", "20", "1"),
        segment("NM1", "PR", "2", clean(payer_name, "payer name"), "", "", "", "", "PI",
                clean(payer_id, "payer id")),
        segment("TRN", "1", str(interchange.control_number)),
        segment("DTP", "050", "D8", day),
        segment("DTP", "009", "D8", day),
        segment("HL", "2", "1", "21", "1"),
        segment("NM1", "41", "2", "SUBMITTER", "", "", "", "", "46", "SUBMITTER"),
        segment("TRN", "2", clean(batch_reference, "batch reference")),
        segment("STC", ["A1", "19"], day, "WQ", amount(sum(a.charge_cents for a in acks))),
        *([segment("QTY", "90", str(len(accepted)))] if accepted else []),
        *([segment("QTY", "AA", str(len(rejected)))] if rejected else []),
        *([segment("AMT", "YU", amount(sum(a.charge_cents for a in accepted)))] if accepted else []),
        *([segment("AMT", "YY", amount(sum(a.charge_cents for a in rejected)))] if rejected else []),
        segment("HL", "3", "2", "19", "1"),
        segment("NM1", "85", "2", clean(provider_name, "provider name"), "", "", "", "", "XX",
                clean(provider_npi, "provider npi")),
    ]  # fmt: skip
    for number, ack in enumerate(acks, start=4):
        status = [ack.status_category, ack.status_code, *([ack.entity] if ack.entity else [])]
        body += [
            segment("HL", str(number), "3", "PT"),
            segment("NM1", "QC", "1", "PATIENT"),
            segment("TRN", "2", clean(ack.claim_control_number, "claim control number")),
            segment("STC", status, (ack.status_date or interchange.created_at).strftime("%Y%m%d"),
                    "WQ" if ack.accepted else "U", amount(ack.charge_cents), "", "", "", "", "",
                    "", "", clean(ack.free_text, "free text")),
            *([segment("REF", "1K", ack.payer_claim_number)] if ack.payer_claim_number else []),
            *([segment("REF", "D9", ack.clearinghouse_trace)] if ack.clearinghouse_trace else []),
            *([segment("DTP", "472", "D8", ack.service_date.strftime("%Y%m%d"))]
              if ack.service_date else []),
        ]  # fmt: skip
    return envelope(interchange, "HN", VERSION, "277", [body])
