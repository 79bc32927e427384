"""Big 835s are parsed in a worker process and come back equal, errors included."""

import pickle
from collections.abc import Iterator

import pytest

from bench.remittance import file_835
from models.errors import InvalidRequest
from services import parse_pool
from services.billing_intake import read_835


@pytest.fixture
def pool() -> Iterator[None]:
    yield
    parse_pool.shutdown()


async def test_a_big_file_is_parsed_in_the_worker_and_comes_back_equal(pool: None) -> None:
    text = file_835(0, 1500, 7)
    assert len(text) >= parse_pool.IN_PROCESS_LIMIT  # else this would not reach the worker
    remittances = await parse_pool.read_835_off_loop(text)
    assert parse_pool._pool is not None  # the worker was started
    assert remittances == read_835(text)
    assert len(remittances[0].claims) == 1500


async def test_a_small_file_stays_in_process(pool: None) -> None:
    text = file_835(0, 3, 8)
    assert [c.claim_control_number for r in await parse_pool.read_835_off_loop(text) for c in r.claims] == [f"CC{n:014d}" for n in range(3)]
    assert parse_pool._pool is None


async def test_a_refusal_in_the_worker_reaches_the_caller(pool: None) -> None:
    text = file_835(0, 1500, 9).replace("CLP*", "CLP*" + "X" * 40, 1)
    with pytest.raises(InvalidRequest, match="longer than 38 characters"):
        await parse_pool.read_835_off_loop(text)


async def test_after_shutdown_a_new_worker_is_started(pool: None) -> None:
    text = file_835(0, 1500, 10)
    first = await parse_pool.read_835_off_loop(text)
    parse_pool.shutdown()
    assert parse_pool._pool is None
    assert await parse_pool.read_835_off_loop(text) == first


def test_the_chunks_unpickle_to_the_same_claims() -> None:
    text = file_835(0, 600, 11)
    chunked = parse_pool.parse_chunked(text)
    assert [len(pickle.loads(c)) for c in chunked[0][1]] == [250, 250, 100]
