"""Measuring helpers: readings of another process from /proc, percentiles, waiting, and
counting calls to the code under test without changing it."""

import os
import statistics
import time
from collections import Counter
from pathlib import Path

# --- /proc readings -------------------------------------------------------------------------


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def load_average() -> str:
    """The 1-minute load average: other people's test runs share these cores."""
    return Path("/proc/loadavg").read_text().split()[0]


def machine_cpu() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot, from /proc/stat; the
    difference of two readings says how busy all cores were in between, anyone's work."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def busy_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    """Fraction (0-1) of all cores' time spent busy between two machine_cpu() readings."""
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total else 0.0


def thread_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    # The command name may hold spaces; the fields after its closing parenthesis do not.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def row_updates(table: str) -> tuple[int, int]:
    """Rows of `table` updated so far, and how many of them in place (PostgreSQL's
    heap-only tuples: no new index entries). This process's own counts are flushed first:
    PostgreSQL hands a backend's statistics over only when it next goes idle."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
    with connection.cursor() as cursor:  # a statement of its own: the flush came before it
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
                       "WHERE relname = %s", [table])
        updated, in_place = cursor.fetchone()
    return updated, in_place


def tcp_connections(pid: int, remote_port: int) -> int:
    """Established TCP connections that process `pid` holds to `remote_port`.

    Matches the socket inodes in /proc/PID/fd against the connection table, so it counts
    that process's sockets only, whatever else on the machine talks to the same server.
    """
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed while we looked
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            parts = line.split()
            remote, state, inode = parts[2], parts[3], parts[9]
            if state == "01" and int(remote.rsplit(":", 1)[1], 16) == remote_port \
                    and inode in inodes:
                count += 1
    return count


# --- timing -------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0-100) with linear interpolation between ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def wait_for(condition, *, timeout: float, interval: float = 0.02, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:g} s")
        time.sleep(interval)


class Counting:
    """Counts (and times) calls to module functions for the length of a `with` block:
    wall-clock `seconds` and the calling thread's own CPU time, `cpu`.

    Benchmark instrumentation only: the wrapped function still runs unchanged.
    """

    def __init__(self, *targets: tuple[object, str]):
        self.targets = targets
        self.calls: Counter = Counter()
        self.seconds: Counter = Counter()
        self.cpu: Counter = Counter()
        self.items: Counter = Counter()  # sum of len(first argument) if a list: changes published
        self._saved: list = []

    def __enter__(self) -> "Counting":
        for module, name in self.targets:
            original = getattr(module, name)
            self._saved.append((module, name, original))
            setattr(module, name, self._wrap(name, original))
        return self

    def _wrap(self, name: str, original):
        def wrapper(*args, **kwargs):
            started, cpu_started = time.perf_counter(), time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started
                self.cpu[name] += time.thread_time() - cpu_started
                self.calls[name] += 1
                if args and isinstance(args[0], list):
                    self.items[name] += len(args[0])

        return wrapper

    def __exit__(self, *exc_info) -> None:
        for module, name, original in reversed(self._saved):
            setattr(module, name, original)
        self._saved.clear()
