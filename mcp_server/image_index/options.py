"""The image index calls' arguments, with their bounds: the one definition every front reads."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

MAX_HITS = 100
DEFAULT_HITS = 10

Folder = Annotated[str, Field(min_length=1, max_length=4096, description=(
    "A folder of images on the server's machine (over HTTP: under images.allowed_roots)."))]
Recursive = Annotated[bool, Field(description="Include sub-folders.")]
WithCaptions = Annotated[bool, Field(description=(
    "Also caption each new image (slower: a caption per image) for keyword search and to show in hits."))]
QueryText = Annotated[str | None, Field(min_length=1, max_length=500, description=(
    "What to look for, in words (e.g. 'a screenshot with an error dialog').") )]
Hits = Annotated[int, Field(ge=1, le=MAX_HITS, description="How many images to return.")]
MinScore = Annotated[float | None, Field(ge=-1.0, le=1.0, description="Only hits with at least this cosine.")]
Match = Annotated[Literal["meaning", "words", "both"], Field(description=(
    "meaning: embedding cosine (default); words: keyword search over indexed captions; both: the two rankings "
    "fused (reciprocal rank)."))]
Threshold = Annotated[float, Field(ge=0.5, le=1.0, description=(
    "Cosine at or above which two different files count as near-duplicates (re-encoded, resized, edited)."))]
