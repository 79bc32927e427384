"""Reading big 835s in a worker process, so the API's event loop keeps answering meanwhile.

A parse in a thread still holds the GIL (pure-Python tokenizing, about half a second per 1,000
claims on a busy machine), which stalled `/readyz` for seconds. Files above `IN_PROCESS_LIMIT`
are parsed by one `spawn`ed worker process (safe beside the API's threads); smaller ones, the
common case, stay in a thread and pay no IPC. The worker sends the result back as pickled chunks
of `CHUNK_CLAIMS` claims: unpickling 50,000 claims at once is seconds of GIL too, so the caller
unpickles one chunk at a time and yields to the loop in between. The pool is created on first
use and shut down with the app (`shutdown`); a pool that was shut down or broke is replaced, and
the file is then read in a thread rather than refused.
"""

import asyncio
import multiprocessing
import pickle
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace

from integrations.billing.remittance import ClaimPayment, Remittance

IN_PROCESS_LIMIT = 256 * 1024
"""Characters below which an 835 is parsed in a thread: about 1,200 claims, a fraction of a second."""
CHUNK_CLAIMS = 250
"""Claims per pickled chunk: unpickling one holds the loop for milliseconds."""

_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()

Chunked = list[tuple[bytes, list[bytes]]]
"""Per remittance: the remittance without its claims, then its claims in pickled chunks."""


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn")
            )
        return _pool


def shutdown() -> None:
    """Stop the worker (the app's shutdown); waits for a parse in progress. Reusable afterwards."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def parse_chunked(text: str) -> Chunked:
    """Runs in the worker: the checked parse, pickled in chunks for the caller to unpickle."""
    from services.billing_intake import read_835  # the worker imports the intake rules, not the API

    out: Chunked = []
    for r in read_835(text):
        head = pickle.dumps(replace(r, claims=[]), protocol=pickle.HIGHEST_PROTOCOL)
        chunks = [
            pickle.dumps(r.claims[i : i + CHUNK_CLAIMS], protocol=pickle.HIGHEST_PROTOCOL)
            for i in range(0, len(r.claims), CHUNK_CLAIMS)
        ]
        out.append((head, chunks))
    return out


async def unchunk(chunked: Chunked) -> list[Remittance]:
    remittances: list[Remittance] = []
    for head, chunks in chunked:
        claims: list[ClaimPayment] = []
        for chunk in chunks:
            claims += pickle.loads(chunk)
            await asyncio.sleep(0)
        remittances.append(replace(pickle.loads(head), claims=claims))
    return remittances


async def read_835_off_loop(text: str) -> list[Remittance]:
    """`billing_intake.read_835` without holding the event loop; raises what it raises."""
    from services.billing_intake import read_835

    if len(text) < IN_PROCESS_LIMIT:
        return await asyncio.to_thread(read_835, text)
    pool = _executor()
    try:
        future = pool.submit(parse_chunked, text)
    except RuntimeError:  # the app shut this pool down meanwhile (or it broke): read it here
        _discard(pool)
        return await asyncio.to_thread(read_835, text)
    try:
        chunked = await asyncio.wrap_future(future)
    except BrokenProcessPool:  # the worker died (killed, out of memory): a new one next time
        _discard(pool)
        return await asyncio.to_thread(read_835, text)
    return await unchunk(chunked)
