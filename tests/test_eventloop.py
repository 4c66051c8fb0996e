import asyncio

import pytest

from pipeline import eventloop
from tests.helpers import fresh_python


async def _loop_module() -> str:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop()).__module__


def test_commands_run_on_uvloop_where_it_is_installed() -> None:
    pytest.importorskip("uvloop", reason="uvloop is not installed here (Windows)")
    assert eventloop.run(_loop_module()).startswith("uvloop")


def test_without_uvloop_the_commands_run_on_asyncios_loop() -> None:
    code = (
        "import sys; sys.modules['uvloop'] = None\n"  # as if it were not installed
        "import asyncio\nfrom pipeline import eventloop\n"
        "async def main():\n    return type(asyncio.get_running_loop()).__module__\n"
        "print(eventloop.run(main()))"
    )
    assert fresh_python(code).strip().startswith("asyncio")
