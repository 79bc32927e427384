"""Workflows speak in events, not tables: no workflow module names a database table or sends the
legacy ``Record`` payload, so histories stay independent of the schema."""

import ast
import importlib
import pkgutil
from pathlib import Path

import models
from models.base import Base

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
# Notice recipients are work queues that happen to share a table's name ("denials").
RECIPIENT_CALLS = {"_notify"}


def _table_names() -> set[str]:
    for module in pkgutil.walk_packages(models.__path__, "models."):
        leaf = module.name.rsplit(".", 1)[-1]
        if (leaf.endswith("tables") or leaf in ("reference", "events")) and ".repositories." not in module.name:
            importlib.import_module(module.name)
    return set(Base.metadata.tables)


def _offences(source: str, tables: set[str], *, legacy_ok: bool = False) -> list[str]:
    tree = ast.parse(source)
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in RECIPIENT_CALLS:
            allowed.update(id(arg) for arg in node.args[1:2])
        # Keys of the state the workflow reports ("holds" in an audit event's before/after) are
        # fields of the encounter, not tables; a table is named by passing it as a value.
        if isinstance(node, ast.Dict):
            allowed.update(id(key) for key in node.keys if key is not None)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.value in tables and id(node) not in allowed:
            found.append(f"line {node.lineno}: table name {node.value!r}")
        if not legacy_ok and isinstance(node, ast.Name) and node.id == "Record" and isinstance(node.ctx, ast.Load):
            found.append(f"line {node.lineno}: legacy Record payload")
    return found


def test_the_check_sees_a_table_name() -> None:
    tables = _table_names()
    assert {"claims", "denials", "appeals", "scrub_runs", "encounters"} <= tables
    assert sorted(_offences('x = Record("claims", "1", {})', tables)) == ["line 1: legacy Record payload", "line 1: table name 'claims'"]
    assert _offences('await self._notify("denial_to_work", "denials", "subject")', tables) == []
    assert _offences('after = {"holds": []}', tables) == []
    assert _offences('write("holds", {"id": 1})', tables) == ["line 1: table name 'holds'"]


def test_no_workflow_module_names_a_table() -> None:
    tables = _table_names()
    offences = {}
    for path in sorted(WORKFLOWS.rglob("*.py")):
        # The type modules still define the legacy Record, so older inputs decode.
        is_types = path.parent.name == "types"
        if found := _offences(path.read_text(), tables, legacy_ok=is_types):
            offences[str(path.relative_to(WORKFLOWS))] = found
    assert offences == {}
