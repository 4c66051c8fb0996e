"""What /proc tells of a running child process, for the benches."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

VM_HWM = re.compile(r"VmHWM:\s+(\d+) kB")


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
