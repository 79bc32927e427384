"""A real HTTP server receiving outbound webhooks: it records each request and answers from a
script (status and headers per call), so tests see exactly what an integrator's server sees."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clearchart.embedded import free_port
from tests.support import started


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)

    def answer(self, *responses: tuple[int, dict[str, str]]) -> None:
        """Answer the next calls with these; afterwards every call gets 204."""
        self.script.extend(responses)


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    port = free_port()
    box = Receiver(f"http://127.0.0.1:{port}/hooks")

    async def hook(request: Request) -> Response:
        box.received.append(Received(dict(request.headers), await request.body()))
        status, headers = box.script.pop(0) if box.script else (204, {})
        return Response(status_code=status, headers=headers)

    app = Starlette(routes=[Route("/hooks", hook, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    serving = asyncio.create_task(server.serve())
    await started(server, serving)
    try:
        yield box
    finally:
        server.should_exit = True
        await serving
