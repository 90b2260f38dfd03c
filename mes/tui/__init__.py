"""The Textual operator app (see DESIGN.md): reads through mes.services, never the tools."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from mes.tui.app import LineApp


def run_tui(
    engine: Engine, actor: str | None, refresh_s: float = 1.0, token: str | None = None
) -> None:
    """Run the operator app in this terminal until the user quits (login first if no actor)."""
    LineApp(engine, actor, refresh_s, token=token).run()


__all__ = ["LineApp", "run_tui"]
