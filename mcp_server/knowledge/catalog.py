"""The model catalog (notes/data/models.yaml) and the taxonomy's vocabularies, with one filter function.

tools/check_notes.py is the schema's strict checker at site-build time; here rows are only
typed, so one odd optional field does not take the notes tools down with it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from ..errors import BadInputError, ConfigError, NotFoundError, one_line
from .pages import SAFE_LOADER
from .results import CatalogModel
from .schema import MODELS_FILE, TAXONOMY_FILE


@dataclass(frozen=True)
class Taxonomy:
    tags: tuple[str, ...]
    capabilities: tuple[str, ...]
    techniques: tuple[str, ...]
    modalities: tuple[str, ...]


def load_taxonomy(notes_dir: Path) -> Taxonomy:
    data = _read_yaml(notes_dir / TAXONOMY_FILE)
    if not isinstance(data, dict):
        raise ConfigError(f"{TAXONOMY_FILE} in {notes_dir} must be a mapping of vocabularies")

    def names(key: str) -> tuple[str, ...]:
        value = data.get(key) or ()
        return tuple(str(v) for v in value)  # a mapping (name: description) or a plain list

    return Taxonomy(names("tags"), names("capabilities"), names("techniques"), names("modalities"))


def load_models(notes_dir: Path) -> list[CatalogModel]:
    rows = _read_yaml(notes_dir / MODELS_FILE)
    if not isinstance(rows, list):
        raise ConfigError(f"{MODELS_FILE} in {notes_dir} must be a list of model rows")
    models = []
    for n, row in enumerate(rows, start=1):
        try:
            models.append(CatalogModel.model_validate(row))
        except ValidationError as exc:
            ident = row.get("id") if isinstance(row, dict) else None
            raise ConfigError(f"{MODELS_FILE} row {n} ({ident or 'no id'}): {one_line(exc, what='field')}") from exc
    return models


def find_models(
    models: list[CatalogModel],
    taxonomy: Taxonomy,
    capability: str | None = None,
    modality: str | None = None,
    open_weights: bool | None = None,
    organization: str | None = None,
    released_after: str | dt.date | None = None,
) -> list[CatalogModel]:
    """The rows matching every given filter, oldest release first (ties by id)."""
    if capability is not None:
        capability = _in_vocabulary("capability", capability, taxonomy.capabilities)
    if modality is not None:
        modality = _in_vocabulary("modality", modality, taxonomy.modalities)
    after = _iso_date(released_after) if released_after is not None else None
    org = organization.strip().casefold() if organization else None
    found = [
        m
        for m in models
        if (capability is None or capability in m.capabilities)
        and (modality is None or modality in m.modalities.input or modality in m.modalities.output)
        and (open_weights is None or m.open_weights is open_weights)
        and (org is None or org in m.organization.casefold())
        and (after is None or m.released > after)
    ]
    return sorted(found, key=lambda m: (m.released, m.id))


def _in_vocabulary(what: str, value: str, allowed: tuple[str, ...]) -> str:
    # Forgive spelling a model might use ("Tool use", "tool_use"); the vocabulary is kebab-case.
    normal = "-".join(value.strip().lower().replace("_", " ").split())
    if normal not in allowed:
        raise BadInputError(f"unknown {what} {value!r}; use one of: {', '.join(allowed)}")
    return normal


def _iso_date(value: str | dt.date) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise BadInputError(f"released_after must be an ISO date such as 2024-01-31, not {value!r}") from None


def _read_yaml(path: Path) -> object:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except FileNotFoundError:
        raise NotFoundError(f"the notes folder has no {path.name} ({path}); the model catalog needs it") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {' '.join(str(exc).split())[:200]}") from exc
