"""The bench's CPU accounting: it explains a ratio to bare, so it must count what it claims."""

import subprocess
import sys
import time

import pytest

from bench.cpu import CpuMeter, per_unit
from bench.intake import Result, cpu_table

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
