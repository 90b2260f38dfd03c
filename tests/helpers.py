"""Helpers shared by tests (importable, unlike conftest)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from mes.services import lots


def lot_at_pmc(engine: Engine, lot_id: str = "L001") -> str:
    """Create a lot and walk it through the manual MOLD step."""
    lots.create(engine, "op1", lot_id, "fowlp-cure", 25)
    lots.track_in(engine, "op1", lot_id)
    lots.track_out(engine, "op1", lot_id)
    return lot_id
