"""The daemon's shutdown ends its tasks even when one swallows a cancellation."""

from __future__ import annotations

import asyncio

from mes.daemon.tasks import cancel_all


async def test_a_task_that_swallows_one_cancellation_is_cancelled_again() -> None:
    polls: list[int] = []

    async def poller() -> None:
        # What Python 3.11's wait_for does when the cancellation meets a completed call.
        swallowed = False
        while True:
            polls.append(1)
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed = True

    task = asyncio.create_task(poller())
    await asyncio.sleep(0.03)
    await cancel_all([task], retry_s=0.05)
    assert task.cancelled()
    ended_at = len(polls)
    await asyncio.sleep(0.03)
    assert len(polls) == ended_at  # it no longer polls


async def test_finished_and_plain_tasks_end_in_one_round() -> None:
    done = asyncio.create_task(asyncio.sleep(0))
    await done
    sleeper = asyncio.create_task(asyncio.sleep(60))
    await cancel_all([done, sleeper])
    assert sleeper.cancelled()
    assert done.done() and not done.cancelled()
