"""Fixtures of the simulators' unit tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def password_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """An environment variable holding the simulator's password, s3cret."""
    monkeypatch.setenv("PKGLINE_TEST_SIM_PASSWORD", "s3cret")
    return "PKGLINE_TEST_SIM_PASSWORD"
