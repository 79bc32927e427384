"""Two database roles: an owner that migrations run as, and the application's login role.

The application role owns no table, so it cannot disable the append-only triggers (ALTER TABLE
needs ownership) and, not being a superuser, cannot set `session_replication_role`; on the
audit tables it may only SELECT and INSERT. Roles are named after the database
(`<db>_owner`, `<db>_app`) so several databases on one server never share a role.
`provision` is idempotent: it runs on every start of the embedded stack and in the test setup.
"""

import hashlib
import hmac

import psycopg
import structlog
from psycopg import sql
from sqlalchemy.engine import make_url

from clearchart.migrate import upgrade

log = structlog.get_logger(__name__)

APPEND_ONLY = ("audit_events", "audit_ledger", "phi_access_log", "qa_chain_events", "evidence_receipts")


def role_names(database: str) -> tuple[str, str]:
    return f"{database[:56]}_owner", f"{database[:58]}_app"


def app_password(secret: str, database: str) -> str:
    """Derived from the deployment secret, so every process of the stack agrees without storing it."""
    return hmac.new(secret.encode(), f"db-app-role:{database}".encode(), hashlib.sha256).hexdigest()[:40]


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _ensure_role(conn: psycopg.Connection[tuple[object, ...]], name: str, *, login: bool, password: str | None) -> None:
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
    options = sql.SQL("LOGIN PASSWORD {}").format(sql.Literal(password)) if login else sql.SQL("NOLOGIN")
    verb = "ALTER" if exists else "CREATE"
    conn.execute(
        sql.SQL(verb + " ROLE {} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS {}").format(
            sql.Identifier(name), options
        )
    )


def app_url(admin_url: str, secret: str) -> str:
    """The application's URL for the database `admin_url` reaches: same server, its own role."""
    url = make_url(admin_url)
    database = str(url.database)
    return url.set(username=role_names(database)[1], password=app_password(secret, database)).render_as_string(
        hide_password=False
    )


def provision(admin_url: str, secret: str, app: str | None = None) -> str:
    """Create both roles, migrate as the owner, grant the application; return the application's URL.

    `admin_url` reaches the application's database as a superuser (the embedded server's, or the
    one a test or an operator provides). `app`: the application's own URL when an operator chose
    its role name and password (DATABASE_URL); by default both derive from the database name and
    the deployment secret."""
    target = make_url(app or app_url(admin_url, secret))
    url = make_url(admin_url)
    database = str(url.database)
    owner = role_names(database)[0]
    app, password = str(target.username), str(target.password)
    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        _ensure_role(conn, owner, login=False, password=None)
        _ensure_role(conn, app, login=True, password=password)
        ident = {"db": sql.Identifier(database), "owner": sql.Identifier(owner), "app": sql.Identifier(app)}
        for statement in (
            "GRANT CONNECT ON DATABASE {db} TO {app}",
            "GRANT ALL ON SCHEMA public TO {owner}",
            "GRANT USAGE ON SCHEMA public TO {app}",
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        ):
            conn.execute(sql.SQL(statement).format(**ident))
        # Tables a superuser created before the roles existed move to the owner.
        for (table,) in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tableowner <> %s", (owner,)
        ).fetchall():
            conn.execute(sql.SQL("ALTER TABLE {} OWNER TO {}").format(sql.Identifier(str(table)), ident["owner"]))
    upgrade(admin_url, role=owner)
    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        ident = {"owner": sql.Identifier(owner), "app": sql.Identifier(app)}
        for statement in (
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app}",
            "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app}",
        ):
            conn.execute(sql.SQL(statement).format(**ident))
        for table in APPEND_ONLY:
            conn.execute(sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {} FROM {}").format(sql.Identifier(table), ident["app"]))
    log.info("database.roles_ready", database=database, owner=owner, app=app)
    return target.render_as_string(hide_password=False)


def drop_roles(admin_url: str, database: str) -> None:
    """After the database is dropped (tests): its two roles go too."""
    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        for name in role_names(database):
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
