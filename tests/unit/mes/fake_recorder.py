"""A RunRecorder in memory, for the engine's supervisors without a database."""

from __future__ import annotations

from mes.services.runs import Verdict


class Recorder:
    """Keeps what a daemon would write; `stored` is what reached the database."""

    def __init__(self) -> None:
        self.stored: list[tuple[float, str, float | None]] = []
        self.alarms: list[tuple[str, str, str]] = []
        self.verdict: Verdict | None = None

    async def started(self, run_id: int, start_c: float) -> None:
        pass

    async def samples(self, run_id: int, t: float, values: dict[str, float | None]) -> None:
        self.stored += [(t, k, v) for k, v in values.items()]

    async def alarm(self, run_id: int, kind: str, code: str, message: str, t: float | None) -> None:
        self.alarms.append((kind, code, message))

    async def finish(self, run_id: int, verdict: Verdict) -> None:
        self.verdict = verdict

    async def stored_samples(self, run_id: int) -> list[tuple[float, str, float | None]]:
        return sorted(self.stored, key=lambda row: row[0])

    async def publish(self, online: bool, values: dict[str, float | None]) -> None:
        pass

    def lose_after(self, t: float) -> None:
        """A daemon killed before its last batch was flushed."""
        self.stored = [row for row in self.stored if row[0] <= t]
