"""The vision tools: caption, answer, match, list the models. Each resolves its inputs, calls the vision
service, and returns the service's result model (the tool's output schema)."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, ImageContent, TextContent
from pydantic import Field

from ..arguments import ImageRef, ModelName
from ..vision.options import AnswerOptions, CaptionOptions, ExplainText, ImageList, Method, Question, Texts
from ..vision.results import (
    AnswerResult,
    CaptionBatchResult,
    CaptionResult,
    ExplainCaptionResult,
    ExplainMatchResult,
    MatchResult,
    ModelList,
)
from ..vision.service import Explained
from .common import READ_ONLY, add_tool, services, takes_options


@takes_options(CaptionOptions)
async def caption_image(image: ImageRef, ctx: Context, options: CaptionOptions,
                        model: ModelName = None) -> CaptionResult:
    """Describe an image in a short sentence (a caption), with a local BLIP / BLIP-2 model.

    Good for: a quick literal description of what is in a photo or picture, or continuing a prompt such as
    "a photo of". Not good for: reading text in the image, exact counts, small details, charts or
    diagrams (use answer_question for a specific question). Captions can name things that are not there;
    see the citations. Typical cost: about 1-2 s per image on a CPU; more beams or captions cost more.
    """
    return await services(ctx).vision.caption(image, options, model)


@takes_options(CaptionOptions)
async def caption_images(images: ImageList, ctx: Context, options: CaptionOptions,
                         model: ModelName = None) -> CaptionBatchResult:
    """Caption many images in one call; they are batched together, so this is faster than one call each.

    Each image gets its own slot in `results`, in input order: `captions`, or an `error` line for that image
    only (the others still succeed). Sends a progress notification as each image finishes when the client
    asks for progress. Same strengths and limits as caption_image.
    """

    async def progress(done: int, total: int) -> None:
        await ctx.report_progress(done, total, f"{done} of {total} images captioned")

    return await services(ctx).vision.caption_many(images, options, model, progress=progress)


@takes_options(AnswerOptions)
async def answer_question(image: ImageRef, question: Question, ctx: Context, options: AnswerOptions,
                          model: ModelName = None) -> AnswerResult:
    """Answer one question about an image with a short answer (visual question answering).

    Good for: "what colour is the car?", "is there a dog?", "what is the man holding?". Answers are a few
    words; yes/no and simple attribute questions work best. Weak at: counting beyond a few, reading text,
    spatial reasoning, anything needing outside knowledge. Asking several questions about the same image is
    cheap (the image is encoded once). Typical cost: well under a second per question on a CPU.
    """
    return await services(ctx).vision.answer(image, question, options, model)


async def score_image_text(image: ImageRef, texts: Texts, ctx: Context, method: Method = "itm",
                           model: ModelName = None) -> MatchResult:
    """Score how well each text describes the image; returns scores in input order and the best text.

    Good for: zero-shot classification (texts = candidate labels, e.g. "a photo of a cat"), checking a
    caption, choosing the best of several descriptions. Scores compare texts for the same image; they are
    not calibrated across images. Typical cost: one image encoding plus a fraction of a second per text.
    """
    return await services(ctx).vision.match(image, texts, method, model)


def _with_picture(explained: Explained) -> CallToolResult:
    """The PNG as image content for clients that show it; the numbers and boxes as structured content (and as
    JSON text) for every client. The PNG never goes into the structured content."""
    import base64

    data = explained.result.model_dump(mode="json")
    return CallToolResult(
        content=[ImageContent(type="image", data=base64.b64encode(explained.png).decode(), mime_type="image/png"),
                 TextContent(type="text", text=explained.result.model_dump_json())],
        structured_content=data)


async def explain_match(image: ImageRef, text: ExplainText, ctx: Context,
                        model: ModelName = None) -> Annotated[CallToolResult, ExplainMatchResult]:
    """Show where in the image a text points: the match probability and Grad-CAM heat maps, as a picture.

    Returns a PNG overlay (the whole text and each word, hot = where the model looked to judge the match) and,
    as numbers, each word's strongest regions as boxes in the image's own pixels plus an 8 x 8 grid of the map.
    Use it to check a caption or a label: a word whose map is diffuse or on the wrong object is not grounded.
    Maps show what the matching model attended to, not proof of what is in the image (see the citations).
    BLIP matching models only. Typical cost: about one to three score_image_text calls.
    """
    return _with_picture(await services(ctx).vision.explain_match(image, text, model))


async def explain_caption(
    image: ImageRef, ctx: Context,
    caption: Annotated[ExplainText | None, Field(description=(
        "The caption to explain; omit to caption the image first and explain that."))] = None,
    model: ModelName = None,
) -> Annotated[CallToolResult, ExplainCaptionResult]:
    """Explain a caption word by word: each word's probability and where in the image it came from.

    Captions the image (or takes the caption you give), then runs the captioner over it word by word; each
    word gets its probability and a Grad-CAM map of the decoder's cross-attention, as boxes in the image's
    pixels, an 8 x 8 grid and one labelled tile in the returned PNG. A confident word with a sharp map on the
    right object is grounded; a low-probability word or a map on nothing in particular is a likely
    hallucination. BLIP captioning models only. Typical cost: a caption plus a fraction of a second per word.
    """
    return _with_picture(await services(ctx).vision.explain_caption(image, caption, model))


async def list_models(ctx: Context) -> ModelList:
    """List the configured vision models: name, source checkpoint, tasks, family and status.

    status is loaded (in memory), available (on this machine, loads on first use) or missing (with a hint
    saying how to get it). Rows with a `base` are LoRA adapters fine-tuned for a domain or language: they run on
    that base model (failed: the hint says why one could not be loaded). Use a name from here as the `model`
    argument of the vision tools.
    """
    return services(ctx).vision.list_models()


IMAGE_TOOLS = (caption_image, caption_images, answer_question, score_image_text, explain_match, explain_caption)


def register(server: MCPServer, *, reads_urls: bool) -> None:
    # Tools that take an image reach the open web only when URL inputs are allowed.
    reads_images = READ_ONLY.model_copy(update={"open_world_hint": reads_urls})
    for tool in IMAGE_TOOLS:
        add_tool(server, tool, reads_images)
    add_tool(server, list_models)
