"""Alembic environment: the URL comes from the caller (clearchart migrate) or DATABASE_URL."""

import importlib
import pkgutil

from alembic import context
from sqlalchemy import create_engine, pool

import models
from clearchart.settings import get_settings
from models.base import Base

# Importing a table module registers its tables on Base.metadata (what autogenerate compares):
# every ORM module is named *tables or reference, in whichever feature package it lives.
for _module in pkgutil.walk_packages(models.__path__, "models."):
    if _module.name.rsplit(".", 1)[-1].endswith(("tables", "reference")) and ".repositories." not in _module.name:
        importlib.import_module(_module.name)

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
