"""The vision tools: caption, answer, match, list the models. Each resolves its inputs, calls the vision
service, and returns the service's result model (the tool's output schema)."""

from __future__ import annotations

from mcp.server.mcpserver import Context, MCPServer

from ..arguments import ImageRef, ModelName
from ..vision.options import AnswerOptions, CaptionOptions, ImageList, Method, Question, Texts
from ..vision.results import AnswerResult, CaptionBatchResult, CaptionResult, MatchResult, ModelList
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


async def list_models(ctx: Context) -> ModelList:
    """List the configured vision models: name, source checkpoint, tasks, family and status.

    status is loaded (in memory), available (on this machine, loads on first use) or missing (with a hint
    saying how to get it). Use a name from here as the `model` argument of the vision tools.
    """
    return services(ctx).vision.list_models()


IMAGE_TOOLS = (caption_image, caption_images, answer_question, score_image_text)


def register(server: MCPServer, *, reads_urls: bool) -> None:
    # Tools that take an image reach the open web only when URL inputs are allowed.
    reads_images = READ_ONLY.model_copy(update={"open_world_hint": reads_urls})
    for tool in IMAGE_TOOLS:
        add_tool(server, tool, reads_images)
    add_tool(server, list_models)
