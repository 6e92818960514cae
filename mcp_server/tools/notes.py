"""The notes tools: search the AI notes, read a page or section, filter the model catalog."""

from __future__ import annotations

from mcp.server.mcpserver import Context, MCPServer

from ..knowledge.options import (
    DEFAULT_SEARCH_LIMIT,
    Capability,
    Modality,
    NoteRef,
    OpenWeights,
    Organization,
    Query,
    ReleasedAfter,
    SearchLimit,
    Tags,
)
from ..knowledge.results import FindModelsResult, Note, SearchResult
from .common import add_tool, services


async def search_notes(query: Query, ctx: Context, limit: SearchLimit = DEFAULT_SEARCH_LIMIT,
                       tags: Tags = None) -> SearchResult:
    """Search the AI notes, a curated and sourced knowledge base of the AI field, best sections first.

    Covers text and chat models, search and RAG, code models, vision-language models, image generation and
    prompts, audio, agents, prompting, evaluation, infrastructure, security (prompt injection, jailbreaks,
    MCP), small models, products and resources. Each hit has a url to cite and a uri for read_note. Instant
    and offline.
    """
    return services(ctx).notes.search(query, limit=limit, tags=tags)


async def read_note(ref: NoteRef, ctx: Context) -> Note:
    """Read a page of the AI notes as markdown, or one section when the ref has an #anchor.

    Use the url or uri from a search_notes hit or a citation. Sections link their primary sources.
    """
    return services(ctx).notes.read(ref)


async def find_models(ctx: Context, capability: Capability = None, modality: Modality = None,
                      open_weights: OpenWeights = None, organization: Organization = None,
                      released_after: ReleasedAfter = None) -> FindModelsResult:
    """Filter the notes' model catalog (organisation, release date, size, licence, capabilities, techniques).

    Every row lists its primary sources. Combine filters to answer questions such as "which open models
    support tool use" or "vision-language models released after 2024".
    """
    return services(ctx).notes.find_models(capability=capability, modality=modality, open_weights=open_weights,
                                           organization=organization, released_after=released_after)


def register(server: MCPServer) -> None:
    for tool in (search_notes, read_note, find_models):
        add_tool(server, tool)
