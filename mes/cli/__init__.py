"""The `pkgline` command."""

from mes.cli.main import main

__all__ = ["main"]
