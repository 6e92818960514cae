"""Generation and scoring options, with their bounds: one definition for the CLI and the MCP tools."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import BadInputError

MAX_IMAGES = 64
MAX_TEXTS = 100
MAX_TEXT_CHARS = 500
MAX_QUESTION_CHARS = 500


class _Options(BaseModel):
    # Frozen and hashable: requests whose options are equal are batched together.
    model_config = ConfigDict(extra="forbid", frozen=True)


class CaptionOptions(_Options):
    prompt: str | None = Field(None, max_length=200, description="Text the caption should continue, e.g. 'a photo of'.")
    num_captions: int = Field(1, ge=1, le=5, description="Captions to return per image.")
    max_new_tokens: int = Field(30, ge=1, le=100, description="Longest caption, in tokens.")
    min_new_tokens: int = Field(0, ge=0, le=100, description="Shortest caption, in tokens.")
    num_beams: int = Field(3, ge=1, le=8, description="Beam width; 1 is greedy and fastest.")
    sampling: bool = Field(False, description="Sample instead of beam search: more varied, less faithful captions.")
    temperature: float = Field(1.0, gt=0, le=2.0, description="Sampling temperature (with sampling).")
    top_p: float = Field(0.9, gt=0, le=1.0, description="Nucleus sampling mass (with sampling).")
    repetition_penalty: float = Field(1.0, ge=1.0, le=3.0, description="Above 1 discourages repeated words.")

    @model_validator(mode="after")
    def _consistent(self) -> CaptionOptions:
        if self.min_new_tokens > self.max_new_tokens:
            raise ValueError(
                f"min_new_tokens ({self.min_new_tokens}) must not exceed max_new_tokens ({self.max_new_tokens})"
            )
        if not self.sampling and self.num_captions > self.num_beams:
            raise ValueError(
                f"num_captions ({self.num_captions}) must not exceed num_beams ({self.num_beams}) without sampling"
            )
        return self


class AnswerOptions(_Options):
    max_new_tokens: int = Field(10, ge=1, le=50, description="Longest answer, in tokens.")
    num_beams: int = Field(3, ge=1, le=8, description="Beam width; 1 is greedy and fastest.")


MatchMethod = Literal["itm", "itc"]


def make_options(cls: type[_Options], **values: Any) -> Any:
    """Build options, turning a validation failure into one actionable line."""
    try:
        return cls(**{k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"]) or "options"
        msg = err["msg"].removeprefix("Value error, ")
        shown = f" (got {err['input']!r})" if err["loc"] else ""
        raise BadInputError(f"bad argument {name}: {msg}{shown}") from exc


def check_texts(texts: list[str]) -> list[str]:
    if not texts:
        raise BadInputError("texts is empty; give 1 to 100 texts to score against the image")
    if len(texts) > MAX_TEXTS:
        raise BadInputError(f"too many texts ({len(texts)}); give at most {MAX_TEXTS} per call")
    for i, text in enumerate(texts):
        if not text.strip():
            raise BadInputError(f"text {i + 1} is empty; every text must say something")
        if len(text) > MAX_TEXT_CHARS:
            raise BadInputError(f"text {i + 1} is {len(text)} characters; keep each text under {MAX_TEXT_CHARS}")
    return texts


def check_question(question: str) -> str:
    if not question.strip():
        raise BadInputError("question is empty; ask something about the image")
    if len(question) > MAX_QUESTION_CHARS:
        raise BadInputError(f"question is {len(question)} characters; keep it under {MAX_QUESTION_CHARS}")
    return question
