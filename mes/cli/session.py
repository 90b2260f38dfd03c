"""The CLI's login session: a token per database, kept in a private file (0600).

PKGLINE_TOKEN beats the file (for scripts and CI); the file lives at
$PKGLINE_SESSION_FILE, else $XDG_CONFIG_HOME/pkgline/sessions.json.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

ENV_TOKEN = "PKGLINE_TOKEN"  # noqa: S105  (the variable's name, not a secret)
ENV_FILE = "PKGLINE_SESSION_FILE"


def session_file() -> Path:
    explicit = os.environ.get(ENV_FILE)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pkgline" / "sessions.json"


def _read() -> dict[str, dict[str, str]]:
    path = session_file()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(data: dict[str, dict[str, str]]) -> None:
    path = session_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
    tmp.replace(path)


def save(url: str, user: str, token: str) -> Path:
    data = _read()
    data[url] = {"user": user, "token": token}
    _write(data)
    return session_file()


def token_for(url: str) -> str | None:
    env = os.environ.get(ENV_TOKEN)
    if env:
        return env
    entry = _read().get(url)
    return entry.get("token") if entry else None


def forget(url: str) -> None:
    data = _read()
    if data.pop(url, None) is not None:
        with contextlib.suppress(OSError):
            _write(data)
