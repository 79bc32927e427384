"""Workflow code replays, so it may not read a clock, a random source or the outside world.

Ruff's banned-API rule (TID251, configured in pyproject.toml for ``workflows/**`` only) does the
checking in CI; these tests prove the rule is configured and bites, and cover the builtins the
rule cannot name (``open``, ``input``, ``print``)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BANNED_BUILTINS = {"open", "input", "print", "exec", "eval"}


def _ruff(source: str, filename: str) -> str:
    run = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--select", "TID251", "--output-format", "concise", "--stdin-filename", filename, "-"],
        input=source, capture_output=True, text=True, cwd=REPO, check=False,
    )  # fmt: skip
    return run.stdout


@pytest.mark.parametrize(
    "source",
    [
        "from datetime import datetime\nx = datetime.now()\n",
        "import datetime\nx = datetime.date.today()\n",
        "import time\nx = time.time()\n",
        "import uuid\nx = uuid.uuid4()\n",
        "import random\n",
        "import os\n",
        "import httpx\n",
        "from sqlalchemy import select\n",
        "import psycopg\n",
        "import pathlib\n",
    ],
)
def test_banned_api_is_refused_in_workflows(source: str) -> None:
    assert "TID251" in _ruff(source, "workflows/probe.py")


def test_banned_api_is_allowed_elsewhere() -> None:
    assert "TID251" not in _ruff("import uuid\nimport os\nx = uuid.uuid4()\n", "activities/probe.py")


def test_workflows_call_no_io_builtin() -> None:
    found = []
    for path in sorted((REPO / "workflows").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in BANNED_BUILTINS:
                found.append(f"{path.relative_to(REPO)}:{node.lineno} {node.func.id}()")
    assert found == []
