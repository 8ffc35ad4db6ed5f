"""CPU and memory of processes and of the whole machine, read from ``/proc``.

psutil is not a dependency; Linux's ``/proc/<pid>/stat``, ``/proc/<pid>/status``
and ``/proc/stat`` give everything the benchmarks need.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

CORES = os.cpu_count() or 1
#: Other processes using more CPU than this (% of one core) make a measurement unreliable.
NOISY_PCT = 20


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants, from ``/proc/*/stat`` parent ids."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            ppid = int(text.rsplit(")", 1)[1].split()[1])
            parents.setdefault(ppid, []).append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(parents.get(pid, []))
    return tree


def parent_pid(pid: int) -> int | None:
    """The parent of a process, or None if it is not running here."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def command_name(pid: int) -> str:
    """A process's command name (``/proc/<pid>/comm``, e.g. ``postgres``), or "" if it is not running here."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def pss_mb(pids: list[int]) -> float:
    """Proportional set size of processes now, in MB: shared pages (e.g. PostgreSQL's buffers) split among them."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return total / 1024


def peak_rss_mb(root: int) -> float:
    """Sum of peak resident memory (VmHWM) of a process and its descendants, in MB."""
    return sum(_status_kb(pid, "VmHWM") for pid in process_tree(root)) / 1024


def cpu_seconds(root: int, children: bool = True) -> float:
    """User + system CPU seconds used so far by a process (and its live descendants)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in process_tree(root) if children else [root]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, ValueError, IndexError):
            continue
    return total / ticks


def machine_busy_seconds() -> float:
    """CPU seconds all cores of the machine have spent busy (``/proc/stat``), for spotting other load."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU use of named processes (and this client) over one phase, in percent of one core."""

    CLIENT = "bench-client"  # this process alone: the servers are its children
    OTHER = "other"  # everything else on the machine; should be near 0 for a clean run

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = {**pids, self.CLIENT: os.getpid()}
        self.started = 0.0
        self.before: dict[str, float] = {}
        self.percent: dict[str, float] = {}

    def _read(self) -> dict[str, float]:
        ours = {name: cpu_seconds(pid, children=name != self.CLIENT) for name, pid in self.pids.items()}
        return {**ours, self.OTHER: machine_busy_seconds() - sum(ours.values())}

    def __enter__(self) -> CpuMeter:
        self.started = time.monotonic()
        self.before = self._read()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.monotonic() - self.started
        after = self._read()
        self.percent = {name: 100 * (after[name] - self.before[name]) / wall for name in after}

    def row(self) -> str:
        return "cpu% " + " ".join(f"{name}={p:.0f}" for name, p in self.percent.items()) + f" (of {CORES}00)"
