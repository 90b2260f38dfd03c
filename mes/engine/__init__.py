"""Runs a recipe on a tool: program translation, supervision, enforcement, verdict."""
