"""The pure coding rules, run against the real shipped code sets."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from typing import Any

import pytest

from integrations.codesets import StaticCatalog, default_catalog
from models.coding.rules import (
    CodingIssue,
    CodingSubmission,
    DiagnosisCode,
    Evidence,
    ProcedureCode,
    normalize_icd10,
    normalize_procedure,
    procedure_code_type,
    validate_coding,
)

DOS = date(2026, 3, 15)
DOCS = {"doc-1", "doc-2"}
EV = [Evidence("doc-1", "a" * 64)]


def dx(code: str, evidence: list[Evidence] | None = None) -> DiagnosisCode:
    return DiagnosisCode(code, EV if evidence is None else evidence)


def px(code: str = "99213", **kw: Any) -> ProcedureCode:
    kw.setdefault("pointers", [1])
    kw.setdefault("evidence", EV)
    return ProcedureCode(code, **kw)


@pytest.fixture(scope="module")
def catalog() -> StaticCatalog:
    return default_catalog()


def check(
    catalog: StaticCatalog,
    diagnoses: list[DiagnosisCode] | None = None,
    procedures: list[ProcedureCode] | None = None,
    **kw: Any,
) -> list[CodingIssue]:
    sub = CodingSubmission(
        diagnoses if diagnoses is not None else [dx("E11.9")],
        procedures if procedures is not None else [px()],
    )
    kw.setdefault("date_of_service", DOS)
    kw.setdefault("document_ids", DOCS)
    return validate_coding(sub, catalog=catalog, **kw)


def rules(issues: list[CodingIssue]) -> list[tuple[str, str, str]]:
    return [(i.rule, i.path, i.code) for i in issues]


class TestNormalizeIcd10:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("e119", "E11.9"),
            ("E11.9", "E11.9"),
            (" j45.909 ", "J45.909"),
            ("E11", "E11"),
            ("s72 001a", "S72.001A"),
            ("Z0000", "Z00.00"),
            ("", ""),
        ],
    )
    def test_normalizes_case_dot_and_whitespace(self, raw: str, expected: str) -> None:
        assert normalize_icd10(raw) == expected


class TestProcedureCodeType:
    @pytest.mark.parametrize("code", ["99213", "3044F", "0042T", "0001U", "0004M"])
    def test_cpt_shapes(self, code: str) -> None:
        assert procedure_code_type(code) == "cpt"

    @pytest.mark.parametrize("code", ["G0439", "J1100", "A4253", "V2020"])
    def test_hcpcs_shapes(self, code: str) -> None:
        assert procedure_code_type(code) == "hcpcs"

    @pytest.mark.parametrize("code", ["9921", "992133", "W1234", "E11.9", "", "G04390"])
    def test_anything_else_is_neither(self, code: str) -> None:
        assert procedure_code_type(code) is None

    def test_normalize_procedure_upper_cases_and_strips(self) -> None:
        assert normalize_procedure(" g0439 ") == "G0439"


class TestValidCoding:
    def test_clean_submission_has_no_issues(self, catalog: StaticCatalog) -> None:
        issues = check(
            catalog,
            [dx("E11.9"), dx("J45.909"), dx("Z00.00")],
            [
                px("99214", modifiers=["25"], pointers=[1, 2]),
                px("G0439", pointers=[3]),
                px("J3301", units=4, pointers=[2], modifiers=["JZ"]),
                px("20610", modifiers=["RT", "59"], pointers=[1]),
            ],
        )
        assert issues == []

    def test_codes_are_normalized_before_lookup(self, catalog: StaticCatalog) -> None:
        assert check(catalog, [dx(" e119 ")], [px(" g0439 ", modifiers=["rt"])]) == []

    def test_submission_round_trips_through_json(self) -> None:
        sub = CodingSubmission([dx("E11.9")], [px(modifiers=["25"], units=2)])
        data = json.loads(json.dumps(dataclasses.asdict(sub)))
        assert data["procedures"][0] == {
            "code": "99213",
            "modifiers": ["25"],
            "units": 2,
            "pointers": [1],
            "evidence": [{"document_id": "doc-1", "excerpt_sha256": "a" * 64, "start": None, "end": None}],
        }


class TestDiagnosisRules:
    def test_no_diagnosis_is_refused(self, catalog: StaticCatalog) -> None:
        issues = check(catalog, [], [])
        assert rules(issues) == [("diagnoses.empty", "diagnoses", "")]

    def test_duplicate_diagnosis_is_refused_even_if_spelled_differently(
        self, catalog: StaticCatalog
    ) -> None:
        issues = check(catalog, [dx("E11.9"), dx("e119")])
        assert rules(issues) == [("diagnoses.duplicate", "diagnoses[1].code", "E11.9")]

    def test_category_header_is_not_billable_and_says_how_to_fix(
        self, catalog: StaticCatalog
    ) -> None:
        [issue] = check(catalog, [dx("E11")])
        assert (issue.rule, issue.path, issue.code) == (
            "icd10cm.not_billable",
            "diagnoses[0].code",
            "E11",
        )
        assert "E11 (Type 2 diabetes mellitus) is a category header, not billable" in issue.message
        assert "highest specificity" in issue.message

    def test_missing_seventh_character_is_not_billable(self, catalog: StaticCatalog) -> None:
        assert rules(check(catalog, [dx("S72.001")]))[0][0] == "icd10cm.not_billable"
        assert check(catalog, [dx("S72.001A")]) == []

    def test_unknown_code_is_refused(self, catalog: StaticCatalog) -> None:
        [issue] = check(catalog, [dx("XYZ")])
        assert (issue.rule, issue.code) == ("icd10cm.unknown", "XYZ")
        assert issue.message.startswith("XYZ is not an ICD-10-CM code")

    def test_dos_far_in_the_past_is_not_in_effect(self, catalog: StaticCatalog) -> None:
        [issue] = check(catalog, date_of_service=date(2015, 6, 1))
        assert (issue.rule, issue.code) == ("icd10cm.not_in_effect", "E11.9")
        assert "2015-06-01" in issue.message


class TestProcedureCodeRules:
    def test_malformed_cpt_is_a_format_issue(self, catalog: StaticCatalog) -> None:
        [issue] = check(catalog, procedures=[px("9921")])
        assert (issue.rule, issue.path, issue.code) == ("cpt.format", "procedures[0].code", "9921")
        assert "five digits" in issue.message

    def test_cpt_outside_the_tenant_list_is_unknown(self, catalog: StaticCatalog) -> None:
        tenant = catalog.with_cpt_codes({"99213"})
        assert check(tenant) == []
        assert rules(check(tenant, procedures=[px("99215")])) == [
            ("cpt.unknown", "procedures[0].code", "99215")
        ]

    def test_cpt_without_a_tenant_list_is_checked_by_format_only(
        self, catalog: StaticCatalog
    ) -> None:
        assert check(catalog, procedures=[px("99999")]) == []

    def test_hcpcs_not_in_the_table_is_unknown(self, catalog: StaticCatalog) -> None:
        assert rules(check(catalog, procedures=[px("J9999")])) == [
            ("hcpcs.unknown", "procedures[0].code", "J9999")
        ]

    def test_hcpcs_outside_its_effective_dates_is_unknown(self, catalog: StaticCatalog) -> None:
        issues = check(catalog, procedures=[px("G2211")], date_of_service=date(2020, 6, 1))
        assert ("hcpcs.unknown", "procedures[0].code", "G2211") in rules(issues)

    @pytest.mark.parametrize("code", ["E11.9", "W1234", ""])
    def test_non_procedure_codes_are_the_wrong_type(
        self, catalog: StaticCatalog, code: str
    ) -> None:
        [issue] = check(catalog, procedures=[px(code)])
        assert (issue.rule, issue.path) == ("procedure.code_type", "procedures[0].code")


class TestModifierRules:
    def test_unknown_modifier_is_refused(self, catalog: StaticCatalog) -> None:
        assert rules(check(catalog, procedures=[px(modifiers=["25", "ZZ"])])) == [
            ("modifier.unknown", "procedures[0].modifiers[1]", "ZZ")
        ]

    def test_repeated_modifier_is_refused(self, catalog: StaticCatalog) -> None:
        assert rules(check(catalog, procedures=[px(modifiers=["59", "59"])])) == [
            ("modifier.duplicate", "procedures[0].modifiers[1]", "59")
        ]

    def test_more_than_four_modifiers_is_refused(self, catalog: StaticCatalog) -> None:
        issues = check(catalog, procedures=[px(modifiers=["59", "RT", "76", "GA", "KX"])])
        assert rules(issues) == [("modifier.too_many", "procedures[0].modifiers", "99213")]

    def test_four_modifiers_are_fine(self, catalog: StaticCatalog) -> None:
        assert check(catalog, procedures=[px(modifiers=["59", "RT", "76", "GA"])]) == []


class TestUnitsRule:
    @pytest.mark.parametrize("units", [0, -1, 1000, True, 1.5])
    def test_units_outside_1_to_999_are_refused(self, catalog: StaticCatalog, units: Any) -> None:
        assert rules(check(catalog, procedures=[px(units=units)])) == [
            ("units.invalid", "procedures[0].units", "99213")
        ]

    @pytest.mark.parametrize("units", [1, 999])
    def test_units_at_the_bounds_are_fine(self, catalog: StaticCatalog, units: int) -> None:
        assert check(catalog, procedures=[px(units=units)]) == []


class TestPointerRules:
    def test_missing_pointers_are_refused(self, catalog: StaticCatalog) -> None:
        assert rules(check(catalog, procedures=[px(pointers=[])])) == [
            ("pointer.missing", "procedures[0].pointers", "99213")
        ]

    @pytest.mark.parametrize("pointer", [0, 2, -1])
    def test_pointer_must_name_a_listed_diagnosis(
        self, catalog: StaticCatalog, pointer: int
    ) -> None:
        [issue] = check(catalog, procedures=[px(pointers=[pointer])])
        assert (issue.rule, issue.path) == ("pointer.out_of_range", "procedures[0].pointers[0]")
        assert "from 1 to 1" in issue.message

    def test_duplicate_pointer_is_refused(self, catalog: StaticCatalog) -> None:
        issues = check(catalog, [dx("E11.9"), dx("J45.909")], [px(pointers=[1, 2, 1])])
        assert rules(issues) == [("pointer.duplicate", "procedures[0].pointers[2]", "99213")]

    def test_more_than_four_pointers_are_refused(self, catalog: StaticCatalog) -> None:
        five = [dx(c) for c in ("E11.9", "J45.909", "Z00.00", "I10", "E78.5")]
        issues = check(catalog, five, [px(pointers=[1, 2, 3, 4, 5])])
        assert rules(issues) == [("pointer.too_many", "procedures[0].pointers", "99213")]
        assert check(catalog, five, [px(pointers=[1, 2, 3, 4])]) == []


class TestEvidenceRules:
    def test_every_code_needs_evidence(self, catalog: StaticCatalog) -> None:
        issues = check(catalog, [dx("E11.9", [])], [px(evidence=[])])
        assert rules(issues) == [
            ("evidence.missing", "diagnoses[0].evidence", "E11.9"),
            ("evidence.missing", "procedures[0].evidence", "99213"),
        ]

    def test_evidence_can_be_optional(self, catalog: StaticCatalog) -> None:
        issues = check(catalog, [dx("E11.9", [])], [px(evidence=[])], require_evidence=False)
        assert issues == []

    def test_evidence_must_cite_a_document_of_the_encounter(self, catalog: StaticCatalog) -> None:
        foreign = [Evidence("doc-2", "b" * 64), Evidence("doc-9", "c" * 64)]
        issues = check(catalog, [dx("E11.9", foreign)], require_evidence=False)
        assert rules(issues) == [
            ("evidence.unknown_document", "diagnoses[0].evidence[1].document_id", "E11.9")
        ]
        assert "doc-9" in issues[0].message


class TestIssueReporting:
    def test_all_problems_are_reported_together_in_order(self, catalog: StaticCatalog) -> None:
        issues = check(
            catalog,
            [dx("E11"), dx("XYZ", [])],
            [px("G0439", modifiers=["QQQ"], units=0, pointers=[3])],
        )
        assert [i.rule for i in issues] == [
            "icd10cm.not_billable",
            "icd10cm.unknown",
            "evidence.missing",
            "modifier.unknown",
            "units.invalid",
            "pointer.out_of_range",
        ]
        assert all(i.message.endswith(".") for i in issues)
