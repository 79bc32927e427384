"""Every public sample kept in the repository says where it came from and under what license."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURE_ROOTS = [REPO / "tests" / "fixtures", REPO / "integrations" / "sandbox" / "fixtures"]
TOP_README = REPO / "tests" / "fixtures" / "README.md"
# An absolute path into this machine's workspace, or a step out of the checkout to a sibling.
OUTSIDE = re.compile(r"""["']/work/|\.\./shared/|["']shared["']\s*/\s*["']samples["']""")


def fixture_files() -> list[Path]:
    return sorted(
        path
        for root in FIXTURE_ROOTS
        for path in root.rglob("*")
        if path.is_file() and path.name != "README.md" and "__pycache__" not in path.parts
    )


def provenance_texts(path: Path) -> str:
    """The top README plus every README.md from the file's folder up to its fixture root."""
    texts = [TOP_README.read_text()]
    folder = path.parent
    while True:
        readme = folder / "README.md"
        if readme.exists():
            texts.append(readme.read_text())
        if folder in FIXTURE_ROOTS or folder == REPO:
            break
        folder = folder.parent
    return "\n".join(texts)


def named(path: Path) -> set[str]:
    """A file is covered by its own name, or by the name of a subfolder (a set kept whole, such as
    a corpus's text files) that its feature's own README names."""
    names = {path.name}
    folder = path.parent
    between: list[str] = []
    while folder not in FIXTURE_ROOTS and folder != REPO:
        if (folder / "README.md").exists():
            return names | {f"{name}/" for name in between}
        between.append(folder.name)
        folder = folder.parent
    return names


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_fixture_is_named_in_a_readme(path: Path) -> None:
    texts = provenance_texts(path)
    assert any(name in texts for name in named(path)), f"{path.relative_to(REPO)} has no provenance entry"


def test_nothing_reads_outside_the_checkout() -> None:
    offenders = [
        str(path.relative_to(REPO))
        for folder in ("tests", "api", "models", "workflows", "activities", "integrations", "clearchart", "bench", "scripts")
        for path in (REPO / folder).rglob("*")
        if path.is_file()
        and path.suffix in {".py", ".sh", ""}
        and path != Path(__file__).resolve()
        and OUTSIDE.search(path.read_text(errors="ignore"))
    ]
    assert offenders == []
