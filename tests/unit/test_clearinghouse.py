"""The HTTP adapter against the sandbox clearinghouse served by uvicorn on a real socket."""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio
import uvicorn

from integrations.billing.client import HttpClearinghouse
from integrations.billing.errors import ClearinghouseRejected, ClearinghouseUnavailable
from integrations.billing.remittance import claim_outcome
from integrations.billing.x277ca import parse_277ca
from integrations.billing.x835 import parse_835
from integrations.billing.x837p import build_837p
from integrations.billing.x999 import parse_999
from integrations.sandbox.clearinghouse import create_app
from tests.unit.x12_support import BILLING, INTERCHANGE, RECEIVER, SUBMITTER, claims

API_KEY = "test-key"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(API_KEY), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(500):  # poll readiness; any answer (even 401) means the socket serves
        if server.started:
            try:
                httpx.get(f"{url}/v1/responses", timeout=1)
                break
            except httpx.TransportError:
                pass
        thread.join(0.01)
    else:
        pytest.fail("sandbox clearinghouse did not start")
    yield url
    server.should_exit = True
    thread.join(10)


@pytest_asyncio.fixture
async def client(base_url: str) -> AsyncIterator[HttpClearinghouse]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield HttpClearinghouse(http, base_url, API_KEY)


def _claims_file(*ccns: str) -> str:
    return build_837p(INTERCHANGE, SUBMITTER, RECEIVER, BILLING, claims(*ccns))


async def _responses_after(client: HttpClearinghouse, since: str | None) -> dict[str, list[str]]:
    files = await client.fetch_responses(since)
    out: dict[str, list[str]] = {}
    for f in files:
        out.setdefault(f.kind, []).append(f.content)
    return out


class TestSandboxRoundTrip:
    async def test_submission_yields_999_277ca_and_835_by_the_documented_rules(
        self, client: HttpClearinghouse
    ) -> None:
        before = await client.fetch_responses()
        since = before[-1].id if before else None
        receipt = await client.submit(
            "batch-rules", _claims_file("ENC-OK", "REJECT-1", "DENY-2", "PARTIAL-3")
        )
        assert all(group.accepted for group in parse_999(receipt.ack_999))

        files = await _responses_after(client, since)
        assert files["999"] == [receipt.ack_999]
        acks = {a.claim_control_number: a for a in parse_277ca(files["277CA"][0])}
        assert {k: (a.accepted, a.status_category) for k, a in acks.items()} == {
            "ENC-OK": (True, "A2"), "REJECT-1": (False, "A7"), "DENY-2": (True, "A2"),
            "PARTIAL-3": (True, "A2"),
        }  # fmt: skip
        payments = {
            c.claim_control_number: c
            for text in files["835"]
            for r in parse_835(text)
            for c in r.claims
        }
        assert set(payments) == {"ENC-OK", "DENY-2", "PARTIAL-3"}
        ok, deny, partial = payments["ENC-OK"], payments["DENY-2"], payments["PARTIAL-3"]
        # 99214 at 150.00 and 20610 at 100.25: 80% allowed, rounded down to the cent.
        assert [ln.paid_cents for ln in ok.lines] == [12000, 8020]
        assert [(a.group, a.carc, a.amount_cents) for ln in ok.lines for a in ln.adjustments] == [
            ("CO", "45", 3000), ("CO", "45", 2005)
        ]  # fmt: skip
        assert ok.lines[0].modifiers == ["25"]
        assert ok.lines[1].modifiers == ["RT", "59"]
        assert claim_outcome(ok) == "paid"
        assert (deny.status_code, deny.paid_cents, claim_outcome(deny)) == ("4", 0, "denied")
        assert [(a.carc, a.amount_cents) for ln in deny.lines for a in ln.adjustments] == [
            ("97", 15000),
            ("97", 10025),
        ]
        assert all(ln.remarks == ["N20"] for ln in deny.lines)
        assert (partial.paid_cents, claim_outcome(partial)) == (8020, "partial")

    async def test_resubmitting_the_same_batch_returns_the_first_receipt(
        self, client: HttpClearinghouse
    ) -> None:
        text = _claims_file("ENC-IDEM")
        first = await client.submit("batch-idem", text)
        again = await client.submit("batch-idem", text)
        assert again == first
        with pytest.raises(ClearinghouseRejected, match=r"409.*already submitted"):
            await client.submit("batch-idem", _claims_file("ENC-OTHER"))

    async def test_invalid_837_gets_a_rejecting_999_and_no_claim_responses(
        self, client: HttpClearinghouse
    ) -> None:
        since = (await client.fetch_responses())[-1].id
        broken = _claims_file("ENC-BAD").replace("DMG*D8*19800517", "DMG*D8*19801317")
        receipt = await client.submit("batch-broken", broken)
        assert not parse_999(receipt.ack_999)[0].accepted
        assert [f.kind for f in await client.fetch_responses(since)] == ["999"]

    async def test_non_x12_body_is_rejected_permanently(self, client: HttpClearinghouse) -> None:
        with pytest.raises(ClearinghouseRejected, match=r"422.*not a readable 837P") as info:
            await client.submit("batch-garbage", "hello")
        assert info.value.status_code == 422

    async def test_wrong_api_key_is_rejected(self, base_url: str) -> None:
        async with httpx.AsyncClient() as http:
            with pytest.raises(ClearinghouseRejected, match="401"):
                await HttpClearinghouse(http, base_url, "wrong").fetch_responses()


class TestTransportErrors:
    async def test_connection_refused_is_unavailable(self) -> None:
        async with httpx.AsyncClient(timeout=2) as http:
            client = HttpClearinghouse(http, f"http://127.0.0.1:{_free_port()}", API_KEY)
            with pytest.raises(ClearinghouseUnavailable, match="failed"):
                await client.submit("b", "x")

    @pytest.mark.parametrize(
        ("status", "error"),
        [
            (503, ClearinghouseUnavailable),
            (429, ClearinghouseUnavailable),
            (400, ClearinghouseRejected),
        ],
    )
    async def test_status_codes_map_to_transient_or_permanent(
        self, status: int, error: type[Exception]
    ) -> None:
        transport = httpx.MockTransport(lambda _: httpx.Response(status, json={"detail": "nope"}))
        async with httpx.AsyncClient(transport=transport) as http:
            with pytest.raises(error, match="nope"):
                await HttpClearinghouse(http, "http://ch", API_KEY).fetch_responses()

    async def test_malformed_answer_is_unavailable_not_a_crash(self) -> None:
        transport = httpx.MockTransport(lambda _: httpx.Response(200, json={"files": [{"id": 1}]}))
        async with httpx.AsyncClient(transport=transport) as http:
            with pytest.raises(ClearinghouseUnavailable, match="malformed"):
                await HttpClearinghouse(http, "http://ch", API_KEY).fetch_responses()
