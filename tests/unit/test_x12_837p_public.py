"""Our 837P follows the loop order of a real public 837P (tests/fixtures/x12-public), loop by loop."""

from pathlib import Path

from integrations.billing.segments import Segment, tokenize
from integrations.billing.x837p import build_837p
from tests.unit.x12_support import BILLING, INTERCHANGE, RECEIVER, SUBMITTER, claims

PUBLIC = Path(__file__).parent.parent / "fixtures" / "x12-public" / "837P_imsweb_valid.txt"

# The segment that opens each loop of 005010X222A1, keyed the way the guide names the loop.
LOOP_STARTS = {
    ("NM1", "41"): "1000A", ("NM1", "40"): "1000B", ("HL", "20"): "2000A", ("NM1", "85"): "2010AA",
    ("HL", "22"): "2000B", ("NM1", "IL"): "2010BA", ("NM1", "PR"): "2010BB", ("CLM", ""): "2300", ("LX", ""): "2400",
}  # fmt: skip


def loops(segments: list[Segment]) -> list[str]:
    """The loops in file order, each once per occurrence."""
    out = []
    for seg in segments:
        key = (seg.id, seg.get(3) if seg.id == "HL" else seg.get(1) if seg.id == "NM1" else "")
        if key in LOOP_STARTS:
            out.append(LOOP_STARTS[key])
    return out


def first_claim(order: list[str]) -> list[str]:
    return order[: order.index("2400") + 1]


def test_the_public_837p_reads_with_our_tokenizer_despite_trailing_blank_lines() -> None:
    assert tokenize(PUBLIC.read_text())[-1].id == "IEA"


def test_our_837p_opens_its_loops_in_the_public_files_order() -> None:
    public = first_claim(loops(tokenize(PUBLIC.read_text())))
    ours = first_claim(loops(tokenize(build_837p(INTERCHANGE, SUBMITTER, RECEIVER, BILLING, claims("CLAIM1")))))
    assert public == ["1000A", "1000B", "2000A", "2010AA", "2000B", "2010BA", "2010BB", "2300", "2400"]
    assert ours == public


def test_each_loop_leads_with_the_same_segments() -> None:
    def leading(text: str) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        current = None
        for seg in tokenize(text):
            key = (seg.id, seg.get(3) if seg.id == "HL" else seg.get(1) if seg.id == "NM1" else "")
            if key in LOOP_STARTS:
                current = LOOP_STARTS[key]
                found.setdefault(current, [])
                continue
            if current and seg.id in ("SBR", "HI", "SV1", "DTP", "N3", "N4", "REF") and seg.id not in found[current]:
                found[current].append(seg.id)
        return found

    public = leading(PUBLIC.read_text())
    ours = leading(build_837p(INTERCHANGE, SUBMITTER, RECEIVER, BILLING, claims("CLAIM1")))
    for loop in ("2010AA", "2000B", "2300", "2400"):
        assert public[loop] == [s for s in ours[loop] if s in public[loop]], loop
