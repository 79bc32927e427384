"""Real HL7 v2 example messages parsed with python-hl7 and mapped to the FHIR intake bundle."""

from pathlib import Path

import pytest

from integrations.ehr.bundle import parse_bundle
from integrations.hl7v2.messages import V2Error, ack, parse, to_bundle

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hl7v2"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_bytes().decode("utf-8")


def with_field(text: str, segment: str, number: int, value: str) -> str:
    """The message with one field of one segment set (HL7 numbering: MSH-1 is the separator)."""
    index = number - 1 if segment == "MSH" else number
    out = []
    for line in text.replace("\r\n", "\n").replace("\n", "\r").split("\r"):
        if line.startswith(segment + "|"):
            fields = line.split("|")
            fields += [""] * (index + 1 - len(fields))
            fields[index] = value
            line = "|".join(fields)
        out.append(line)
    return "\r".join(out)


class TestRealMessages:
    def test_a_discharge_becomes_a_finished_inpatient_encounter(self) -> None:
        message = parse(fixture("adt_a03.hl7"))
        assert (message.kind, message.control_id, message.version) == ("ADT^A03", "controlID", "2.6")
        [intake] = parse_bundle(to_bundle(message))
        assert (intake.external_id, intake.status, intake.class_code) == ("VisitNumber", "finished", "IMP")
        assert (intake.patient.external_id, intake.patient.family, intake.patient.given, intake.patient.sex) == ("1234", "DOE", "JANE", "female")
        assert intake.period_start is not None
        assert intake.period_start.year == 2015

    def test_an_update_names_the_same_encounter(self) -> None:
        [a03] = parse_bundle(to_bundle(parse(fixture("adt_a03.hl7"))))
        [a08] = parse_bundle(to_bundle(parse(fixture("adt_a08.hl7"))))
        assert a08.external_id == a03.external_id

    @pytest.mark.parametrize("name", ["dft_p03.hl7", "mdm_t02.hl7"])
    def test_messages_without_a_visit_number_are_refused_naming_the_fields(self, name: str) -> None:
        with pytest.raises(V2Error, match=r"PV1-19.*PID-18"):
            to_bundle(parse(fixture(name)))

    def test_charges_sum_the_ft1_amounts_and_insurance_becomes_coverage(self) -> None:
        text = with_field(with_field(fixture("dft_p03.hl7"), "PV1", 19, "V-9"), "FT1", 11, "185.00")
        [intake] = parse_bundle(to_bundle(parse(text)))
        assert intake.charges_cents == 18500
        assert intake.coverage is not None
        assert (intake.coverage.payer_id, intake.coverage.payer_name, intake.coverage.member_id) == ("IdValue1", "Large Blue Organization", "MEMBER36")

    def test_a_document_keeps_its_text_lines_and_maps_its_type_to_loinc(self) -> None:
        text = with_field(fixture("mdm_t02.hl7"), "PV1", 19, "V-9")
        [intake] = parse_bundle(to_bundle(parse(text)))
        [doc] = intake.documents
        assert (doc.type_code, doc.type_display) == ("11504-8", "Operative Report")
        assert doc.text == "<HOSPITAL NAME>\n<HOSPITAL ADDRESS>\n<HOSPITAL ADDRESS2>"
        progress = with_field(text, "TXA", 2, "PN^Progress note")
        assert parse_bundle(to_bundle(parse(progress)))[0].documents[0].type_code == "11506-3"


class TestRefusals:
    def test_unsupported_types_and_garbage_are_named(self) -> None:
        oru = fixture("adt_a08.hl7").replace("ADT^A08", "ORU^R01")
        with pytest.raises(V2Error, match="ORU\\^R01 is not taken"):
            to_bundle(parse(oru))
        with pytest.raises(V2Error, match="MSH"):
            parse("PID|||1")
        with pytest.raises(V2Error, match="MSH-10"):
            parse(with_field(fixture("adt_a08.hl7"), "MSH", 10, ""))

    def test_the_ack_echoes_the_control_id_and_carries_the_reason(self) -> None:
        message = parse(fixture("adt_a03.hl7"))
        accepted = ack(message, "AA")
        assert accepted.split("\r")[-1] == "MSA|AA|controlID"
        refused = ack(message, "AR", "PV1-19 | missing")
        assert refused.split("\r")[-1] == "MSA|AR|controlID|PV1-19   missing"
        assert ack(None, "AR", "bad", raw="garbage").split("\r")[-1] == "MSA|AR||bad"
