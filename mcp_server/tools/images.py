"""The image index tools (index, search, duplicates, status) and image_to_prompt."""

from __future__ import annotations

import base64
from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, ImageContent, TextContent

from ..arguments import ImageRef
from ..image_index.options import (
    DEFAULT_HITS,
    Folder,
    Hits,
    Match,
    MinScore,
    QueryText,
    Recursive,
    Threshold,
    WithCaptions,
)
from ..image_index.results import DuplicatesResult, IndexReport, IndexStatus, SearchImagesResult
from ..image_prompt import ImagePromptResult, PromptMode
from .common import READ_ONLY, add_tool, services


async def index_images(folder: Folder, ctx: Context, recursive: Recursive = True,
                       captions: WithCaptions = False) -> IndexReport:
    """Index a folder of images so that search_images and find_duplicates can find them by meaning.

    Incremental: only new and changed files are embedded, renamed files are recognised by their hash, deleted
    files leave the index. Reports counts (added, updated, renamed, removed, unchanged, failed with reasons).
    A call is bounded in files and time: when `complete` is false, call it again to go on (nothing is lost).
    Sends progress notifications. Typical cost: a fraction of a second per new image on a CPU.
    """

    async def progress(done: int, total: int) -> None:
        await ctx.report_progress(done, total, f"{done} of {total} images embedded")

    return await services(ctx).images.index(folder, recursive, captions, progress=progress)


async def search_images(ctx: Context, text: QueryText = None, image: ImageRef | None = None, k: Hits = DEFAULT_HITS,
                        folder: Folder | None = None, min_score: MinScore = None,
                        match: Match = "meaning") -> Annotated[CallToolResult, SearchImagesResult]:
    """Find indexed images by a description ("a screenshot with an error dialog"), by an example image, or both.

    Hits come best first with path, score (embedding cosine), size and caption when indexed, plus small
    thumbnails as image content. Index the folder with index_images first. Scores compare images for one
    query; they are not calibrated across queries.
    """
    found = await services(ctx).images.search(text, image, k, folder, min_score, match)
    blocks = [ImageContent(type="image", data=base64.b64encode(t).decode(), mime_type="image/jpeg")
              for t in found.thumbnails]
    return CallToolResult(content=[*blocks, TextContent(type="text", text=found.hits.model_dump_json())],
                          structured_content=found.hits.model_dump(mode="json"))


async def find_duplicates(folder: Folder, ctx: Context, threshold: Threshold = 0.95) -> DuplicatesResult:
    """Group the indexed images of a folder that are copies of each other: exact copies (same bytes) and near
    copies (re-encoded, resized or lightly edited: embedding cosine at least `threshold`)."""
    return await services(ctx).images.duplicates(folder, threshold)


async def index_status(ctx: Context) -> IndexStatus:
    """What the image index holds: its file, images per model and per folder, when it was last updated."""
    return services(ctx).images.status()


async def image_to_prompt(image: ImageRef, ctx: Context, mode: PromptMode = "classic") -> ImagePromptResult:
    """Turn an image into a text-to-image prompt: a caption plus the notes' prompt modifiers that fit it best.

    Modifiers (style, medium, lighting, camera, colour, composition, quality) are ranked against the image by
    the matching model and, in classic mode, re-ranked with the caption; each comes with its effect and a
    citation of the notes section that explains it. mode=negative gives terms for a negative prompt. BLIP's
    text space is not a diffusion model's text encoder: treat the ranking as a good starting point.
    """
    return await services(ctx).prompts.image_to_prompt(image, mode)


def register(server: MCPServer, *, reads_urls: bool) -> None:
    reads_images = READ_ONLY.model_copy(update={"open_world_hint": reads_urls})
    # index_images writes only the server's own index file: read-only as far as the caller's data goes.
    for tool in (index_images, find_duplicates, index_status):
        add_tool(server, tool)
    for tool in (search_images, image_to_prompt):
        add_tool(server, tool, reads_images)
