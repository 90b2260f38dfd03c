"""Recipe transactions: import a file as a new version, approve it, fetch what may run."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mes.domain.errors import InvalidInput, InvalidState, NotFound
from mes.domain.roles import Permission
from mes.services import audit
from mes.services.auth import authorize
from mes.services.tx import transaction
from mes.store.tables import Material, Recipe, utcnow
from recipes.errors import RecipeError
from recipes.loader import parse_recipe, recipe_digest
from recipes.materials import material_path
from recipes.muf import MufRecipe, material_for


def import_file(engine: Engine, actor: str, path: Path) -> Recipe:
    """Store a recipe file as (name, version); an existing version must be byte-identical."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read ({exc.strerror})") from None
    try:
        parsed = parse_recipe(text, str(path))
        material = None
        if isinstance(parsed, MufRecipe):
            material_for(parsed, str(path))  # the referenced file exists and is valid
            body = material_path(parsed.material).read_text(encoding="utf-8")
            material = (parsed.material, body)
    except RecipeError as exc:
        raise InvalidInput(str(exc)) from None
    digest = recipe_digest(text)
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.RECIPE_IMPORT)
        if material is not None:
            _store_material(s, actor, *material)
        existing = s.exec(
            select(Recipe).where(Recipe.name == parsed.name, Recipe.version == parsed.version)
        ).first()
        if existing is not None:
            if existing.digest != digest:
                raise InvalidState(
                    f"{path}: recipe {parsed.name} v{parsed.version} already exists with other "
                    "content; versions are immutable, raise [recipe].version"
                )
            return existing
        row = Recipe(
            name=parsed.name,
            version=parsed.version,
            kind=parsed.recipe.kind,
            body=text,
            digest=digest,
        )
        s.add(row)
        s.flush()
        audit.record(
            s,
            actor,
            "recipe.import",
            "recipe",
            f"{parsed.name}@{parsed.version}",
            after={"digest": digest},
        )
        return row


def approve(engine: Engine, actor: str, name: str, version: int) -> Recipe:
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.RECIPE_APPROVE)
        row = s.exec(select(Recipe).where(Recipe.name == name, Recipe.version == version)).first()
        if row is None:
            raise NotFound(f"recipe {name} v{version} does not exist")
        if row.approved:
            return row
        row.approved = True
        row.approved_by = actor
        row.approved_at = utcnow()
        s.add(row)
        audit.record(
            s,
            actor,
            "recipe.approve",
            "recipe",
            f"{name}@{version}",
            before={"approved": False},
            after={"approved": True},
        )
        return row


def listing(engine: Engine) -> list[Recipe]:
    with transaction(engine) as s:
        return list(s.exec(select(Recipe).order_by(col(Recipe.name), col(Recipe.version))))


def _store_material(s: Session, actor: str, name: str, body: str) -> None:
    """Materials are immutable too: a changed file under the same name is refused."""
    digest = recipe_digest(body)
    row = s.get(Material, name)
    if row is not None:
        if row.digest != digest:
            raise InvalidState(
                f"material {name} already exists with other content; name a new grade/version"
            )
        return
    s.add(Material(name=name, body=body, digest=digest))
    audit.record(s, actor, "material.import", "material", name, after={"digest": digest})
