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
