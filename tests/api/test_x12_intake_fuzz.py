"""Mutated 835s and 277CAs posted to the live API: refused with problem+json, never a crash,
never half-applied (a refused file leaves no inbound_files row).

Hypothesis drives a synchronous client from a worker thread, so the live server (which runs on
the test event loop) keeps serving while examples run.
"""

import asyncio
import re

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from tests.api.claim_support import post_x12
from tests.conftest import SAMPLES
from tests.support import Tenant

FILES = {
    "835-denial-and-paid.edi": "/v1/remittances",
    "835-emedny-denials.edi": "/v1/remittances",
    "835-single-line-paid-contractual.edi": "/v1/remittances",
    "277CA-accepted-emedny.edi": "/v1/acknowledgments",
    "277CA-rejected-A7-emedny.edi": "/v1/acknowledgments",
}
TEXTS = {name: (SAMPLES / "x12" / name).read_text() for name in FILES}
NUMBER = re.compile(r"(?<=\*)-?\d+(?:\.\d+)?(?=[*~:])")


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str]:
    """(path, body): one sample with one mutation a real feed could produce, or plain garbage."""
    name = draw(st.sampled_from(sorted(FILES)))
    text = TEXTS[name]
    segments = text.split("~")
    how = draw(st.sampled_from(["truncate", "drop", "duplicate", "amount", "splice", "garbage"]))
    if how == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    elif how in ("drop", "duplicate"):
        i = draw(st.integers(0, len(segments) - 1))
        segments[i:i] = [segments[i]] if how == "duplicate" else []
        if how == "drop":
            del segments[i]
        text = "~".join(segments)
    elif how == "amount":
        spots = list(NUMBER.finditer(text))
        spot = spots[draw(st.integers(0, len(spots) - 1))]
        value = draw(st.sampled_from(["", "-", "1e9", "NaN", "12.345", "99999999999999999999.99", "0x10", "٣"]) | st.text(max_size=6))
        text = text[: spot.start()] + value + text[spot.end() :]
    elif how == "splice":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(max_size=20)) + text[at:]
    else:
        text = draw(st.text(min_size=1, max_size=300))
    return FILES[name], text


def _count_files(dsn: str, tenant_id: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM inbound_files WHERE tenant_id = %s", (tenant_id,)).fetchone()
        return int(row[0]) if row else 0


async def test_mutated_payer_files_get_200_or_a_problem_and_refusals_store_nothing(tenant: Tenant, database_url: str) -> None:
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    seen: dict[int, int] = {}

    @settings(max_examples=120, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(mutated())
    def post(case: tuple[str, str]) -> None:
        path, body = case
        before = _count_files(dsn, tenant.id)
        headers = {"content-type": "application/edi-x12", **tenant.auth("integrator")}
        with httpx.Client(timeout=30) as client:
            answer = client.post(f"{tenant.stack.url}{path}", content=body.encode("utf-8", "surrogatepass"), headers=headers)
        seen[answer.status_code] = seen.get(answer.status_code, 0) + 1
        assert answer.status_code in (200, 422), (answer.status_code, answer.text[:300], body[:300])
        if answer.status_code == 422:
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["detail"]
            assert _count_files(dsn, tenant.id) == before

    await asyncio.to_thread(post)
    assert seen.get(422, 0) > 0  # the mutations do reach the refusal path
    assert seen.get(200, 0) > 0  # ... and harmless ones still ingest


@pytest.mark.parametrize(
    ("path", "body", "detail"),
    [
        ("/v1/remittances", TEXTS["835-denial-and-paid.edi"].replace("CLP*EDI DENIAL*", "CLP*" + "X" * 39 + "*", 1), "longer than 38"),
        ("/v1/remittances", TEXTS["835-single-line-paid-contractual.edi"].replace("CLP*PAYEECLAIMID*1*483*", "CLP*PAYEECLAIMID*1*999999999999999999*"), "out of range"),
        ("/v1/acknowledgments", TEXTS["277CA-accepted-emedny.edi"].replace("~", "\x00~", 1), "NUL"),
    ],
)
async def test_values_our_tables_cannot_hold_are_refused_up_front(tenant: Tenant, path: str, body: str, detail: str) -> None:
    refused = await post_x12(tenant, path, body)
    assert refused.status_code == 422, refused.text
    assert detail in refused.json()["detail"]
