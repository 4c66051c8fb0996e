"""A bench's child processes as Linux accounts them: their CPU, peak memory and children
(read from /proc), and the CPU of orphans the bench reaps as their subreaper."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import subprocess
import time
from pathlib import Path

VM_HWM = re.compile(r"VmHWM:\s+(\d+) kB")
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


def peak_rss_mb(pid: int) -> float:
    """The process's peak RSS so far (VmHWM), 0 once it is gone.

    Not wait4's ru_maxrss: Linux carries the peak of the memory a process replaces at exec
    into that figure, and a child started by subprocess execs from the bench's own memory, so
    ru_maxrss reads at least the bench's peak (a child running `true` read 311 MB under a
    bench holding 300 MB)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    found = VM_HWM.search(status)
    return int(found.group(1)) / 1024 if found else 0.0


def wait_sampling_peak(child: subprocess.Popen[bytes], every: float = 0.02) -> float:
    """Wait for the child to exit; its peak RSS in MB, as last read before it exited (the
    peak never falls, so only its last `every` seconds can be missed)."""
    peak = 0.0
    while child.poll() is None:
        peak = max(peak, peak_rss_mb(child.pid))
        time.sleep(every)
    return peak


def proc_stat(pid: int) -> list[str]:
    """/proc/PID/stat after the command name (state, parent pid, ...); [] once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (0 once it is gone)."""
    fields = proc_stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") if fields else 0.0


def children(pid: int) -> list[int]:
    """pid's children, from every process's stat: slow (~2 ms), but misses none."""
    return [
        int(process.name)
        for process in Path("/proc").glob("[0-9]*")
        if (fields := proc_stat(int(process.name))) and int(fields[1]) == pid
    ]


def current_children(pid: int) -> list[int]:
    """pid's children as its threads list them: a few reads, where children() reads every
    process's stat (~2 ms, which five times a second for each pool process took a few per cent
    of a core from the crawl being measured). A list read while children come and go may miss
    one: right for sampling, not for reaping."""
    if not Path(f"/proc/{pid}/task/{pid}/children").exists():  # gone, or a kernel without it
        return children(pid)
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:  # the thread, or the process, has ended
            continue
    return found


def become_subreaper() -> None:
    """Linux: processes orphaned in a crawl's tree (its pool's fork server, whose children the
    workers are) become this process's children, so that their CPU can be collected too."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1) != 0:
        raise SystemExit("cannot account the crawl's CPU: prctl(PR_SET_CHILD_SUBREAPER) failed")


def reap_orphans(known: set[int]) -> float:
    """Wait for the children this process did not start (known: those it did), until there are
    none; their CPU, their own reaped children's included."""
    cpu = 0.0
    while orphans := [pid for pid in children(os.getpid()) if pid not in known]:
        for pid in orphans:
            _, _, usage = os.wait4(pid, 0)
            cpu += usage.ru_utime + usage.ru_stime
    return cpu
