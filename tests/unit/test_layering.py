"""The layers import downwards only: routes are leaves, and nothing below `api/` knows HTTP.

An import scan (AST, so comments and strings do not count) over the checkout. A page or route that
needs what another route does calls the service both share; a service, model, activity, workflow
or CLI module never imports `api.*`.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BELOW_API = ("services", "models", "activities", "workflows", "clearchart")

# Known exceptions, each to be removed by its own change; an entry that no longer imports what it
# names fails the test, so this list only shrinks.
ALLOWED: set[tuple[str, str]] = {
    # The CLI starts the application it serves.
    ("clearchart/cli.py", "api.main"),
    ("clearchart/up.py", "api.main"),
    # Token hashing is shared by the API's authentication and the CLI that issues tokens.
    ("clearchart/admin.py", "api.auth"),
    ("clearchart/demo.py", "api.auth"),
}


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports(path: Path) -> set[str]:
    """The modules `path` imports (`from api.routes import claims` names `api.routes.claims`)."""
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            inner = {f"{node.module}.{a.name}" for a in node.names} if node.module in ("api", "api.routes") else set()
            found |= {m for m in inner if _is_module(m)} or {node.module}
    return found


def offences() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in sorted(ROOT.glob("api/**/*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "api/main.py":
            continue
        found |= {(rel, m) for m in imports(path) if m == "api.routes" or m.startswith("api.routes.")}
    for top in BELOW_API:
        for path in sorted(ROOT.glob(f"{top}/**/*.py")):
            rel = path.relative_to(ROOT).as_posix()
            found |= {(rel, m) for m in imports(path) if m == "api" or m.startswith("api.")}
    return found


def test_no_route_module_is_imported_outside_the_app_and_nothing_below_api_imports_it() -> None:
    found = offences()
    unexpected = sorted(found - ALLOWED)
    assert not unexpected, "imports against the layering (call a service instead): " + ", ".join(f"{f} imports {m}" for f, m in unexpected)


def test_every_allowed_exception_still_exists() -> None:
    found = offences()
    stale = sorted(a for a in ALLOWED if a not in found)
    assert not stale, f"these exceptions no longer occur; remove them from ALLOWED: {stale}"


def test_the_scan_sees_an_offending_import(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("from api.routes import claims\nimport api.errors\n")
    assert imports(probe) == {"api.routes.claims", "api.errors"}


# --- All SQL lives in repositories -----------------------------------------------------------
#
# A module above `models/` may hold a session and catch the driver's errors, but it builds no
# statement: it calls a function of `models/repositories/`. Building SQL means importing from
# SQLAlchemy's expression, ORM-query or dialect modules (`select`, `insert`, `update`, `delete`,
# `text`, `func`, `and_`, `Select`, ...) or importing the `sqlalchemy` package itself.
SQL_FREE = ("services", "api", "activities", "clearchart")
# Modules that only hand sessions around, open engines or name the driver's errors.
NOT_SQL = ("sqlalchemy.ext.asyncio", "sqlalchemy.exc", "sqlalchemy.engine")

# Known exceptions, each with why it has not moved; the list only shrinks (a stale entry fails).
SQL_ALLOWED: set[tuple[str, str]] = set()


def sql_imports(path: Path) -> set[str]:
    """The SQLAlchemy modules `path` takes statement builders from."""
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "sqlalchemy" and not a.name.startswith(NOT_SQL)}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.split(".")[0] == "sqlalchemy":
            found |= set() if node.module.startswith(NOT_SQL) else {node.module}
    return found


def sql_offences() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for top in SQL_FREE:
        for path in sorted(ROOT.glob(f"{top}/**/*.py")):
            rel = path.relative_to(ROOT).as_posix()
            found |= {(rel, m) for m in sql_imports(path)}
    return found


def test_no_module_above_models_builds_sql() -> None:
    unexpected = sorted(sql_offences() - SQL_ALLOWED)
    assert not unexpected, "SQL outside models/repositories/ (add a repository function): " + ", ".join(
        f"{f} imports {m}" for f, m in unexpected
    )


def test_every_allowed_sql_exception_still_exists() -> None:
    stale = sorted(SQL_ALLOWED - sql_offences())
    assert not stale, f"these exceptions no longer occur; remove them from SQL_ALLOWED: {stale}"


def test_the_sql_scan_sees_statement_builders(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from sqlalchemy import select\nfrom sqlalchemy.dialects.postgresql import insert\nimport sqlalchemy as sa\n"
        "from sqlalchemy.ext.asyncio import AsyncSession\nfrom sqlalchemy.exc import IntegrityError\n"
    )
    assert sql_imports(probe) == {"sqlalchemy", "sqlalchemy.dialects.postgresql"}


# --- models/ is the bottom layer ----------------------------------------------------------------
#
# Pure rules, types and repositories import nothing above them: no workflow code (a repository
# maps projection events, which are types of models/), no services, activities or transport.
ABOVE_MODELS = ("workflows", "services", "activities", "api", "clearchart")


def model_offences() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in sorted(ROOT.glob("models/**/*.py")):
        rel = path.relative_to(ROOT).as_posix()
        found |= {(rel, m) for m in imports(path) if m.split(".")[0] in ABOVE_MODELS}
    return found


def test_models_import_nothing_above_them() -> None:
    found = sorted(model_offences())
    assert not found, "models/ imports a layer above it: " + ", ".join(f"{f} imports {m}" for f, m in found)
