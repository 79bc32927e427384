"""Chart facts in the 837P's loops: PRV*BI only from a configured taxonomy; a dependent patient in
its own 2000C loop under the subscriber."""

from dataclasses import replace
from datetime import date

import pytest

from integrations.billing.errors import X12BuildError
from integrations.billing.schemas import DependentPatient, RenderingProvider
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


def test_a_dependent_gets_the_2000c_patient_loop_and_pyx12_accepts_it() -> None:
    [(subscriber, payer, claim)] = claims("CLAIM1")
    child = DependentPatient("19", "DOE", "JUNIOR", date(2015, 6, 1), "M", "1 ELM ST", "SPRINGFIELD", "IL", "62701")
    text = build_837p(INTERCHANGE, SUBMITTER, RECEIVER, BILLING, [(subscriber, payer, replace(claim, patient=child)), (subscriber, payer, claim)])
    segments = text.replace("\n", "").split("~")
    assert "SBR*P*18*******" + payer.filing_indicator in segments  # the subscriber's own claim
    assert any(s.startswith("SBR*P**") for s in segments)  # the dependent's: SBR02 blank
    assert "HL*4*3*23*0" in segments
    assert "PAT*19" in segments
    assert "NM1*QC*1*DOE*JUNIOR" in segments
    ok, errors, _ = pyx12_findings(text)
    assert (ok, errors) == (True, [])


def test_a_rendering_provider_with_a_taxonomy_gets_prv_pe() -> None:
    [(subscriber, payer, claim)] = claims("CLAIM1")
    rendering = RenderingProvider("1234567893", "TESTDOCTOR", "SANDBOX", "207Q00000X")
    text = build_837p(INTERCHANGE, SUBMITTER, RECEIVER, BILLING, [(subscriber, payer, replace(claim, rendering_provider=rendering))])
    segments = text.replace("\n", "").split("~")
    at = segments.index("NM1*82*1*TESTDOCTOR*SANDBOX****XX*1234567893")
    assert segments[at + 1] == "PRV*PE*PXC*207Q00000X"
    ok, errors, _ = pyx12_findings(text)
    assert (ok, errors) == (True, [])
