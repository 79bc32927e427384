"""A worker process keeps the code-set tables it built, not the library's parse tree behind them."""

import gc
import sys

import pytest

from clearchart import worker
from integrations.codesets.icd10cm import Icd10Table, release_library


def _library_loaded() -> bool:
    return any(name == "simple_icd_10_cm" or name.startswith("simple_icd_10_cm.") for name in sys.modules)


class TestReleaseLibrary:
    def test_built_tables_keep_answering_and_a_later_build_loads_it_again(self) -> None:
        table = Icd10Table.from_simple_icd_10_cm()
        assert _library_loaded()

        assert release_library() is True
        assert not _library_loaded()
        entry = table.get("E11.65")
        assert entry is not None
        assert entry.billable
        assert table.search("E11.6", limit=1)[0][0] == "E11.6"

        again = Icd10Table.from_simple_icd_10_cm()
        assert _library_loaded()
        assert len(again) == len(table)
        assert release_library() is True

    def test_nothing_to_release(self) -> None:
        release_library()
        assert release_library() is False


class TestPrepareProcess:
    @pytest.fixture
    def steps(self, monkeypatch: pytest.MonkeyPatch) -> list[str]:
        done: list[str] = []
        monkeypatch.setattr(worker, "warm_catalog", lambda: done.append("code sets"))
        monkeypatch.setattr(worker, "default_engine", lambda: done.append("suggestion engine"))

        def release() -> bool:
            done.append("release library")
            return True

        monkeypatch.setattr(worker, "release_library", release)
        monkeypatch.setattr(gc, "freeze", lambda: done.append("freeze"))
        return done

    def test_all_builds_both_then_drops_the_library_then_freezes(self, steps: list[str]) -> None:
        worker.prepare_process("all")
        assert steps == ["code sets", "suggestion engine", "release library", "freeze"]

    def test_the_interactive_worker_builds_the_code_sets_it_scrubs_with(self, steps: list[str]) -> None:
        worker.prepare_process("interactive")
        assert steps == ["code sets", "release library", "freeze"]

    def test_the_background_worker_builds_the_engine_that_suggests_codes(self, steps: list[str]) -> None:
        worker.prepare_process("billing")
        assert steps == ["suggestion engine", "release library", "freeze"]
