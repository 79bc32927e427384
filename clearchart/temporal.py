"""One way to reach Temporal, shared by the API, the worker and the CLI."""

from temporalio.client import Client

from clearchart.payload_codec import data_converter
from clearchart.settings import Settings


async def connect(settings: Settings) -> Client:
    address = settings.temporal_address or f"127.0.0.1:{settings.temporal_port}"
    return await Client.connect(address, namespace=settings.temporal_namespace, data_converter=data_converter(settings))
