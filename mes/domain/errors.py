"""Typed domain errors. The CLI prints them without a traceback (exit 2); the TUI shows them."""


class DomainError(Exception):
    """A business rule refused the action; nothing was changed."""


class NotFound(DomainError):
    """The named lot, tool, run, recipe, route or user does not exist."""


class InvalidInput(DomainError):
    """An argument is malformed or out of its limits."""


class InvalidState(DomainError):
    """The object is not in a state that allows the action."""


class PermissionDenied(DomainError):
    """The acting user's roles do not allow the action."""


class Conflict(DomainError):
    """Another transaction changed the object first."""


class LeaseFenced(InvalidState):
    """The tool's lease in the database is no longer the writer's: another daemon drives it."""
