"""CPU time of the bench's stack by part, from Linux `/proc`: where one unit's CPU goes.

On a machine with two cores every part of the stack (this process, Temporal, PostgreSQL, the
billing worker, the sandbox clearinghouse) competes for the same CPU, so a rate is bounded by
the CPU one unit costs across all of them. The bench reads each part's user+system time before
and after a round and reports milliseconds per unit; for the bare-workflow round this is the
budget any workflow-backed request is compared with.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

PARTS = ("this process", "Temporal", "PostgreSQL", "billing worker", "worker processes", "clearinghouse", "other")
"""`this process`: the bench's own (the API, the interactive worker and the load it sends)."""

NOT_PER_REQUEST = ("transactions", "leases")
"""Units measured on the database alone (raw inserts, claim SQL): not requests to the stack."""

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass
class CpuMeter:
    """Processes are found again at every reading: workers come and go between rounds."""

    markers: list[str] = field(default_factory=list)  # a text in the command line of the stack's servers

    def watch(self, *markers: str) -> None:
        self.markers = [m for m in markers if m]

    def read(self) -> dict[str, float]:
        """Seconds of CPU each part has used so far (0 for every part off Linux)."""
        seconds = dict.fromkeys(PARTS, 0.0)
        for part, used in self._processes():
            seconds[part] += used
        return seconds

    def _processes(self) -> Iterator[tuple[str, float]]:
        proc = Path("/proc")
        if not proc.is_dir():
            return
        me = os.getpid()
        table: dict[int, tuple[int, str, float]] = {}
        for entry in proc.iterdir():
            if entry.name.isdigit():
                found = _stat(entry)
                if found is not None:
                    table[int(entry.name)] = found
        children: dict[int, list[int]] = {}
        for pid, (ppid, _, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        roots = {me} | {pid for pid, (_, cmd, _) in table.items() if any(m in cmd for m in self.markers)}
        seen: set[int] = set()
        todo = list(roots)
        while todo:
            pid = todo.pop()
            if pid in seen or pid not in table:
                continue
            seen.add(pid)
            todo += children.get(pid, [])
            _, cmd, used = table[pid]
            yield ("this process" if pid == me else _part(cmd)), used


def _stat(entry: Path) -> tuple[int, str, float] | None:
    try:
        stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    return int(stat[1]), cmd, (int(stat[11]) + int(stat[12])) / _TICK


def _part(cmd: str) -> str:
    if cmd.startswith("postgres") or "/postgres " in cmd or "bin/postgres" in cmd:
        return "PostgreSQL"
    if "temporal" in cmd and "server" in cmd:
        return "Temporal"
    if "clearinghouse" in cmd:
        return "clearinghouse"
    if "clearchart.cli worker" in cmd:
        return "billing worker" if "--role billing" in cmd else "worker processes"
    return "other"


def per_unit(before: dict[str, float], after: dict[str, float], units: int) -> dict[str, float]:
    """Milliseconds of CPU per unit by part (parts that used none are left out)."""
    spent = {part: (after[part] - before[part]) * 1000 / max(units, 1) for part in PARTS}
    return {part: round(ms, 1) for part, ms in spent.items() if ms > 0.05}


METER = CpuMeter()
