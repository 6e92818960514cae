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
    status: Literal["loaded", "available", "missing", "failed"] = Field(description=(
        "loaded (in memory), available (on this machine, loads on first use), missing (with a hint saying how to get "
        "it), failed (an adapter that could not be loaded onto its base model: the hint says why)."))
    hint: str | None = Field(None, description="How to get the checkpoint when it is missing; why an adapter failed.")
    base: str | None = Field(None, description="For a LoRA adapter: the model it runs on (its source is its folder).")


class ModelList(BaseModel):
    models: list[ModelInfo]
    device: str
    dtype: str


class Region(BaseModel):
    """A box in the original image's pixels (x to the right, y down), end-exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int
    score: float = Field(description="The share of the map's weight inside this region (0-1).")


class Grounding(BaseModel):
    """Where in the image a text (or one word of it) points, by Grad-CAM on the model's cross-attention."""

    regions: list[Region] = Field(description="The strongest areas, strongest first (at most 3).")
    grid: list[list[float]] = Field(description="The map pooled to 8 x 8 cells over the image, rows top to "
                                                "bottom, normalised so the strongest cell is 1.")


class WordGrounding(Grounding):
    word: str
    probability: float | None = Field(None, description=(
        "explain_caption: the decoder's probability of this word given the words before it."))


class ExplainMatchResult(BaseModel):
    text: str
    probability: float = Field(description="The ITM match probability in [0, 1], as score_image_text gives it.")
    grounding: Grounding = Field(description="The map of the whole text (the mean of its words' maps).")
    words: list[WordGrounding] = Field(description="One map per word (WordPiece pieces merged), in text order.")
    layer: int = Field(description="The cross-attention layer the maps were read from.")
    model: str
    image: ImageInfo
    elapsed_ms: float
    citations: list[Citation] = Field(default_factory=list)


class ExplainCaptionResult(BaseModel):
    caption: str
    generated: bool = Field(description="True when the caption was written by the model in this call.")
    words: list[WordGrounding] = Field(description="One map and probability per word, in caption order.")
    layer: int = Field(description="The cross-attention layer the maps were read from.")
    model: str
    image: ImageInfo
    elapsed_ms: float
    citations: list[Citation] = Field(default_factory=list)
