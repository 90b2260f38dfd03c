"""The daemon's shutdown ends its tasks even when one swallows a cancellation."""

from __future__ import annotations

import asyncio

from mes.daemon.tasks import cancel_all


async def test_a_task_that_swallows_one_cancellation_is_cancelled_again() -> None:
    polls: list[bool] = []

    async def poller() -> None:
        # What Python 3.11's wait_for does when the cancellation meets a completed call.
        swallowed = False
        while True:
            polls.append(swallowed)
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed = True

    task = asyncio.create_task(poller())
    await asyncio.sleep(0.03)
    async with asyncio.timeout(2):  # one cancel() alone would leave it polling for ever
        await cancel_all([task], retry_s=0.05)
    assert task.cancelled()
    assert polls.count(True) > 0  # it did poll on after the first, swallowed cancellation


async def test_finished_and_plain_tasks_end_in_one_round() -> None:
    done = asyncio.create_task(asyncio.sleep(0))
    await done
    sleeper = asyncio.create_task(asyncio.sleep(60))
    async with asyncio.timeout(2):  # a second round would wait the 60 s retry
        await cancel_all([done, sleeper], retry_s=60)
    assert sleeper.cancelled()
    assert done.done() and not done.cancelled()
