"""Scripted sandbox answers, as files: reject in the 277CA, deny, partially pay, pay a share."""

from integrations.billing.x277ca import parse_277ca
from integrations.billing.x835 import parse_835
from integrations.billing.x837p import build_837p
from integrations.billing.x837p_reader import read_837p
from integrations.sandbox.clearinghouse import MemoryStore, _respond, script_problem
from tests.unit.x12_support import BILLING, INTERCHANGE, RECEIVER, SUBMITTER, claims


async def answer(script: dict[str, object]) -> list[tuple[str, str]]:
    submitted = read_837p(build_837p(INTERCHANGE, SUBMITTER, RECEIVER, BILLING, claims("CLAIM1")))
    return await _respond(MemoryStore(), "CLEARCHART", "B1", submitted, [script])


async def test_a_scripted_rejection_stops_at_the_277ca() -> None:
    files = await answer({"reject": "subscriber not found"})
    assert [kind for kind, _ in files] == ["277CA"]
    [ack] = parse_277ca(files[0][1])
    assert (ack.accepted, ack.free_text) == (False, "subscriber not found")


async def test_a_scripted_denial_uses_the_scripted_reason_on_every_line() -> None:
    files = await answer({"deny": "CO-11"})
    [remittance] = parse_835(files[1][1])
    [claim] = remittance.claims
    assert (claim.status_code, claim.paid_cents) == ("4", 0)
    assert {(a.group, a.carc) for line in claim.lines for a in line.adjustments} == {("CO", "11")}


async def test_a_partial_payment_denies_the_first_line_and_pays_the_scripted_share() -> None:
    files = await answer({"partial": "CO-97", "pay_percent": 50})
    [claim] = parse_835(files[1][1])[0].claims
    first, *rest = claim.lines
    assert (first.paid_cents, first.adjustments[0].carc) == (0, "97")
    assert all(line.paid_cents == line.charge_cents // 2 for line in rest)
    assert claim.status_code == "1"


async def test_a_late_277ca_comes_after_the_835() -> None:
    assert [kind for kind, _ in await answer({"late_277ca": True})] == ["835", "277CA"]


def test_scripts_that_make_no_sense_are_refused() -> None:
    assert script_problem({"deny": "CO-11"}) is None
    assert script_problem({"deny": "11"}) is not None
    assert script_problem({"pay_percent": 150}) is not None
    assert script_problem({"surprise": True}) is not None



def test_syntax_and_envelope_rejections_name_a_segment_and_a_ta1_note_code() -> None:
    assert script_problem({"syntax_reject": "CLM"}) is None
    assert script_problem({"envelope_reject": "024"}) is None
    assert "TA1 note code" in (script_problem({"envelope_reject": "999"}) or "")
    assert "segment id" in (script_problem({"syntax_reject": "claim loop"}) or "")
