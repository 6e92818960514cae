"""The vision tools' results: what the MCP tools return as structured content and the CLI prints with ``--json``.

One definition per result, shared by both fronts, so the two cannot drift.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ..knowledge.results import Citation


class ImageInfo(BaseModel):
    width: int
    height: int
    sha256: str = Field(description="SHA-256 of the image bytes as received.")


class CaptionResult(BaseModel):
    captions: list[str]
    model: str
    image: ImageInfo
    elapsed_ms: float
    citations: list[Citation] = Field(default_factory=list)


class CaptionItem(BaseModel):
    """One slot of a multi-image caption call: captions, or the error for that image only."""

    image: str = Field(description="The image argument as given (shortened).")
    captions: list[str] | None = None
    info: ImageInfo | None = None
    error: str | None = None


class CaptionBatchResult(BaseModel):
    results: list[CaptionItem]
    model: str
    elapsed_ms: float
    citations: list[Citation] = Field(default_factory=list)


class AnswerResult(BaseModel):
    answer: str
    model: str
    image: ImageInfo
    elapsed_ms: float
    citations: list[Citation] = Field(default_factory=list)


class TextScore(BaseModel):
    text: str
    score: float


class MatchResult(BaseModel):
    scores: list[TextScore] = Field(description="One score per text, in input order.")
    best: str = Field(description="The text with the highest score.")
    method: Literal["itm", "itc"]
    model: str
    image: ImageInfo
    elapsed_ms: float
    citations: list[Citation] = Field(default_factory=list)


class ModelInfo(BaseModel):
    name: str
    source: str
    tasks: list[str]
    family: str | None = Field(None, description="blip or blip-2, from the checkpoint's config.json.")
    status: Literal["loaded", "available", "missing"]
    hint: str | None = Field(None, description="How to get the checkpoint when it is missing.")


class ModelList(BaseModel):
    models: list[ModelInfo]
    device: str
    dtype: str
