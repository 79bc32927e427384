"""PRV*BI carries the billing provider taxonomy the tenant configured, and nothing when none is."""

from dataclasses import replace

import pytest

from integrations.billing.errors import X12BuildError
from integrations.billing.x837p import build_837p
from tests.unit.x12_support import BILLING, INTERCHANGE, RECEIVER, SUBMITTER, claims, pyx12_findings


def test_a_configured_billing_taxonomy_is_sent_as_prv_bi_and_pyx12_accepts_it() -> None:
    text = build_837p(INTERCHANGE, SUBMITTER, RECEIVER, replace(BILLING, taxonomy="207Q00000X"), claims("CLAIM1"))
    assert "PRV*BI*PXC*207Q00000X~" in text.replace("\n", "")
    ok, errors, _ = pyx12_findings(text)
    assert (ok, errors) == (True, [])


def test_no_taxonomy_is_invented() -> None:
    assert "PRV*BI" not in build_837p(INTERCHANGE, SUBMITTER, RECEIVER, BILLING, claims("CLAIM1"))


def test_a_malformed_taxonomy_is_refused() -> None:
    with pytest.raises(X12BuildError, match="taxonomy"):
        build_837p(INTERCHANGE, SUBMITTER, RECEIVER, replace(BILLING, taxonomy="family doc"), claims("CLAIM1"))
