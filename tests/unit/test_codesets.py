"""The real code sets: ICD-10-CM releases by date of service, HCPCS tables, modifiers, catalog."""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path

import pytest

from integrations.codesets import (
    SHIPPED_RELEASE,
    HcpcsCode,
    HcpcsTable,
    HcpcsTableError,
    Icd10cm,
    Icd10Entry,
    Icd10Table,
    Release,
    StaticCatalog,
    default_catalog,
    describe_modifier,
    fiscal_year_of,
    is_modifier,
)
from models.coding.rules import CodeCatalog

FY2026_DOS = date(2026, 3, 15)


@pytest.fixture(scope="module")
def shipped() -> Icd10cm:
    return default_catalog().icd10cm


def _table(fiscal_year: int, *entries: tuple[str, bool]) -> Icd10Table:
    return Icd10Table(
        Release.for_fiscal_year(fiscal_year),
        (Icd10Entry(code, f"desc {code}", billable) for code, billable in entries),
    )


class TestFiscalYear:
    def test_october_first_starts_the_next_fiscal_year(self) -> None:
        assert fiscal_year_of(date(2026, 9, 30)) == 2026
        assert fiscal_year_of(date(2026, 10, 1)) == 2027

    def test_release_for_fiscal_year_starts_october_first_of_the_prior_year(self) -> None:
        assert Release.for_fiscal_year(2026) == Release(2026, date(2025, 10, 1), None)


class TestShippedIcd10cm:
    def test_shipped_release_is_fy2026(self) -> None:
        assert SHIPPED_RELEASE.fiscal_year == 2026
        assert SHIPPED_RELEASE.effective_from == date(2025, 10, 1)

    @pytest.mark.parametrize("code", ["E11.9", "J45.909", "Z00.00", "S72.001A", "E11.A"])
    def test_leaf_codes_are_billable(self, shipped: Icd10cm, code: str) -> None:
        assert shipped.status(code, FY2026_DOS) == "billable"

    @pytest.mark.parametrize("code", ["E11", "J45", "S72.001", "Z00.0"])
    def test_codes_with_children_are_headers(self, shipped: Icd10cm, code: str) -> None:
        assert shipped.status(code, FY2026_DOS) == "header"

    @pytest.mark.parametrize("code", ["XYZ", "E11.99", "", "A00-A09", "4"])
    def test_non_codes_are_unknown(self, shipped: Icd10cm, code: str) -> None:
        assert shipped.status(code, FY2026_DOS) == "unknown"

    def test_lookup_accepts_undotted_lower_case(self, shipped: Icd10cm) -> None:
        assert shipped.status(" e119 ", FY2026_DOS) == "billable"

    def test_dos_before_the_shipped_release_is_not_in_effect(self, shipped: Icd10cm) -> None:
        assert shipped.status("E11.9", date(2025, 9, 30)) == "not_in_effect"
        assert shipped.status("E11.9", date(2016, 1, 1)) == "not_in_effect"

    def test_newest_release_keeps_serving_later_dates_but_reports_stale(
        self, shipped: Icd10cm
    ) -> None:
        later = date(2026, 11, 2)
        assert shipped.status("E11.9", later) == "billable"
        assert shipped.stale_for(later)
        assert not shipped.stale_for(FY2026_DOS)

    def test_description_comes_from_the_tabular_list(self, shipped: Icd10cm) -> None:
        assert shipped.description("E11.9") == "Type 2 diabetes mellitus without complications"
        assert shipped.description("XYZ") is None


class TestReleaseResolution:
    def test_each_dos_uses_the_release_in_force(self) -> None:
        icd = Icd10cm([_table(2026, ("E11.9", True)), _table(2025, ("E11.9", True))])
        assert icd.release_for(date(2025, 9, 30)) == Release.for_fiscal_year(2025)
        assert icd.release_for(date(2025, 10, 1)) == Release.for_fiscal_year(2026)
        assert icd.release_for(date(2024, 9, 30)) is None

    def test_code_deleted_in_the_newer_release_is_not_in_effect_after_it(self) -> None:
        icd = Icd10cm([_table(2025, ("R99.1", True)), _table(2026, ("R99.2", True))])
        assert icd.status("R99.1", date(2025, 5, 1)) == "billable"
        assert icd.status("R99.1", date(2025, 11, 1)) == "not_in_effect"
        assert icd.status("R99.2", date(2025, 5, 1)) == "not_in_effect"
        assert icd.status("R99.3", date(2025, 5, 1)) == "unknown"

    def test_explicit_end_date_closes_a_release(self) -> None:
        table = Icd10Table(Release(2026, date(2025, 10, 1), date(2026, 9, 30)), [])
        icd = Icd10cm([table])
        assert icd.release_for(date(2026, 10, 1)) is None
        assert icd.status("E11.9", date(2026, 10, 1)) == "not_in_effect"

    def test_no_release_loaded_means_nothing_is_in_effect(self) -> None:
        icd = Icd10cm([])
        assert icd.status("E11.9", FY2026_DOS) == "not_in_effect"
        assert icd.search("E11") == []

    def test_release_can_be_loaded_from_cms_files(self, shipped: Icd10cm) -> None:
        data = resources.files("simple_icd_10_cm.data")
        codes = str(data.joinpath("code-list-April-2026.txt"))
        xml = str(data.joinpath("icd10c-tabular-April-1-2026.xml"))
        table = Icd10Table.from_cms_files(Release.for_fiscal_year(2027), codes, xml)
        shipped_table = shipped.table_for(FY2026_DOS)
        assert shipped_table is not None
        assert len(table) == len(shipped_table) > 90_000
        assert shipped.status("E11.9", FY2026_DOS) == "billable"


class TestIcd10Search:
    def test_code_prefix_lists_the_closest_codes_first(self, shipped: Icd10cm) -> None:
        hits = shipped.search("e11.6", limit=3)
        assert [h[0] for h in hits] == ["E11.6", "E11.61", "E11.62"]
        assert "E11.65" in [h[0] for h in shipped.search("E11.6", limit=10)]
        assert shipped.search("e11.61", limit=2)[1] == (
            "E11.610",
            "Type 2 diabetes mellitus with diabetic neuropathic arthropathy",
            True,
        )

    def test_pages_follow_each_other(self, shipped: Icd10cm) -> None:
        first, second = shipped.search("E11", limit=10), shipped.search("E11", limit=10, offset=10)
        assert len(second) == 10
        assert not {h[0] for h in first} & {h[0] for h in second}

    def test_a_code_token_narrows_words_to_its_family(self, shipped: Icd10cm) -> None:
        hits = shipped.search("E11 hyperglycemia", limit=5)
        assert hits[0][0] == "E11.65"
        assert all(h[0].startswith("E11") for h in hits)

    def test_words_match_description_word_prefixes_phrase_first(self, shipped: Icd10cm) -> None:
        hits = shipped.search("type 2 diabetes", limit=2)
        assert hits[0] == ("E11", "Type 2 diabetes mellitus", False)
        assert shipped.search("diab mell remission") == [
            ("E11.A", "Type 2 diabetes mellitus without complications in remission", True)
        ]

    def test_every_word_must_match(self, shipped: Icd10cm) -> None:
        hits = shipped.search("asthma uncomplicated", limit=100)
        assert ("J45.909", "Unspecified asthma, uncomplicated", True) in hits
        assert all("asthma" in d.lower() and "uncomplicated" in d.lower() for _, d, _ in hits)

    def test_limit_and_empty_queries(self, shipped: Icd10cm) -> None:
        assert len(shipped.search("fracture", limit=7)) == 7
        assert shipped.search("   ") == []
        assert shipped.search("xyzzy") == []
        assert shipped.search("E11", limit=0) == []

    def test_code_like_query_without_code_matches_falls_back_to_words(
        self, shipped: Icd10cm
    ) -> None:
        assert shipped.search("B12", limit=1)[0][0] == "D51"


class TestHcpcsTable:
    def test_sample_holds_real_level_ii_codes(self) -> None:
        table = HcpcsTable.sample()
        for code in ("G0438", "G0439", "G2211", "J1100", "J3301", "A4253", "E0114", "Q4081"):
            assert table.is_active(code, date(2026, 1, 5)), code
        assert table.description("g0439") == "Ppps, subseq visit"
        assert not any(c.code[0].isdigit() for c in table)

    def test_effective_dates_bound_activity(self) -> None:
        table = HcpcsTable.sample()
        assert not table.is_active("G2211", date(2020, 12, 31))
        assert table.is_active("G2211", date(2021, 1, 1))
        assert table.is_active("G0202", date(2017, 12, 31))
        assert not table.is_active("G0202", date(2018, 1, 1))
        assert not table.is_active("J9999", date(2026, 1, 5))

    def test_loads_a_csv_file(self, tmp_path: Path) -> None:
        path = tmp_path / "hcpcs.csv"
        path.write_text("code,short_description,effective_from,effective_to\nj1885,Ketorolac,,\n")
        table = HcpcsTable.from_csv(path)
        assert "J1885" in table
        assert table.get("J1885") == HcpcsCode("J1885", "Ketorolac")

    @pytest.mark.parametrize(
        ("text", "fragment"),
        [
            ("code,short_description\nJ1100,x\n", "missing columns effective_from"),
            ("code,short_description,effective_from,effective_to\n99213,x,,\n", "not a HCPCS"),
            ("code,short_description,effective_from,effective_to\nJ1100,x,2020-13-01,\n", "ISO"),
            (
                "code,short_description,effective_from,effective_to\nJ1100,x,2021-01-01,2020-01-01\n",
                "ends",
            ),
            ("code,short_description,effective_from,effective_to\nJ1100,x,,\nJ1100,y,,\n", "twice"),
        ],
    )
    def test_malformed_tables_are_refused_naming_the_problem(
        self, text: str, fragment: str
    ) -> None:
        with pytest.raises(HcpcsTableError, match=fragment):
            HcpcsTable.from_csv_text(text)


class TestModifiers:
    @pytest.mark.parametrize(
        "code", ["25", "26", "59", "76", "77", "XE", "XS", "XP", "XU", "LT", "rt", "GA", "KX", "TC"]
    )
    def test_real_modifiers_are_known(self, code: str) -> None:
        assert is_modifier(code)

    @pytest.mark.parametrize("code", ["", "00", "ZZ", "25X", "L T1"])
    def test_made_up_modifiers_are_not(self, code: str) -> None:
        assert not is_modifier(code)

    def test_only_hcpcs_modifiers_carry_a_description(self) -> None:
        assert describe_modifier("LT") == "Left side"
        assert describe_modifier("25") is None


class TestStaticCatalog:
    def test_satisfies_the_code_catalog_protocol(self) -> None:
        catalog: CodeCatalog = default_catalog()
        assert catalog.icd10cm_status("E11.9", FY2026_DOS) == "billable"
        assert default_catalog() is default_catalog()

    def test_cpt_is_format_only_without_a_tenant_list(self) -> None:
        assert default_catalog().is_cpt_known("99213") is None

    def test_tenant_cpt_list_decides_membership(self) -> None:
        catalog = default_catalog().with_cpt_codes({"99213", " 99214 "})
        assert catalog.is_cpt_known("99214") is True
        assert catalog.is_cpt_known("99215") is False
        assert catalog.icd10cm is default_catalog().icd10cm

    def test_hcpcs_table_is_injectable(self) -> None:
        table = HcpcsTable([HcpcsCode("J1885", "Ketorolac", date(2000, 1, 1))])
        catalog = StaticCatalog(frozenset(), table, icd10cm=Icd10cm([]))
        assert catalog.is_hcpcs("J1885", FY2026_DOS)
        assert not catalog.is_hcpcs("G0439", FY2026_DOS)
        assert catalog.hcpcs_description("J1885") == "Ketorolac"
        assert catalog.is_cpt_known("99213") is False
