from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from integrations.billing.errors import X12ParseError
from integrations.billing.schemas import Interchange
from integrations.billing.x277ca import ClaimAck, ClaimStatus, parse_277ca
from integrations.billing.x277ca_writer import build_277ca
from integrations.billing.x999 import parse_999
from tests.unit.x12_support import sample


class TestParse277CA:
    def test_accepted_sample(self) -> None:
        (ack,) = parse_277ca(sample("277CA-accepted-emedny.edi"))
        assert ack.claim_control_number == "5781"
        assert ack.accepted
        assert (ack.status_category, ack.status_code) == ("A2", "20")
        assert ack.payer_claim_number == "1107000000014420"
        assert ack.status_date == date(2011, 3, 11)
        assert ack.charge_cents == 12500
        assert ack.service_date == date(1001, 1, 1)  # as published

    def test_rejected_sample_with_pipe_component_separator(self) -> None:
        (ack,) = parse_277ca(sample("277CA-rejected-A7-emedny.edi"))
        assert ack.claim_control_number == "3920394930203"
        assert not ack.accepted
        assert (ack.status_category, ack.status_code, ack.entity) == ("A7", "562", "85")
        assert ack.payer_claim_number == "1107000000001120"
        assert ack.charge_cents == 19914
        assert ack.service_date == date(2009, 3, 11)

    def test_stc_without_status_code_is_refused(self) -> None:
        text = sample("277CA-accepted-emedny.edi").replace("STC*A2:20*", "STC*A2*")
        with pytest.raises(X12ParseError, match=r"segment 22 \(STC\): STC01 'A2' needs category"):
            parse_277ca(text)

    def test_written_277ca_round_trips(self) -> None:
        acks = [
            ClaimAck("ENC-1", True, "A2", "20", "", date(2025, 3, 4), "", "SBX1", "", 25025,
                     date(2025, 3, 1), [ClaimStatus("A2", "20")]),
            ClaimAck("REJECT-2", False, "A7", "21", "85", date(2025, 3, 4), "BAD NPI", "", "",
                     8000, None, [ClaimStatus("A7", "21", "85")]),
        ]  # fmt: skip
        at = Interchange("SANDBOXCH", "CLEARCHART", 9, datetime(2025, 3, 4, 9, 0, tzinfo=UTC))
        text = build_277ca(acks, at, payer_name="PAYER", payer_id="99999", provider_name="CLINIC",
                           provider_npi="1234567893", batch_reference="BATCH-1")  # fmt: skip
        assert parse_277ca(text) == acks


class TestParse999:
    def test_rejected_sample_reports_segment_error(self) -> None:
        (group,) = parse_999(sample("999-rejected-emedny.edi"))
        assert not group.accepted
        assert (group.functional_id, group.group_control_number, group.version) == (
            "HC",
            "28",
            "005010X223A2",
        )
        assert (
            group.transactions_included,
            group.transactions_received,
            group.transactions_accepted,
        ) == (1, 1, 0)
        (tx,) = group.transactions
        assert (tx.transaction_set, tx.control_number, tx.status, tx.syntax_codes) == (
            "837",
            "0028",
            "R",
            ["5"],
        )
        (error,) = tx.errors
        assert (error.segment_id, error.position, error.code) == ("NM", "17", "1")

    def test_element_errors_attach_to_their_segment(self) -> None:
        text = (
            sample("999-rejected-emedny.edi")
            .replace("IK3*NM*17**1~", "IK3*NM1*17*2010BA*8~\nIK4*9|1*67*7*BAD~")
            .replace("SE*7*", "SE*8*")
        )
        (error,) = parse_999(text)[0].transactions[0].errors
        assert error.segment_id == "NM1"
        assert error.loop_id == "2010BA"
        (element,) = error.element_errors
        assert (
            element.position,
            element.component,
            element.element_reference,
            element.code,
            element.bad_value,
        ) == ("9", "1", "67", "7", "BAD")
