import asyncio
from collections.abc import Sequence

import pytest

from pipeline.batching import Batcher


class Recorder:
    """A batch function that records its batches, doubles numbers and refuses negative ones."""

    def __init__(self, pause: float = 0.0) -> None:
        self.batches: list[list[int]] = []
        self.pause = pause

    async def __call__(self, items: Sequence[int]) -> list[int]:
        self.batches.append(list(items))
        await asyncio.sleep(self.pause)
        if any(item < 0 for item in items):
            raise ValueError(f"negative item in {list(items)}")
        return [item * 2 for item in items]


async def test_callers_arriving_during_a_batch_are_run_together_next() -> None:
    recorder = Recorder(pause=0.05)
    batcher = Batcher(recorder)
    first = asyncio.create_task(batcher(1))
    await asyncio.sleep(0.01)  # the first batch is running
    results = await asyncio.gather(first, *(batcher(n) for n in (2, 3, 4)))
    assert results == [2, 4, 6, 8]
    assert recorder.batches == [[1], [2, 3, 4]]


async def test_a_failing_batch_fails_only_the_caller_whose_item_is_bad() -> None:
    recorder = Recorder(pause=0.05)
    batcher = Batcher(recorder)
    first = asyncio.create_task(batcher(1))
    await asyncio.sleep(0.01)
    results = await asyncio.gather(
        first, batcher(2), batcher(-3), batcher(4), return_exceptions=True
    )
    assert list(results[:2]) == [2, 4]
    assert isinstance(results[2], ValueError)
    assert results[3] == 8
    assert recorder.batches == [[1], [2, -3, 4], [2], [-3], [4]]


async def test_a_cancelled_caller_leaves_the_others_to_finish() -> None:
    recorder = Recorder(pause=0.05)
    batcher = Batcher(recorder)
    leader = asyncio.create_task(batcher(1))
    await asyncio.sleep(0.01)
    follower = asyncio.create_task(batcher(2))
    leaving = asyncio.create_task(batcher(3))
    await asyncio.sleep(0.01)
    leaving.cancel()
    assert list(await asyncio.gather(leader, follower)) == [2, 4]
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert all(3 not in batch for batch in recorder.batches)


async def test_a_leader_cancelled_mid_batch_hands_the_others_on() -> None:
    recorder = Recorder(pause=0.2)
    batcher = Batcher(recorder)
    blocker = asyncio.create_task(batcher(1))
    await asyncio.sleep(0.01)
    leader = asyncio.create_task(batcher(2))
    follower = asyncio.create_task(batcher(3))
    await asyncio.sleep(0.3)  # the second batch, [2, 3], is running now
    leader.cancel()
    assert await asyncio.wait_for(follower, 2) == 6
    assert await blocker == 2
    assert recorder.batches[:2] == [[1], [2, 3]]
    assert recorder.batches[2:] == [[3]]


async def test_lingering_gathers_callers_that_are_on_their_way() -> None:
    recorder = Recorder()
    batcher = Batcher(recorder, linger=1.0, callers=lambda: 3)
    loop = asyncio.get_running_loop()
    began = loop.time()

    async def late(item: int, delay: float) -> int:
        await asyncio.sleep(delay)
        return await batcher(item)

    results = await asyncio.gather(late(1, 0), late(2, 0.05), late(3, 0.1))
    assert list(results) == [2, 4, 6]
    assert recorder.batches == [[1, 2, 3]]
    # it stopped waiting when all three were there, not after the full second
    assert loop.time() - began < 0.5


async def test_lingering_ends_at_once_when_nobody_else_could_come() -> None:
    recorder = Recorder()
    batcher = Batcher(recorder, linger=5.0, callers=lambda: 1)
    assert await asyncio.wait_for(batcher(7), 1) == 14


async def test_lingering_is_bounded_by_its_time() -> None:
    recorder = Recorder()
    batcher = Batcher(recorder, linger=0.1, callers=lambda: 10)
    loop = asyncio.get_running_loop()
    began = loop.time()
    assert await batcher(1) == 2
    assert 0.1 <= loop.time() - began < 1.0


async def test_no_lingering_while_waiting_is_not_worth_it() -> None:
    recorder = Recorder()
    worth_it = False
    batcher = Batcher(recorder, linger=5.0, callers=lambda: 10, worth_waiting=lambda: worth_it)
    assert await asyncio.wait_for(batcher(1), 1) == 2  # the pool is idle: at once
    worth_it = True
    with pytest.raises(TimeoutError):  # the pool has work: the batch waits for the others
        await asyncio.wait_for(batcher(2), 0.2)
    assert recorder.batches == [[1]]


async def test_lingering_is_shorter_when_few_callers_could_come() -> None:
    recorder = Recorder()
    batcher = Batcher(recorder, linger=5.0, callers=lambda: 3, linger_per_caller=0.05)
    loop = asyncio.get_running_loop()
    began = loop.time()
    assert await batcher(1) == 2  # the two others never come
    assert 0.15 <= loop.time() - began < 1.0
