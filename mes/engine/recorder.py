"""What the engine needs from the record keeper; the daemon implements it over mes.services."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from mes.services.runs import Verdict


class RunRecorder(Protocol):
    async def started(self, run_id: int, start_c: float) -> None: ...

    async def samples(self, run_id: int, t_program: float, values: dict[str, float | None]) -> None:
        """Queue one sample set (batched by the implementation)."""
        ...

    async def alarm(
        self, run_id: int, kind: str, code: str, message: str, t_program: float | None
    ) -> None: ...

    async def finish(self, run_id: int, verdict: Verdict) -> None: ...

    async def stored_samples(self, run_id: int) -> Sequence[StoredSample]:
        """Samples already recorded for the run (for re-attach), ordered by time."""
        ...

    async def publish(self, online: bool, values: dict[str, float | None]) -> None:
        """Latest values for operators (not part of the record)."""
        ...


StoredSample = tuple[float, str, float | None]  # (run time, name, value) as stored


def by_time(rows: Iterable[StoredSample]) -> list[tuple[float, dict[str, float | None]]]:
    """Stored samples as one {name: value} poll per run time, in time order (for replay)."""
    polls: dict[float, dict[str, float | None]] = {}
    for t, name, value in rows:
        polls.setdefault(t, {})[name] = value
    return sorted(polls.items())
