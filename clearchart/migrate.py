"""Runs Alembic to head; the app never creates tables any other way."""

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config(str(MIGRATIONS / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, role: str | None = None) -> None:
    """`role`: run the migrations as that (owner) role, so it owns what they create."""
    cfg = alembic_config(url)
    if role:
        cfg.attributes["role"] = role
    command.upgrade(cfg, "head")
