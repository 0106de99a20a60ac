"""What the kernel counts for a benchmark that it cannot see itself (Linux ``/proc``).

- ``udp_drops(ports)``: datagrams the kernel dropped at these local UDP ports (full receive
  buffer: ``/proc/net/udp``'s per-socket ``drops``), so a loss is put on the side that lost it;
- ``udp_snmp()``: the namespace-wide ``Udp:`` counters (``RcvbufErrors``, ``InErrors``, …);
- ``schedstat(pid)``: a process's CPU seconds and seconds spent runnable but waiting for a
  CPU (``/proc/PID/schedstat``): a process at 50 % CPU with 50 % wait was starved, not idle;
- ``cpu_times(cpu)``: one CPU's busy and total jiffies (``/proc/stat``), whoever ran there.

All return zeros where the file is missing (another OS), so a benchmark still runs.
"""

from __future__ import annotations

import os
from collections.abc import Collection


def udp_drops(ports: Collection[int]) -> int:
    wanted = set(ports)
    total = 0
    for path in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(path) as file:
                lines = file.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) >= 13 and int(fields[1].rsplit(":", 1)[1], 16) in wanted:
                total += int(fields[-1])
    return total


def udp_snmp() -> dict[str, int]:
    try:
        with open("/proc/net/snmp") as file:
            rows = [line.split() for line in file if line.startswith("Udp:")]
    except OSError:
        return {}
    if len(rows) < 2:
        return {}
    return {name: int(value) for name, value in zip(rows[0][1:], rows[1][1:], strict=False)}


def schedstat(pid: int | str = "self") -> tuple[float, float]:
    try:
        with open(f"/proc/{pid}/schedstat") as file:
            run_ns, wait_ns, _ = (int(x) for x in file.read().split())
    except (OSError, ValueError):
        return 0.0, 0.0
    return run_ns / 1e9, wait_ns / 1e9


def cpu_times(cpu: int) -> tuple[int, int]:
    """(busy, total) jiffies of one CPU since boot."""
    try:
        with open("/proc/stat") as file:
            for line in file:
                if line.startswith(f"cpu{cpu} "):
                    values = [int(x) for x in line.split()[1:]]
                    idle = values[3] + (values[4] if len(values) > 4 else 0)
                    return sum(values) - idle, sum(values)
    except OSError:
        pass
    return 0, 0


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of every thread of process ``pid`` so far."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            fields = file.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
