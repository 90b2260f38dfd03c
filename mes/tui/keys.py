"""Keys that arrive in a burst (a barcode scanner, a paste, a fast typist).

An Enter bound with priority, so that the footer shows it over a widget's own hidden
Enter, is seen by the screen as soon as it arrives, while the keys typed before it may
still wait in the focused widget's queue: a value read then is cut short ('PRESS' for
'PRESS-01'). `after_pending_keys` runs the action from that widget's queue instead, after
every key that came before the Enter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.screen import Screen


def after_pending_keys(screen: Screen[Any], action: Callable[[], object]) -> None:
    """Run `action` once the focused widget has handled the keys queued before this one."""
    (screen.focused or screen).call_later(action)
