"""One workflow per large inbound bundle: its encounters are taken in chunk by chunk.

Durable where an HTTP request is not: the sender got its 202 already, a worker restart resumes
at the next unfinished chunk, and each chunk skips encounters already processed.
"""

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

# Chunks in flight at once; each takes several encounters in at a time (services.inbound).
PARALLEL_CHUNKS = 4


def inbound_workflow_id(message_id: str) -> str:
    return f"inbound/{message_id}"


@dataclass(frozen=True)
class InboundBundleInput:
    tenant_id: str
    message_id: str
    total: int
    chunk_size: int = 50


@dataclass(frozen=True)
class ChunkInput:
    tenant_id: str
    message_id: str
    start: int
    end: int


@dataclass(frozen=True)
class InboundSummary:
    processed: int
    failed: int


@workflow.defn(name="InboundBundle")
class InboundBundleWorkflow:
    @workflow.run
    async def run(self, inp: InboundBundleInput) -> InboundSummary:
        bounds = [(s, min(s + inp.chunk_size, inp.total)) for s in range(0, inp.total, inp.chunk_size)]
        processed = failed = 0
        for wave in range(0, len(bounds), PARALLEL_CHUNKS):
            results = await asyncio.gather(
                *(
                    workflow.execute_activity(
                        "inbound.process_chunk",
                        ChunkInput(inp.tenant_id, inp.message_id, start, end),
                        result_type=InboundSummary,
                        start_to_close_timeout=timedelta(minutes=10),
                        retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10)),
                    )
                    for start, end in bounds[wave : wave + PARALLEL_CHUNKS]
                )
            )
            processed += sum(r.processed for r in results)
            failed += sum(r.failed for r in results)
        return InboundSummary(processed, failed)
