"""One way to reach Temporal, shared by the API, the worker and the CLI."""

from temporalio.client import Client
from temporalio.service import RetryConfig

from clearchart.payload_codec import data_converter
from clearchart.settings import Settings

# A request-serving client gives up on an unreachable server within about a second, so the API
# answers 503 + Retry-After instead of holding the caller for the default ten seconds; workers
# and the CLI keep the patient default.
INTERACTIVE_RETRY = RetryConfig(
    initial_interval_millis=100, max_interval_millis=300, max_elapsed_time_millis=800, max_retries=4
)


ADDRESS_FILE = "temporal.address"


def address_of(settings: Settings) -> str:
    """TEMPORAL_ADDRESS, else the embedded server a running `up` recorded under the data dir (its
    port may not be the default one this process sees), else the default port."""
    if settings.temporal_address:
        return settings.temporal_address
    recorded = settings.data_dir / ADDRESS_FILE
    try:
        return recorded.read_text().strip() or f"127.0.0.1:{settings.temporal_port}"
    except OSError:
        return f"127.0.0.1:{settings.temporal_port}"


_clients_made = 0


def client_made() -> bool:
    """Whether this process created a Temporal client (and with it the SDK's native runtime)."""
    return _clients_made > 0


async def connect(settings: Settings, *, interactive: bool = False) -> Client:
    """`interactive`: for the API, connecting lazily (it may start before Temporal) and failing fast."""
    global _clients_made
    _clients_made += 1
    address = address_of(settings)
    converter = data_converter(settings)
    if interactive:
        return await Client.connect(
            address, namespace=settings.temporal_namespace, retry_config=INTERACTIVE_RETRY, lazy=True,
            data_converter=converter,
        )  # fmt: skip
    return await Client.connect(address, namespace=settings.temporal_namespace, data_converter=converter)


async def connect_briefly(settings: Settings) -> Client:
    """For a one-shot command: connected now, failing fast when Temporal is down."""
    global _clients_made
    _clients_made += 1
    return await Client.connect(
        address_of(settings), namespace=settings.temporal_namespace, data_converter=data_converter(settings),
        retry_config=INTERACTIVE_RETRY,
    )  # fmt: skip
