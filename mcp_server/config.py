"""Settings: one YAML file plus environment overrides; the one home of every default.

Lookup: ``--config PATH``, else ``$AI_NOTES_MCP_CONFIG``, else the built-in defaults below.
``AI_NOTES_MCP_<KEY>`` overrides one top-level key (its value is parsed as YAML, so
``AI_NOTES_MCP_BATCHING='{max_batch: 16}'`` works); mappings are merged into the file's value.
``AI_NOTES_MCP_TOKEN`` sets ``http.token``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import BadInputError, ConfigError, one_line

ENV_PREFIX = "AI_NOTES_MCP_"
Task = Literal["caption", "vqa", "match"]
TASKS: tuple[Task, ...] = ("caption", "vqa", "match")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(_Strict):
    source: str = Field(min_length=1, description="Hugging Face model id or local directory.")
    tasks: list[Task] = Field(min_length=1)


DEFAULT_MODELS: dict[str, ModelSpec] = {
    "blip-base": ModelSpec(source="Salesforce/blip-image-captioning-base", tasks=["caption"]),
    "blip-vqa": ModelSpec(source="Salesforce/blip-vqa-base", tasks=["vqa"]),
    "blip-itm": ModelSpec(source="Salesforce/blip-itm-base-coco", tasks=["match"]),
    "blip2-opt": ModelSpec(source="Salesforce/blip2-opt-2.7b-coco", tasks=["caption", "vqa"]),
}


class AdapterSpec(_Strict):
    """A LoRA adapter served by name on its base model's engine (see ``ai-notes-mcp finetune``)."""

    base: str = Field(min_length=1, description="The configured model (a name under models) it was trained on.")
    path: str = Field(min_length=1, description="The adapter's folder, as `ai-notes-mcp finetune --out` wrote it.")
    tasks: list[Literal["caption", "vqa"]] | None = Field(
        None, min_length=1, description="What it is used for; default: the base model's captioning and VQA tasks.")


class Defaults(_Strict):
    caption: str = "blip-base"
    vqa: str = "blip-vqa"
    match: str = "blip-itm"


class Batching(_Strict):
    max_batch: int = Field(8, ge=1, le=256)
    max_wait_ms: float = Field(5.0, ge=0, le=1000)
    max_queue: int = Field(256, ge=1, le=100_000)


class Cache(_Strict):
    vision_features: int = Field(256, ge=0, le=100_000, description="Images whose encoder output is kept.")


class Images(_Strict):
    max_bytes: int = Field(20 * 1024 * 1024, ge=1024, le=1024**3)
    max_pixels: int = Field(40_000_000, ge=1, le=500_000_000)
    allow_urls: bool = False
    allowed_roots: list[str] = Field(default_factory=list)
    url_timeout_s: float = Field(10.0, gt=0, le=300)


class Notes(_Strict):
    dir: str | None = None
    site_url: str | None = None


class Grounding(_Strict):
    """explain_match / explain_caption: which cross-attention layer Grad-CAM reads (LAVIS's default: 6 of 12)."""

    layer: int = Field(6, ge=0, le=63, description="Cross-attention layer of the text side, counted from 0.")


class Index(_Strict):
    """The image index (index_images, search_images, find_duplicates)."""

    path: str | None = Field(None, description="The SQLite file; null: ~/.cache/ai-notes-mcp/images.sqlite.")
    model: str | None = Field(None, description="The matching model that embeds images; null: defaults.match.")
    max_files: int = Field(2000, ge=1, le=1_000_000, description="Images embedded per index_images call.")
    max_seconds: float = Field(120.0, gt=0, le=86_400, description="Time per index_images call, then it stops.")


class Autoscaling(_Strict):
    """Ray Serve's autoscaling of one model's replicas: it adds replicas while each has more than
    ``target_ongoing_requests`` calls in hand, and removes them as the load falls."""

    min_replicas: int = Field(1, ge=0, le=1000)
    max_replicas: int = Field(4, ge=1, le=1000)
    target_ongoing_requests: float = Field(8.0, gt=0, le=10_000, description="Calls per replica to aim at; "
                                           "one full batch (batching.max_batch) keeps a replica busy.")

    @model_validator(mode="after")
    def _bounds(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas ({self.min_replicas}) must not exceed max_replicas ({self.max_replicas})")
        return self


class Replicas(_Strict):
    """How one model's Ray Serve deployment is sized (serve --http --ray)."""

    replicas: int = Field(1, ge=1, le=1000, description="Replicas of the model, when autoscaling is off.")
    autoscaling: Autoscaling | None = Field(None, description="Scale the replicas with the load instead.")
    num_cpus: float = Field(1.0, ge=0, le=1024, description="CPUs per replica (its torch threads: the whole part).")
    num_gpus: float = Field(0.0, ge=0, le=64, description="GPUs per replica; a fraction shares one GPU.")
    max_ongoing_requests: int = Field(16, ge=1, le=10_000, description=(
        "Calls a replica holds at once (at least batching.max_batch); more wait in the front."))


class RayServe(Replicas):
    """serve --http --ray: each model as a Ray Serve deployment, its engine inside every replica."""

    max_queued_requests: int = Field(256, ge=1, le=100_000, description=(
        "Calls per model waiting in the front for a replica; past this a call is refused as busy."))
    start_timeout_s: float = Field(600.0, gt=0, le=86_400, description=(
        "Time for a model's replicas to start (scheduling and loading); then the call fails in one line."))
    app_prefix: str = Field("ai-notes-", pattern=r"^[A-Za-z0-9._-]{0,40}$", description=(
        "Serve application names are this plus the model name; two servers on one cluster need two prefixes."))
    models: dict[str, Replicas] = Field(default_factory=dict, description=(
        "Per model: the keys given replace the ones above, e.g. {blip2-opt: {num_gpus: 1}}."))

    def sizing(self, name: str) -> Replicas:
        """The deployment size of one model: the defaults above with that model's own keys laid over them."""
        values = {key: getattr(self, key) for key in Replicas.model_fields}
        own = self.models.get(name)
        if own is not None:
            values.update({key: getattr(own, key) for key in own.model_fields_set})
        return Replicas(**values)


class Http(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8765, ge=0, le=65535)
    token: str | None = None


class Settings(_Strict):
    models: dict[str, ModelSpec] = Field(default_factory=lambda: dict(DEFAULT_MODELS))
    adapters: dict[str, AdapterSpec] = Field(default_factory=dict)
    defaults: Defaults = Field(default_factory=Defaults)
    device: str = "auto"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    batching: Batching = Field(default_factory=Batching)
    cache: Cache = Field(default_factory=Cache)
    images: Images = Field(default_factory=Images)
    notes: Notes = Field(default_factory=Notes)
    http: Http = Field(default_factory=Http)
    grounding: Grounding = Field(default_factory=Grounding)
    index: Index = Field(default_factory=Index)
    ray_serve: RayServe = Field(default_factory=RayServe)
    request_timeout_s: float = Field(300.0, gt=0, le=3600, description="A call still running after this fails.")

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", value):
            raise ValueError("allowed: auto, cpu, cuda, cuda:N, mps")
        return value

    @field_validator("models")
    @classmethod
    def _model_names(cls, models: dict[str, ModelSpec]) -> dict[str, ModelSpec]:
        for name in models:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
                raise ValueError(f"model name {name!r} must be letters, digits, '.', '_' or '-'")
        return models

    @model_validator(mode="after")
    def _adapters_fit(self) -> Settings:
        for name, adapter in self.adapters.items():
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
                raise ValueError(f"adapter name {name!r} must be letters, digits, '.', '_' or '-'")
            if name in self.models:
                raise ValueError(f"adapter {name!r} has the name of a model; give it a name of its own")
            base = self.models.get(adapter.base)
            if base is None:
                raise ValueError(f"adapters.{name}.base names {adapter.base!r}, which is not in models "
                                 f"({', '.join(self.models)})")
            able = [t for t in base.tasks if t != "match"]
            if not able or not set(adapter.tasks or able) <= set(able):
                raise ValueError(f"adapter {name!r} cannot do {adapter.tasks or ['caption', 'vqa']} on model "
                                 f"{adapter.base!r}, whose tasks are {base.tasks}; adapters caption or answer")
        return self

    @model_validator(mode="after")
    def _defaults_exist(self) -> Settings:
        for task in TASKS:
            name = getattr(self.defaults, task)
            if name not in self.models and name not in self.adapters:
                raise ValueError(f"defaults.{task} names {name!r}, which is not in models ({', '.join(self.models)})")
            if task not in self.tasks_of(name):
                raise ValueError(f"defaults.{task} names {name!r}, whose tasks are {self.tasks_of(name)}")
        return self

    @model_validator(mode="after")
    def _ray_serve_fits(self) -> Settings:
        for name in self.ray_serve.models:
            if name not in self.models:
                raise ValueError(f"ray_serve.models names {name!r}, which is not in models ({', '.join(self.models)})")
        for name in self.models:
            ongoing = self.ray_serve.sizing(name).max_ongoing_requests
            if ongoing < self.batching.max_batch:
                raise ValueError(f"ray_serve max_ongoing_requests ({ongoing}) for model {name!r} is below "
                                 f"batching.max_batch ({self.batching.max_batch}): its replicas could never fill a "
                                 "batch; raise it")
        return self

    def tasks_of(self, name: str) -> list[str]:
        """What a configured model or adapter does."""
        if name in self.adapters:
            adapter = self.adapters[name]
            return list(adapter.tasks or [t for t in self.models[adapter.base].tasks if t != "match"])
        return list(self.models[name].tasks)

    def base_of(self, name: str) -> str:
        """The model that runs ``name``: an adapter's base model, or the model itself."""
        return self.adapters[name].base if name in self.adapters else name

    def model_for(self, task: Task, name: str | None) -> str:
        """The configured model or adapter name to use for ``task``; a clear error for a bad name."""
        chosen = name or getattr(self.defaults, task)
        if chosen not in self.models and chosen not in self.adapters:
            names = [*self.models, *self.adapters]
            raise BadInputError(f"unknown model {chosen!r}; choose one of: {', '.join(names)}")
        if task not in self.tasks_of(chosen):
            able = [n for n in [*self.models, *self.adapters] if task in self.tasks_of(n)]
            raise BadInputError(f"model {chosen!r} does not do {task}; models that do: {', '.join(able) or 'none'}")
        return chosen


def load_settings(path: str | os.PathLike[str] | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read the settings file (if any), apply environment overrides, validate."""
    env = os.environ if environ is None else environ
    path = path or env.get(ENV_PREFIX + "CONFIG") or None
    data: dict[str, Any] = {}
    base_dir = Path.cwd()
    if path:
        file = Path(path).expanduser()
        try:
            loaded = yaml.safe_load(file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config file {str(file)!r}: {exc.strerror or exc}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {str(file)!r} is not valid YAML: {_first_line(exc)}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"config file {str(file)!r} must hold a mapping of settings, not {type(loaded).__name__}")
        data = loaded or {}
        base_dir = file.resolve().parent
    data = _apply_env(data, env)
    data = _resolve_local_sources(data, base_dir)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(one_line(exc, what="setting", allowed=_allowed_keys(exc))) from exc


def _apply_env(data: dict[str, Any], env: dict[str, str] | os._Environ[str]) -> dict[str, Any]:
    data = dict(data)
    keys = set(Settings.model_fields)
    for var, raw in env.items():
        if not var.startswith(ENV_PREFIX) or var == ENV_PREFIX + "CONFIG":
            continue
        key = var[len(ENV_PREFIX) :].lower()
        if key == "token":
            data["http"] = {**(data.get("http") or {}), "token": raw or None}
            continue
        if key not in keys:
            allowed = ", ".join(ENV_PREFIX + k.upper() for k in sorted(keys))
            raise ConfigError(f"unknown environment setting {var}; allowed: {allowed}")
        try:
            value = yaml.safe_load(raw) if raw else None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{var} is not valid YAML: {_first_line(exc)}") from exc
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            value = {**data[key], **value}
        data[key] = raw if key in {"device", "dtype"} else value
    return data


def _resolve_local_sources(data: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    """A relative ``source`` that names an existing folder, and an adapter's relative ``path``, are read relative to
    the config file."""
    adapters = data.get("adapters")
    if isinstance(adapters, dict):
        data = {**data, "adapters": {
            name: {**spec, "path": str((base_dir / spec["path"]).expanduser().resolve())}
            if isinstance(spec, dict) and isinstance(spec.get("path"), str) else spec
            for name, spec in adapters.items()}}
    models = data.get("models")
    if not isinstance(models, dict):
        return data
    resolved = {}
    for name, spec in models.items():
        if isinstance(spec, dict) and isinstance(spec.get("source"), str):
            source = spec["source"]
            candidate = (base_dir / source).expanduser()
            if source.startswith((".", "~")) or (not Path(source).is_absolute() and candidate.is_dir()):
                spec = {**spec, "source": str(candidate.resolve())}
        resolved[name] = spec
    return {**data, "models": resolved}


def _allowed_keys(exc: ValidationError) -> dict[str, str]:
    """For an unknown key: the keys allowed beside it, so the message can list them."""
    loc = exc.errors()[0]["loc"]
    parent = _model_at(loc[:-1])
    return {".".join(str(p) for p in loc[:-1]): ", ".join(parent.model_fields) if parent else "see the README"}


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The settings model at ``loc``; in a mapping of names to entries (``models``, ``ray_serve.models``) the
    name is stepped over."""
    model: type[BaseModel] = Settings
    parts = [str(part) for part in loc]
    while parts:
        field = model.model_fields.get(parts.pop(0))
        kind = field.annotation if field else None
        if get_origin(kind) is dict:  # name -> entry: the next part is the name
            if not parts:
                return None
            parts.pop(0)
            kind = get_args(kind)[1]
        kind = next((k for k in get_args(kind) if k is not type(None)), kind)  # X | None -> X
        if not (isinstance(kind, type) and issubclass(kind, BaseModel)):
            return None
        model = kind
    return model


def _first_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200]
