"""Alembic environment: the URL comes from the caller (clearchart migrate) or DATABASE_URL."""

from alembic import context
from sqlalchemy import create_engine, pool

from clearchart.settings import get_settings
from models import (  # noqa: F401 - registers every table
    access_log_tables,
    claim_tables,
    poller_tables,
    qa_tables,
    remittance_tables,
    sandbox_tables,
    suggestion_tables,
    tables,
    tenant_policy_tables,
    webhook_tables,
)
from models.base import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or get_settings().sqlalchemy_url


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        role = config.attributes.get("role")
        if role:  # the owner role: whatever the migrations create belongs to it, not to the login
            connection.exec_driver_sql(f'SET ROLE "{role}"')
            connection.commit()
        context.configure(connection=connection, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
