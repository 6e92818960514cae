"""Result models of the notes tools: what search_notes, read_note and find_models return.

The MCP layer turns these into output schemas and the CLI prints them with ``--json``, so the
field descriptions are written for the model that reads them.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class Citation(BaseModel):
    """A notes section that explains the model or task behind a result."""

    title: str
    url: str = Field(description=(
        "Web URL of the section in the notes site when one is served or configured (notes.site_url), else its "
        "notes:// URI."))
    uri: str = Field(description="notes:// URI that read_note accepts.")


class SearchHit(BaseModel):
    """One section of the notes that matches the query."""

    title: str = Field(description="Title of the page the section belongs to.")
    section: str = Field(description="Heading of the matching section (the page title for a page's introduction).")
    url: str = Field(description=(
        "URL of the section to cite: on the notes site when one is served or configured, else its notes:// URI."))
    uri: str = Field(description="notes:// URI of the section; pass it to read_note for the full text.")
    path: str = Field(description="Page path inside the notes, e.g. 'vision-language.md'.")
    snippet: str = Field(description="A short excerpt of the section with the matched words in **bold**.")
    tags: list[str] = Field(description="The page's topic tags from the notes taxonomy.")
    updated: str | None = Field(description="ISO date the page was last curated.")
    score: float = Field(description="BM25 relevance; higher is better. Comparable only within one search.")


class SearchResult(BaseModel):
    hits: list[SearchHit] = Field(description="Matching sections, best first; empty when nothing matched.")


class Note(BaseModel):
    """A notes page, or one section of it when the reference carried an #anchor."""

    title: str = Field(description="Page title; for a section, 'Page title › Section heading'.")
    url: str = Field(description="URL of the page or section to cite (the notes:// URI when no site is served).")
    uri: str = Field(description="notes:// URI of the page or section.")
    markdown: str = Field(
        description="The page (without front matter) or the section with its sub-sections, as markdown. "
        "Relative links such as 'text.md#scaling' can be passed to read_note."
    )
    tags: list[str] = Field(description="The page's topic tags from the notes taxonomy.")
    updated: str | None = Field(description="ISO date the page was last curated.")


class Modalities(BaseModel):
    model_config = ConfigDict(extra="ignore")

    input: list[str] = Field(description="What the model reads: text, image, audio, video.")
    output: list[str] = Field(description="What it produces; empty for embedding models, which return vectors.")


class CatalogModel(BaseModel):
    """One row of the model catalog (notes/data/models.yaml)."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(description="Stable catalog id, kebab-case.")
    name: str
    organization: str
    released: dt.date = Field(description="Paper or announcement date.")
    parameters: list[str] | None = Field(None, description="Published sizes, e.g. ['7B', '70B']; null when not public.")
    active_parameters: str | None = Field(None, description="Mixture-of-experts models: parameters active per token.")
    open_weights: bool = Field(description="Whether the weights can be downloaded.")
    license: str = Field(description="SPDX id, a named licence, or 'proprietary'.")
    modalities: Modalities
    context_window: int | None = Field(None, description="Context window in tokens, when published.")
    capabilities: list[str] = Field(description="Documented capabilities, from the taxonomy's vocabulary.")
    techniques: list[str] = Field(description="Training techniques behind them (sft, rlhf, dpo, ...).")
    sources: list[str] = Field(description="Primary sources (papers, model cards, official posts).")
    notes: str | None = Field(None, description="Notes page and anchor that discuss the model; read_note accepts it.")


class FindModelsResult(BaseModel):
    models: list[CatalogModel] = Field(description="Catalog rows that match every given filter, oldest release first.")
    citation: Citation = Field(description="The catalog page to cite for these rows.")
