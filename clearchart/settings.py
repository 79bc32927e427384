"""One settings object for every process; environment variables override the embedded defaults."""

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "local-development-secret-change-me"

# The checkout this package runs from (an editable install), or None for an installed copy.
_CHECKOUT = Path(__file__).resolve().parent.parent
CHECKOUT: Path | None = _CHECKOUT if (_CHECKOUT / "pyproject.toml").is_file() else None


def default_data_dir() -> Path:
    """`var/` of the checkout, wherever the command runs from: `up`, the CLI and the keys file then
    agree from any directory. An installed copy (no checkout) keeps its state in the user's data
    directory; CLEARCHART_DATA_DIR overrides both."""
    if CHECKOUT is not None:
        return CHECKOUT / "var"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "clearchart"


class Settings(BaseSettings):
    # The checkout's .env, then one in the working directory (which wins).
    model_config = SettingsConfigDict(
        env_prefix="", env_file=(*([CHECKOUT / ".env"] if CHECKOUT else []), Path(".env")), extra="ignore"
    )

    environment: str = Field(default="local", alias="CLEARCHART_ENV")
    data_dir: Path = Field(default_factory=default_data_dir, alias="CLEARCHART_DATA_DIR")
    # Chain, signing, payload and secret keys: never in the database (clearchart.keys).
    key_file: Path | None = Field(default=None, alias="CLEARCHART_KEY_FILE")
    # Empty means: start the embedded server under data_dir.
    database_url: str = Field(default="", alias="DATABASE_URL")
    # A role that may create roles and tables: migrations run as `<db>_owner` through it.
    migration_database_url: str = Field(default="", alias="MIGRATION_DATABASE_URL")
    temporal_address: str = Field(default="", alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field(default="default", alias="TEMPORAL_NAMESPACE")
    task_queue: str = Field(default="clearchart-encounters", alias="CLEARCHART_TASK_QUEUE")
    # Empty means "<task_queue>-billing": claim building and submission, apart from coders' updates.
    billing_task_queue_name: str = Field(default="", alias="CLEARCHART_BILLING_TASK_QUEUE")
    # Open encounter workflows a worker keeps in memory (evicted ones replay on their next event,
    # 5-30 ms more); about 95 KB each on top of ~390 MB (bench/README.md, worker RSS), most of it
    # the SDK's own: size it to the memory limit, not to the open charts. 500 keeps an interactive
    # worker under 500 MB at any number of open encounters (460 MB peak with 10,000 open).
    max_cached_workflows: int = Field(default=500, alias="CLEARCHART_MAX_CACHED_WORKFLOWS")
    # How long a thread may hold the GIL while another waits (CPython's default is 5 ms). Workflow
    # tasks run in threads; with 5 ms, every database round trip of the event loop waited up to
    # 5 ms whenever a workflow task was running (bench/README.md).
    gil_switch_ms: float = Field(default=0.5, gt=0, alias="CLEARCHART_GIL_SWITCH_MS")
    # How much a `worker --role billing` process yields the CPU (Unix nice, 0-19) to the processes
    # beside it: on a shared machine a burst of billing waits for a coder's submit, not the reverse.
    billing_nice: int = Field(default=10, ge=0, le=19, alias="CLEARCHART_BILLING_NICE")
    api_host: str = Field(default="127.0.0.1", alias="CLEARCHART_API_HOST")
    api_port: int = Field(default=8000, alias="CLEARCHART_API_PORT")
    temporal_port: int = Field(default=7233, alias="CLEARCHART_TEMPORAL_PORT")
    temporal_ui_port: int = Field(default=8233, alias="CLEARCHART_TEMPORAL_UI_PORT")
    secret_key: str = Field(default=PLACEHOLDER_SECRET, alias="CLEARCHART_SECRET_KEY")
    json_logs: bool = Field(default=False, alias="CLEARCHART_JSON_LOGS")
    log_level: str = Field(default="INFO", alias="CLEARCHART_LOG_LEVEL")
    # Bundles with more encounters are answered 202 once stored and taken in by a background workflow.
    inline_bundle_limit: int = Field(default=25, ge=1, alias="CLEARCHART_INLINE_BUNDLE_LIMIT")
    inbound_chunk_size: int = Field(default=50, ge=1, alias="CLEARCHART_INBOUND_CHUNK_SIZE")
    webhook_tolerance_seconds: int = Field(default=300, alias="CLEARCHART_WEBHOOK_TOLERANCE_SECONDS")
    # Empty means the sandbox clearinghouse this app serves under /sandbox/clearinghouse.
    clearinghouse_url: str = Field(default="", alias="CLEARCHART_CLEARINGHOUSE_URL")
    clearinghouse_api_key: str = Field(default="sandbox-key", alias="CLEARCHART_CLEARINGHOUSE_API_KEY")
    clearinghouse_poll_seconds: float = Field(default=5.0, gt=0, alias="CLEARCHART_CLEARINGHOUSE_POLL_SECONDS")
    # Claims go out in batches per tenant and payer: cut at this many claims or this long after the first.
    claim_batch_seconds: float = Field(default=2.0, ge=0, le=3600, alias="CLEARCHART_CLAIM_BATCH_SECONDS")
    claim_batch_size: int = Field(default=100, ge=1, le=5000, alias="CLEARCHART_CLAIM_BATCH_SIZE")
    # Request limits checked before any route runs (docs/operations.md, "Limits").
    max_json_bytes: int = Field(default=1 << 20, gt=0, alias="CLEARCHART_MAX_JSON_BYTES")
    max_webhook_bytes: int = Field(default=32 << 20, gt=0, alias="CLEARCHART_MAX_WEBHOOK_BYTES")
    max_x12_bytes: int = Field(default=64 << 20, gt=0, alias="CLEARCHART_MAX_X12_BYTES")
    max_json_depth: int = Field(default=64, gt=1, alias="CLEARCHART_MAX_JSON_DEPTH")
    # Requests per second (sustained) and burst, per bearer token and per webhook source.
    rate_limit_per_second: float = Field(default=200.0, gt=0, alias="CLEARCHART_RATE_LIMIT_PER_SECOND")
    rate_limit_burst: int = Field(default=1000, gt=0, alias="CLEARCHART_RATE_LIMIT_BURST")
    # The installation's own operations tenant: only its admins may decrypt Temporal payloads
    # through /codec (a customer tenant's admin never can). Empty: nobody decodes over HTTP.
    operator_tenant: str = Field(default="", alias="CLEARCHART_OPERATOR_TENANT")

    @field_validator("data_dir", "key_file")
    @classmethod
    def _absolute(cls, path: Path | None) -> Path | None:
        """A relative CLEARCHART_DATA_DIR is taken from where it was set, once: a process that
        changes directory later still finds the same files."""
        return None if path is None else path.expanduser().absolute()

    @model_validator(mode="after")
    def _refuse_local_defaults(self) -> "Settings":
        if self.environment != "local" and self.secret_key == PLACEHOLDER_SECRET:
            raise ValueError("CLEARCHART_SECRET_KEY must be set outside CLEARCHART_ENV=local")
        if self.environment != "local" and not self.clearinghouse_url:
            raise ValueError(
                "CLEARCHART_CLEARINGHOUSE_URL must be set outside CLEARCHART_ENV=local: "
                "the sandbox clearinghouse only serves local runs"
            )
        return self

    @property
    def billing_task_queue(self) -> str:
        return self.billing_task_queue_name or f"{self.task_queue}-billing"

    @property
    def clearinghouse(self) -> str:
        return self.clearinghouse_url or f"http://{self.api_host}:{self.api_port}/sandbox/clearinghouse"

    @property
    def sqlalchemy_url(self) -> str:
        """The configured URL with the psycopg 3 driver, whatever scheme the user wrote."""
        url = self.database_url
        for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
