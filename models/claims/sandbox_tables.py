"""The sandbox clearinghouse's mailbox, kept in the database so it survives restarts.

File ids come from an identity column, so the numbering never restarts at 1 under a poller
whose cursor remembers a higher id. Scripts let an operator or a test decide how the sandbox
answers one claim (deny, reject, partial pay, reverse, late 277CA).
"""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class SandboxFile(Base):
    __tablename__ = "sandbox_clearinghouse_files"
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class SandboxSubmission(Base):
    __tablename__ = "sandbox_clearinghouse_submissions"
    batch_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    receipt: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class SandboxScript(Base):
    __tablename__ = "sandbox_clearinghouse_scripts"
    control_number: Mapped[str] = mapped_column(String(38), primary_key=True)
    script: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
