"""What a dataset job computes for each image: ``--tasks caption,vqa:QUESTION,embed`` as TaskSpecs.

Each task of each image is one row of the output, named by its key: the image (path and sha256), the model,
the task, its question and its options. A rerun skips the keys the output already holds, so changing a
model, a question or an option computes new rows while the old ones stay.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from ..arguments import validated
from ..config import Settings
from ..errors import BadInputError, ModelUnavailableError
from ..vision.options import AnswerOptions, CaptionOptions, Question

TaskKind = Literal["caption", "vqa", "embed"]
TASK_WORDS = "caption, vqa:QUESTION or embed"
EMBED_OPTIONS = "itc"  # the engine's options for an embedding: BLIP's ITC projection

Key = tuple[str, str, str, str, str, str, str]  # path, sha256 ("" when unread), model, task, question, options, adapter


@dataclass(frozen=True)
class TaskSpec:
    kind: TaskKind
    model: str  # the configured model that runs it (an adapter's base model)
    options: CaptionOptions | AnswerOptions | None = None  # None for embed
    question: str | None = None
    adapter: str | None = None  # a configured LoRA adapter on ``model`` (caption and vqa), or None

    @property
    def name(self) -> str:
        """The name the user chose: the adapter's, or the model's."""
        return self.adapter or self.model

    @property
    def engine_task(self) -> str:
        return {"caption": "caption", "vqa": "vqa", "embed": "embed"}[self.kind]

    @property
    def engine_options(self) -> CaptionOptions | AnswerOptions | str:
        return self.options if self.options is not None else EMBED_OPTIONS

    @property
    def options_json(self) -> str:
        """The options as stored in the output's ``options`` column (and in the row key)."""
        if self.options is None:
            return json.dumps({"method": EMBED_OPTIONS})
        return self.options.model_dump_json()

    @property
    def label(self) -> str:
        return f"vqa:{self.question}" if self.kind == "vqa" else self.kind

    def key(self, path: str, sha256: str | None) -> Key:
        return (path, sha256 or "", self.model, self.kind, self.question or "", self.options_json, self.adapter or "")


def split_tasks(values: Iterable[str]) -> list[str]:
    """``caption,vqa:is it red, or blue?,embed`` -> its tasks; a comma starts a new task only before a task word."""
    words: list[str] = []
    for value in values:
        for piece in value.split(","):
            stripped = piece.strip()
            if words and not (stripped in ("caption", "embed") or stripped.startswith("vqa:")):
                words[-1] += "," + piece  # a comma inside a question
            else:
                words.append(stripped)
    return [w.strip() for w in words if w.strip()]


def task_specs(words: list[str], settings: Settings, *, caption: CaptionOptions, answer: AnswerOptions,
               caption_model: str | None = None, vqa_model: str | None = None,
               embed_model: str | None = None) -> list[TaskSpec]:
    """The job's tasks in order, each with its model resolved; one line for an unknown or repeated task."""
    specs: list[TaskSpec] = []
    for word in words or ["caption"]:
        if word == "caption":
            spec = _spec(settings, "caption", settings.model_for("caption", caption_model), caption)
        elif word.startswith("vqa:"):
            question = validated(Question, word[4:].strip(), "question")
            spec = _spec(settings, "vqa", settings.model_for("vqa", vqa_model), answer, question)
        elif word == "embed":
            spec = TaskSpec("embed", settings.model_for("match", embed_model))
        else:
            raise BadInputError(f"unknown task {word[:60]!r} in --tasks; use {TASK_WORDS}, separated by commas")
        if spec.label in (s.label for s in specs):
            raise BadInputError(f"task {spec.label[:60]!r} is listed twice in --tasks; list each task once")
        specs.append(spec)
    return specs


def _spec(settings: Settings, kind: TaskKind, name: str, options: CaptionOptions | AnswerOptions,
          question: str | None = None) -> TaskSpec:
    """A caption or vqa task on ``name``, a model or an adapter (which runs on its base model)."""
    adapter = name if name in settings.adapters else None
    return TaskSpec(kind, settings.base_of(name), options, question, adapter)


def check_models(settings: Settings, specs: list[TaskSpec]) -> None:
    """Each model's checkpoint is there and can do its task, read from its config (no weights loaded); each
    adapter's folder holds an adapter."""
    from pathlib import Path

    from ..vision.loading import checkpoint_config

    for spec in specs:
        if spec.adapter is not None:
            folder = Path(settings.adapters[spec.adapter].path)
            if not (folder / "adapter_config.json").is_file():
                raise ModelUnavailableError(
                    f"adapter {spec.adapter!r}: no adapter in {str(folder)!r}; train one with `ai-notes-mcp finetune "
                    f"--model {spec.model} --out {folder}`, or fix adapters.{spec.adapter}.path")
        config = checkpoint_config(spec.model, settings.models[spec.model])
        if spec.kind == "embed" and config.model_type != "blip":
            raise ModelUnavailableError(
                f"model {spec.model!r} ({config.model_type}) cannot embed images here: the embedding is BLIP's ITC "
                "projection; pass --embed-model with a BLIP matching model such as blip-itm")
