"""How many CPUs this process really gets right now, for torch's intra-op threads on the CPU: they spin and thrash
when they outnumber the cores other processes leave free (a batched population evaluation ran 4x slower on 2
threads than on 1 beside one busy process on a 2-core machine)."""

from __future__ import annotations

import os


def allowed_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def usable_cpus(stat_path: str = "/proc/stat") -> int:
    """The allowed CPUs minus the threads other processes are running now (`procs_running` in /proc/stat, this
    thread excluded), at least 1; all the allowed ones where /proc/stat is not there to tell."""
    allowed = allowed_cpus()
    try:
        with open(stat_path, "rb") as stat:
            running = next(int(line.split()[1]) for line in stat if line.startswith(b"procs_running"))
    except (OSError, StopIteration, ValueError, IndexError):
        return allowed
    return max(1, min(allowed, allowed - (running - 1)))
