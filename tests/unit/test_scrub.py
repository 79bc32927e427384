from datetime import date
from pathlib import Path

import pytest

from integrations.codesets.scrub_files import TableFormatError, load_mue_csv, load_ptp_csv
from models.claims.scrub import RULES, ScrubInput, ScrubLine, ScrubResult, acknowledge, scrub
from models.claims.scrub_reference import (
    MueLimit,
    ProcedureCode,
    PtpEdit,
    ScrubTables,
    Sex,
    builtin_tables,
)

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "scrub-tables"
DOS = date(2025, 3, 3)
HEADERS = {"E11", "O09", "N40"}  # header (non-billable) codes for the fake ICD lookup


def icd_status(code: str, on: date) -> str:
    if code in HEADERS:
        return "header"
    return "billable" if code[:1].isalpha() and len(code) >= 3 else "invalid"


def loaded_tables() -> ScrubTables:
    base = builtin_tables()
    return ScrubTables(
        ptp=load_ptp_csv(FIXTURES / "ptp_synthetic.csv"),
        ptp_version="synthetic",
        mue=load_mue_csv(FIXTURES / "mue_synthetic.csv"),
        mue_version="synthetic",
        sex_age=base.sex_age,
        sex_age_version=base.sex_age_version,
        modifiers=base.modifiers,
        modifiers_version=base.modifiers_version,
    )


def run(
    *lines: ScrubLine,
    dx: list[str] | None = None,
    sex: Sex | None = "female",
    age: int | None = 40,
    pos: str = "11",
    tables: ScrubTables | None = None,
) -> ScrubResult:
    inp = ScrubInput(DOS, sex, age, ["J06.9"] if dx is None else dx, list(lines), pos)
    return scrub(inp, tables if tables is not None else loaded_tables(), icd_status=icd_status)


def rules(result: ScrubResult) -> list[str]:
    return [e.rule for e in result.edits]


def line(code: str, *mods: str, units: int = 1, pointers: list[int] | None = None) -> ScrubLine:
    return ScrubLine(code, list(mods), units, [1] if pointers is None else pointers)


class TestLoaders:
    def test_ptp_fixture_reads_cms_layout(self) -> None:
        edits = load_ptp_csv(FIXTURES / "ptp_synthetic.csv")
        assert PtpEdit("17000", "11900", date(2015, 1, 1), date(2019, 12, 31), "1") in edits
        assert {e.modifier_indicator for e in edits} == {"0", "1", "9"}

    def test_mue_fixture_keeps_leading_digit_of_indicator(self) -> None:
        limits = load_mue_csv(FIXTURES / "mue_synthetic.csv", effective_from=date(2025, 1, 1))
        assert MueLimit("97110", 6, "2", date(2025, 1, 1), None) in limits

    def test_tab_file_with_preamble_and_progress(self, tmp_path: Path) -> None:
        body = "Synthetic preamble line\n\nColumn 1\tColumn 2\tEffective Date\tDeletion Date\tModifier\n"
        body += "".join(f"1000{i}\t2000{i}\t20200101\t*\t1\n" for i in range(5))
        path = tmp_path / "ptp.txt"
        path.write_text(body)
        seen: list[int] = []
        assert len(load_ptp_csv(path, progress=seen.append, every=2)) == 5
        assert seen == [2, 4, 5]

    def test_missing_header_names_the_columns(self, tmp_path: Path) -> None:
        path = tmp_path / "bad.csv"
        path.write_text("a,b,c\n1,2,3\n")
        with pytest.raises(TableFormatError, match="column1"):
            load_ptp_csv(path)

    def test_bad_indicator_names_the_line(self, tmp_path: Path) -> None:
        path = tmp_path / "bad.csv"
        path.write_text(
            "Column 1,Column 2,Effective Date,Deletion Date,Modifier\n1,2,20200101,*,7\n"
        )
        with pytest.raises(TableFormatError, match="line 2"):
            load_ptp_csv(path)


class TestCodeInvalid:
    def test_header_diagnosis_is_hard_edit(self) -> None:
        result = run(line("99213"), dx=["E11"])
        assert [(e.rule, e.severity, e.code) for e in result.edits] == [
            ("code.invalid", "hard", "E11")
        ]

    def test_billable_codes_pass(self) -> None:
        assert run(line("99213"), dx=["E11.9"]).edits == []

    def test_bad_procedure_format(self) -> None:
        assert rules(run(line("9921"))) == ["code.invalid"]

    def test_procedure_outside_loaded_code_set(self) -> None:
        t = ScrubTables(
            procedure_codes=[ProcedureCode("99213", date(2020, 1, 1), date(2024, 12, 31))]
        )
        assert rules(run(line("99213"), tables=t)) == ["code.invalid"]
        t2 = ScrubTables(procedure_codes=[ProcedureCode("99213")])
        assert rules(run(line("99213"), tables=t2)) == []

    def test_place_of_service_must_be_two_digits(self) -> None:
        assert rules(run(line("99213"), pos="1")) == ["pos.invalid"]


class TestPointers:
    def test_missing_pointer(self) -> None:
        assert rules(run(line("99213", pointers=[]))) == ["pointer.missing"]

    def test_pointer_past_diagnosis_list(self) -> None:
        assert rules(run(line("99213", pointers=[1, 2]))) == ["pointer.out_of_range"]

    def test_more_than_four_pointers(self) -> None:
        dx = ["J06.9", "R05.1", "R50.9", "J02.9", "R07.0"]
        assert rules(run(line("99213", pointers=[1, 2, 3, 4, 5]), dx=dx)) == ["pointer.too_many"]

    def test_duplicate_pointer_is_soft(self) -> None:
        result = run(line("99213", pointers=[1, 1]))
        assert [(e.rule, e.severity) for e in result.edits] == [("pointer.duplicate", "soft")]

    def test_valid_pointers_pass(self) -> None:
        assert run(line("99213", pointers=[2, 1]), dx=["J06.9", "R05.1"]).edits == []


class TestPtp:
    def test_indicator_1_without_modifier(self) -> None:
        result = run(line("29881"), line("29877"))
        assert [(e.rule, e.line_index) for e in result.edits] == [("ptp.modifier_required", 1)]
        assert "XE/XS/XP/XU" in result.edits[0].message

    def test_indicator_1_with_ncci_modifier_passes(self) -> None:
        assert run(line("29881"), line("29877", "XS")).edits == []

    def test_indicator_0_not_bypassed_by_modifier(self) -> None:
        assert rules(run(line("93000"), line("93010", "59"))) == ["ptp.not_allowed"]

    def test_indicator_9_is_ignored(self) -> None:
        assert run(line("20550"), line("20551")).edits == []

    def test_deleted_edit_no_longer_applies(self) -> None:
        assert run(line("17000"), line("11900")).edits == []


class TestMue:
    def test_mai_1_line_limit_is_hard(self) -> None:
        result = run(line("20610", units=3))
        assert [(e.rule, e.severity) for e in result.edits] == [("mue.exceeded", "hard")]

    def test_mai_1_counts_each_line_on_its_own(self) -> None:
        assert run(line("20610", "RT", units=2), line("20610", "LT", units=2)).edits == []

    def test_mai_3_sums_the_date_of_service_and_is_soft(self) -> None:
        result = run(line("96372", units=3), line("96372", "XU", units=2))
        assert [(e.rule, e.severity) for e in result.edits] == [("mue.exceeded", "soft")]
        assert "MAI 3" in result.edits[0].message

    def test_mai_2_mentions_policy(self) -> None:
        result = run(line("97110", units=7))
        assert "MAI 2" in result.edits[0].message

    def test_units_within_limit_pass(self) -> None:
        assert run(line("97110", units=6)).edits == []


class TestEmModifier25:
    def test_em_with_same_day_procedure_needs_25(self) -> None:
        result = run(line("99213"), line("20610"))
        assert [(e.rule, e.line_index) for e in result.edits] == [("em.modifier25_missing", 0)]

    def test_em_with_25_passes(self) -> None:
        assert run(line("99213", "25"), line("20610")).edits == []

    def test_em_with_lab_or_venipuncture_needs_no_25(self) -> None:
        assert run(line("99213"), line("85025"), line("36415")).edits == []


class TestSexAge:
    def test_male_code_on_female_patient(self) -> None:
        result = run(line("99213"), dx=["N40.0"], sex="female")
        assert [(e.rule, e.severity) for e in result.edits] == [("sex.conflict", "hard")]

    def test_kx_makes_sex_conflict_soft(self) -> None:
        result = run(line("99213", "KX"), dx=["N40.0"], sex="female")
        assert [(e.rule, e.severity) for e in result.edits] == [("sex.conflict", "soft")]

    def test_matching_sex_passes(self) -> None:
        assert run(line("99213"), dx=["N40.0"], sex="male").edits == []

    def test_pregnancy_code_outside_age_range(self) -> None:
        result = run(line("99213"), dx=["O09.511"], age=60)
        assert [(e.rule, e.severity) for e in result.edits] == [("age.conflict", "soft")]

    def test_perinatal_code_on_adult(self) -> None:
        assert rules(run(line("99213"), dx=["P07.30"], age=30)) == ["age.conflict"]

    def test_pregnancy_code_in_range_passes(self) -> None:
        assert run(line("99213"), dx=["O09.511"], age=30).edits == []

    def test_unknown_patient_sex_is_skipped_not_passed(self) -> None:
        result = run(line("99213"), dx=["N40.0"], sex=None)
        assert "sex" not in result.checks_ran
        assert ("sex", "patient sex unknown") in [
            (s.check, s.reason) for s in result.checks_skipped
        ]


class TestModifiers:
    def test_professional_component_on_em(self) -> None:
        assert rules(run(line("99213", "26"))) == ["modifier.invalid_for_code"]

    def test_25_on_a_procedure(self) -> None:
        assert rules(run(line("20610", "25"))) == ["modifier.invalid_for_code"]

    def test_unknown_modifier(self) -> None:
        assert rules(run(line("20610", "ZZ"))) == ["modifier.unknown"]

    def test_26_with_tc(self) -> None:
        assert rules(run(line("93010", "26", "TC"))) == ["modifier.conflict"]

    def test_five_modifiers(self) -> None:
        result = run(line("20610", "RT", "XS", "76", "77", "GA"))
        assert "modifier.too_many" in rules(result)

    def test_valid_modifier_passes(self) -> None:
        assert run(line("20610", "RT")).edits == []


class TestChecksReported:
    def test_missing_tables_are_listed_as_skipped(self) -> None:
        result = run(line("29881"), line("29877"), tables=ScrubTables())
        skipped = {s.check for s in result.checks_skipped}
        assert {"ptp", "mue", "sex", "age", "modifier.known_list", "code.procedure_set"} <= skipped
        assert "ptp" not in result.checks_ran
        assert result.edits == []

    def test_loaded_tables_run_and_record_versions(self) -> None:
        result = run(line("99213"))
        assert {"code", "pointer", "ptp", "mue", "em.modifier25", "sex", "age", "modifier"} <= set(
            result.checks_ran
        )
        assert result.table_versions["ptp"] == "synthetic"

    def test_every_rule_has_a_severity(self) -> None:
        assert set(RULES.values()) == {"hard", "soft"}


class TestAcknowledge:
    def test_hard_edit_needs_rework(self) -> None:
        result = run(line("29881"), line("29877"))
        assert result.needs_rework
        assert not result.clean

    def test_soft_edit_is_clean_once_acknowledged(self) -> None:
        result = run(line("99213"), dx=["O09.511"], age=57)
        assert not result.clean
        assert not result.needs_rework
        acked = acknowledge(result, "age.conflict", None, "documented pregnancy at 57")
        assert acked.clean
        assert acked.edits[0].acknowledged_reason == "documented pregnancy at 57"

    def test_hard_edit_cannot_be_acknowledged(self) -> None:
        result = run(line("29881"), line("29877"))
        with pytest.raises(ValueError, match="hard edit"):
            acknowledge(result, "ptp.modifier_required", 1, "looks fine")

    def test_acknowledgement_needs_a_reason(self) -> None:
        result = run(line("99213", pointers=[1, 1]))
        with pytest.raises(ValueError, match="reason"):
            acknowledge(result, "pointer.duplicate", 0, "  ")

    def test_acknowledge_one_diagnosis_by_code(self) -> None:
        result = run(line("99213", pointers=[1, 2]), dx=["O09.511", "Z3A.20"], age=57)
        acked = acknowledge(result, "age.conflict", None, "documented", code="Z3A.20")
        assert [e.acknowledged_reason for e in acked.edits] == [None, "documented"]
        assert not acked.clean

    def test_no_edits_is_clean(self) -> None:
        assert run(line("99213")).clean
