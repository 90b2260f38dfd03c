"""Ending the daemon's asyncio tasks for certain."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import structlog

log = structlog.get_logger(__name__)

# How long a cancelled task gets before it is cancelled again: longer than a tool
# connection's own clean-up (closing an OPC UA session is bounded by the tool's timeout).
CANCEL_RETRY_S = 5.0


async def cancel_all(tasks: Iterable[asyncio.Task[None]], retry_s: float = CANCEL_RETRY_S) -> None:
    """Cancel the tasks and wait until every one has ended, cancelling again any that goes on.

    One cancel() is not always enough: a library's asyncio.wait_for (Python 3.11) returns
    the result instead of raising when the cancellation lands just as its call completes,
    and the task's loop then carries on as if it had never been cancelled.
    """
    pending = {t for t in tasks if not t.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=retry_s)
        if pending:
            log.warning("tasks_still_running", tasks=sorted(t.get_name() for t in pending))
