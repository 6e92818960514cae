"""The vision calls' arguments and options, with their bounds: the one definition every front reads.

The MCP tools take these types as parameters (their bounds become the tool schemas), the CLI derives its
flags and help from them, and ``VisionService`` validates what it receives through them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ..arguments import ImageRef

MAX_IMAGES = 64
MAX_TEXTS = 100
MAX_TEXT_CHARS = 500
MAX_QUESTION_CHARS = 500


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be blank; say something")
    return text


Question = Annotated[str, Field(min_length=1, max_length=MAX_QUESTION_CHARS,
                                description="One question about the image."), AfterValidator(_not_blank)]
MatchText = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS), AfterValidator(_not_blank)]
Texts = Annotated[list[MatchText], Field(min_length=1, max_length=MAX_TEXTS, description=(
    f"1 to {MAX_TEXTS} candidate texts to score against the image, each at most {MAX_TEXT_CHARS} characters."))]
ImageList = Annotated[list[ImageRef], Field(min_length=1, max_length=MAX_IMAGES, description=(
    f"1 to {MAX_IMAGES} images, each as for caption_image."))]
MAX_EXPLAIN_CHARS = 200  # about 40 words: one map each, one tile each on the picture (the first 15)
ExplainText = Annotated[str, Field(min_length=1, max_length=MAX_EXPLAIN_CHARS, description=(
    f"The text to ground in the image, at most {MAX_EXPLAIN_CHARS} characters.")), AfterValidator(_not_blank)]
MatchMethod = Literal["itm", "itc"]
Method = Annotated[MatchMethod, Field(description=(
    "itm: the model's match probability in [0, 1] (more accurate, judges each text alone); "
    "itc: cosine similarity of image and text embeddings (faster, good for ranking many texts)."))]


class Options(BaseModel):
    # Frozen and hashable: requests whose options are equal are batched together.
    model_config = ConfigDict(extra="forbid", frozen=True)


class CaptionOptions(Options):
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


class AnswerOptions(Options):
    max_new_tokens: int = Field(10, ge=1, le=50, description="Longest answer, in tokens.")
    num_beams: int = Field(3, ge=1, le=8, description="Beam width; 1 is greedy and fastest.")
