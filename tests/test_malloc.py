"""glibc's malloc arenas, counted in fresh processes from malloc_info's report."""

from __future__ import annotations

import os
import sys

import pytest

from tests.helpers import fresh_python

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or not os.confstr("CS_GNU_LIBC_VERSION"), reason="glibc only"
)

# Eight threads each allocate, then malloc_info reports one <heap> per arena.
COUNT_ARENAS = """
import ctypes, ctypes.util, tempfile, threading
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.fopen.restype = ctypes.c_void_p
barrier = threading.Barrier(9)
def allocate():
    held = [libc.malloc(200_000) for _ in range(4)]
    barrier.wait()
threads = [threading.Thread(target=allocate) for _ in range(8)]
for thread in threads:
    thread.start()
barrier.wait()
for thread in threads:
    thread.join()
with tempfile.NamedTemporaryFile("r") as report:
    stream = ctypes.c_void_p(libc.fopen(report.name.encode(), b"w"))
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    print(report.read().count("<heap nr="))
"""


def arenas(setup: str, **env: str) -> int:
    code = setup + "\n" + COUNT_ARENAS
    environ = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"} | env
    return int(fresh_python(code, environ).split()[-1])


def test_the_commands_run_with_two_malloc_arenas() -> None:
    through_the_cli = (
        "import contextlib\nfrom pipeline import cli\n"
        "with contextlib.suppress(SystemExit):\n    cli.main(['--help'])"
    )
    assert arenas("") > 2  # glibc's default: an arena per thread, here
    assert arenas(through_the_cli) == 2


def test_malloc_arena_max_set_by_the_user_is_kept() -> None:
    setup = "from pipeline import malloc\nassert not malloc.limit_arenas()"
    assert arenas(setup, MALLOC_ARENA_MAX="4") == 4
