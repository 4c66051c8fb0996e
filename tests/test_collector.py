"""The cycle collector's settings, read in fresh processes (they are process-wide)."""

from __future__ import annotations

from pipeline.collector import YOUNG_THRESHOLD
from tests.helpers import fresh_python

COLLECT_LESS = """
import gc, weakref
from pipeline.collector import collect_less
class Node: pass
garbage = Node(); garbage.self = garbage
gone = weakref.ref(garbage)
del garbage
kept = Node(); kept.self = kept
collect_less()
print(gone() is None, gc.get_freeze_count() > 0, gc.get_threshold()[0])
"""


def test_collect_less_collects_then_freezes_the_survivors() -> None:
    # The cycle was garbage before the freeze: collected, not frozen for good.
    assert fresh_python(COLLECT_LESS).split() == ["True", "True", str(YOUNG_THRESHOLD)]


# The command's coroutine is closed unrun: what matters is the collector as the loop starts.
THROUGH_THE_CLI = """
import gc
from pipeline import cli, eventloop
def started(coroutine):
    coroutine.close()
    print(gc.get_freeze_count() > 0, gc.get_threshold()[0])
    return 0
eventloop.run = started
cli.main({argv})
"""


def test_the_long_running_commands_collect_less() -> None:
    for argv in (["crawl"], ["run"], ["dedup", "--rebuild"]):
        printed = fresh_python(THROUGH_THE_CLI.format(argv=argv))
        assert printed.split() == ["True", str(YOUNG_THRESHOLD)], argv


def test_the_short_commands_keep_pythons_defaults() -> None:
    default = fresh_python("import gc; print(gc.get_threshold()[0])").strip()
    printed = fresh_python(THROUGH_THE_CLI.format(argv=["feeds", "list"]))
    assert printed.split() == ["False", default]
