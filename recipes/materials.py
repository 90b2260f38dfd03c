"""EMC materials: a grade's (or lot's) cure kinetics as data (`recipes/materials/*.toml`).

A material file holds its identity at the top level and the kinetics in a
`[kinetics]` table (`recipes.cure.EmcKinetics`). A MUF recipe refers to a
material by name, which is the file's name without `.toml`. Materials live
outside `recipes/library/` so that the library holds recipes only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from recipes.cure import EmcKinetics
from recipes.schema import Name, Strict
from recipes.source import parse_toml, read_text, validate


class Material(Strict):
    """One molding compound: what a run records (name, version) and how it cures."""

    name: Name
    version: Annotated[int, Field(ge=1)]
    kind: Literal["emc"]
    description: str = ""
    kinetics: EmcKinetics


def materials_path() -> Path:
    """The directory of the materials that ship with pkgline."""
    return Path(__file__).parent / "materials"


def material_path(name: str, materials_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where the material called `name` lives: `<materials_dir>/<name>.toml`.

    `materials_dir` defaults to the shipped `recipes/materials/`. The file may not exist.
    """
    return Path(materials_dir or materials_path()) / f"{name}.toml"


def library_materials(materials_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """The material files in `materials_dir` (default: the shipped ones), sorted by path."""
    return sorted(Path(materials_dir or materials_path()).glob("*.toml"))


def parse_material(text: str, source: str = "<string>") -> Material:
    """Parse and validate material TOML; `source` names the text in error messages.

    Raises `RecipeError` naming the source, the field and the limit, one line per problem.
    """
    return validate(Material, parse_toml(text, source), source)


def load_material(path: str | os.PathLike[str]) -> Material:
    """Read and validate the material file at `path` (UTF-8 TOML); see `parse_material`."""
    return parse_material(read_text(path), os.fspath(path))
