from models.claims.facts import ClaimFacts, claim_fact_edits

FULL = ClaimFacts("MEDICARE", "1EG4TE5MK73", True, "1 Main St", "Springfield", "IL", "62701")


def test_a_chart_with_every_fact_has_no_edit() -> None:
    assert claim_fact_edits(FULL) == []


def test_each_missing_fact_is_a_hard_edit_naming_it() -> None:
    found = claim_fact_edits(ClaimFacts("ACME", None, False, None, "Springfield", "", "62701"))
    assert [(e.rule, e.severity) for e in found] == [("payer_unknown", "hard"), ("member_id_missing", "hard"), ("patient_address_missing", "hard")]
    assert "ACME" in found[0].message
    assert "street, state" in found[2].message


def test_no_coverage_is_named_as_such_not_as_an_unknown_payer() -> None:
    found = claim_fact_edits(ClaimFacts(None, None, False, "1 Main St", "Springfield", "IL", "62701"))
    assert [e.rule for e in found] == ["coverage_missing"]


def test_a_dependent_needs_the_policy_holders_facts() -> None:
    holder = {"family": "Holder", "given": "Pat", "birth_date": "1975-03-02", "address_line": "9 Policy Rd", "city": "Springfield", "state": "IL", "postal_code": "62704"}
    assert claim_fact_edits(ClaimFacts(*FULL.__dict__.values())) == []
    complete = ClaimFacts("MEDICARE", "M1", True, "1 Main St", "Springfield", "IL", "62701", "child", holder)
    assert claim_fact_edits(complete) == []
    [edit] = claim_fact_edits(ClaimFacts("MEDICARE", "M1", True, "1 Main St", "Springfield", "IL", "62701", "spouse", None))
    assert edit.rule == "subscriber_missing"
    assert "spouse" in edit.message
    assert claim_fact_edits(ClaimFacts("MEDICARE", "M1", True, "1 Main St", "Springfield", "IL", "62701", "self", None)) == []
