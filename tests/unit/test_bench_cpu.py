"""The bench's CPU accounting: it explains a ratio to bare, so it must count what it claims."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import plot
from bench.cpu import CpuMeter, per_unit
from bench.intake import Result, cpu_table, recorded_args

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def burn(seconds: float) -> None:
    deadline = time.process_time() + seconds
    while time.process_time() < deadline:
        pass


class TestCpuMeter:
    def test_this_process_is_counted(self) -> None:
        meter = CpuMeter()
        before = meter.read()
        burn(0.2)
        spent = per_unit(before, meter.read(), 1)
        assert spent["this process"] >= 150

    def test_a_server_found_by_its_command_line_is_counted_with_its_part(self) -> None:
        marker = f"clearinghouse-{id(self)}"
        burner = "import time\nd = time.process_time() + 0.3\nwhile time.process_time() < d: pass\nprint('burnt', flush=True)\ninput()"
        meter = CpuMeter()
        meter.watch(marker)
        before = meter.read()
        child = subprocess.Popen([sys.executable, "-c", burner, marker], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == b"burnt\n"  # its CPU is spent; it waits, still alive
            assert per_unit(before, meter.read(), 1)["clearinghouse"] >= 250
        finally:
            child.communicate(b"\n", timeout=30)


class TestCpuTable:
    def test_the_ratio_a_cpu_bound_machine_allows_is_bare_over_the_row(self) -> None:
        rows = [
            Result("bare Temporal workflows", "workflows", 10, 1.0, cpu_ms={"this process": 5.0, "Temporal": 15.0}),
            Result("ClearChart coding submissions", "submissions", 10, 1.0, cpu_ms={"this process": 60.0, "Temporal": 40.0}),
            Result("raw PostgreSQL insert+commit", "transactions", 10, 1.0, cpu_ms={"PostgreSQL": 1.0}),
        ]
        table = "\n".join(cpu_table(rows))
        submissions = next(line for line in table.splitlines() if line.startswith("ClearChart coding submissions"))
        assert submissions.split()[-2:] == ["100.0", "20%"]
        assert "raw PostgreSQL" not in table

    def test_no_figures_no_table(self) -> None:
        assert cpu_table([Result("bare Temporal workflows", "workflows", 1, 1.0)]) == []


class TestCpuPlot:
    def test_one_stacked_bar_per_measure_at_the_highest_concurrency(self) -> None:
        results = [
            {"name": "bare Temporal workflows", "unit": "workflows", "concurrency": 1, "cpu_ms": {"Temporal": 9.0}},
            {"name": "bare Temporal workflows", "unit": "workflows", "concurrency": 16, "cpu_ms": {"Temporal": 15.0, "this process": 5.0}},
            {"name": "ClearChart claims", "unit": "claims", "concurrency": 16, "cpu_ms": {"this process": 40.0, "PostgreSQL": 8.0}},
            {"name": "raw PostgreSQL insert+commit", "unit": "transactions", "concurrency": 16, "cpu_ms": {"PostgreSQL": 0.2}},
        ]
        rows = plot.cpu_rows(results)
        assert [name for name, _ in rows] == ["bare Temporal workflows", "ClearChart claims"]
        drawn = plot.cpu_svg(rows, "title")
        assert drawn.count('height="22"') == 4  # a segment per part used: 2 + 2
        assert ">20 ms<" in drawn
        assert ">48 ms<" in drawn


def test_a_results_file_names_paths_inside_the_checkout_relative_to_it(tmp_path: Path) -> None:
    inside = Path.cwd() / "bench" / "results" / "x.json"
    assert recorded_args(["--json", str(inside), "--encounters", "4"]) == ["--json", "bench/results/x.json", "--encounters", "4"]
    assert recorded_args(["--json", str(tmp_path / "y.json")]) == ["--json", str(tmp_path / "y.json")]
