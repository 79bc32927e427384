"""What the clearinghouse poller has fetched: its cursor, and files it could not route or read.

One row per inbound file id per clearinghouse. The newest row (highest ``seq``) is the cursor,
so a restart resumes after the last file handled. Bodies are kept only for files that reached
no tenant (unknown claims, unreadable X12), so operations can handle them by hand; files that
were applied live verbatim in ``inbound_files`` of their tenant.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import BigInteger, Identity, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class ClearinghouseFile(Base):
    __tablename__ = "clearinghouse_files"
    __table_args__ = (UniqueConstraint("source", "file_id"),)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    source: Mapped[str] = mapped_column(String(255))
    file_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))  # applied split unrouted refused skipped
    tenants: Mapped[list[Any]] = mapped_column(default=list)
    detail: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())


class PollerStatus(Base):
    """The poller's heartbeat per clearinghouse, read by ``/readyz`` from any process."""

    __tablename__ = "clearinghouse_poller_status"
    source: Mapped[str] = mapped_column(String(255), primary_key=True)
    last_attempt_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    files_failed: Mapped[int] = mapped_column(BigInteger, default=0)


FAILURES_BEFORE_DEGRADED = 3


def source_label(source: str) -> str:
    """A poller's source as the public probes name it: the mailbox path, never the host."""
    parts = urlsplit(source)
    return (parts.path.strip("/") or "clearinghouse") if parts.netloc else source


def _without_host(text: str | None, source: str) -> str | None:
    host = urlsplit(source).netloc
    return text.replace(host, "clearinghouse") if text and host else text


def poller_view(p: PollerStatus, now: datetime) -> dict[str, Any]:
    lag = (now - p.last_success_at).total_seconds() if p.last_success_at else None
    return {"source": source_label(p.source), "lag_seconds": lag, "consecutive_failures": p.consecutive_failures,
            "files_failed": p.files_failed, "last_error": _without_host(p.last_error, p.source)}  # fmt: skip


def poller_problems(pollers: Iterable[PollerStatus], now: datetime, every_seconds: float) -> list[str]:
    """Why the poller is degraded: failing polls in a row, or no success for ten intervals."""
    out = []
    for p in pollers:
        lag = (now - p.last_success_at).total_seconds() if p.last_success_at else None
        if p.consecutive_failures >= FAILURES_BEFORE_DEGRADED:
            error = _without_host(p.last_error, p.source)
            out.append(f"clearinghouse poller ({source_label(p.source)}): {p.consecutive_failures} failed polls in a row; last error: {error}")
        elif p.last_attempt_at is not None and (lag is None or lag > max(60.0, 10 * every_seconds)):
            out.append(f"clearinghouse poller ({source_label(p.source)}): no successful poll for {'ever' if lag is None else f'{lag:.0f} s'}")
    return out
