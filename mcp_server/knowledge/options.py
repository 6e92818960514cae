"""The notes calls' arguments, with their bounds: the one definition every front reads.

The MCP tools take these types as parameters (their bounds become the tool schemas), the CLI derives its
arguments and help from them, and ``NotesService`` validates what it receives through them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

MAX_QUERY_CHARS = 500
MAX_SEARCH_LIMIT = 20
DEFAULT_SEARCH_LIMIT = 5

Query = Annotated[str, Field(min_length=1, max_length=MAX_QUERY_CHARS, description="What to look for, in plain words.")]
SearchLimit = Annotated[int, Field(ge=1, le=MAX_SEARCH_LIMIT, description="How many sections to return.")]
Tags = Annotated[list[str] | None, Field(description="Only pages with one of these tags, e.g. security.")]
NoteRef = Annotated[str, Field(min_length=1, max_length=500, description=(
    "A page path (vision-language.md), its url, or a notes:// uri; add #anchor for one section."))]

Capability = Annotated[str | None, Field(max_length=100, description="e.g. tool-use, reasoning, image-understanding.")]
Modality = Annotated[Literal["text", "image", "audio", "video"] | None, Field(description="Input or output modality.")]
OpenWeights = Annotated[bool | None, Field(description="Only models with (or without) open weights.")]
Organization = Annotated[str | None, Field(max_length=100, description="e.g. Meta, Google.")]
ReleasedAfter = Annotated[str | None, Field(max_length=40, description="ISO date, e.g. 2024-01-01.")]
