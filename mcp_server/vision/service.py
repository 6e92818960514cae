"""The vision service: what the CLI and the MCP tools call. Inputs in, result models out.

Each call: resolve the model by name, load and preprocess the image in a worker thread (skipping the
pixels when the model already holds this image's features), queue it on the model's engine, await the
result, decode it in a thread, and build the result model with its citations.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..arguments import validated
from ..config import Settings
from ..errors import AiNotesError, BadInputError, CallTimeoutError, ConfigError
from ..images import LoadedImage, load_image
from ..knowledge.results import Citation
from .options import AnswerOptions, CaptionOptions, ExplainText, ImageList, MatchMethod, Method, Question, Texts
from .results import (
    AnswerResult,
    CaptionBatchResult,
    CaptionItem,
    CaptionResult,
    ExplainCaptionResult,
    ExplainMatchResult,
    Grounding,
    ImageInfo,
    MatchResult,
    ModelInfo,
    ModelList,
    Region,
    TextScore,
    WordGrounding,
)

if TYPE_CHECKING:
    from .engine import Engine

CitationSource = Callable[[str, str], list[Citation]]  # (family, task) -> notes sections
SHEET_WORDS = 15  # words drawn on an explanation's picture (every word is in the numbers)


@dataclass(frozen=True)
class Explained:
    """An explanation: the result model (numbers and boxes) and the PNG that shows it."""

    result: ExplainMatchResult | ExplainCaptionResult
    png: bytes
Progress = Callable[[int, int], Awaitable[None]]  # (done, total)


def _shorten(ref: str, limit: int = 80) -> str:
    return ref if len(ref) <= limit else ref[: limit - 3] + "..."


def _info(image: LoadedImage) -> ImageInfo:
    return ImageInfo(width=image.width, height=image.height, sha256=image.sha256)


class VisionService:
    def __init__(self, settings: Settings, *, local_paths: bool = True, citations: CitationSource | None = None):
        self.settings = settings
        self.local_paths = local_paths or bool(settings.images.allowed_roots)
        self.citations = citations or (lambda family, task: [])
        self._engines: dict[str, Engine] = {}
        self._load_lock = threading.Lock()  # guards loading, and the device and dtype it resolves
        self._device: str | None = None
        self._dtype: Any = None

    # -- models -------------------------------------------------------------------------------

    def _runtime(self) -> tuple[str, Any]:
        if self._device is None:
            from .loading import resolve_device, resolve_dtype

            device = resolve_device(self.settings.device)
            self._dtype = resolve_dtype(self.settings.dtype, device)
            self._device = device
        return self._device, self._dtype

    def engine(self, name: str) -> Engine:
        """The loaded engine for a configured model (an adapter's: its base model's), loading it on first use
        (blocking) with the adapters declared on it."""
        name = self.settings.base_of(name)
        engine = self._engines.get(name)
        if engine is not None:  # loaded models never wait for a load in progress
            return engine
        # One load at a time: transformers' from_pretrained is not thread-safe (its meta-device
        # initialisation is process-wide), and one load per model however many callers arrive.
        with self._load_lock:
            engine = self._engines.get(name)
            if engine is None:
                from . import compute
                from .engine import Engine
                from .loading import load_model

                device, dtype = self._runtime()
                adapters = {n: a for n, a in self.settings.adapters.items() if a.base == name}
                model = compute.in_passing_thread(load_model, name, self.settings.models[name], device, dtype,
                                                  adapters)
                batching = self.settings.batching
                engine = Engine(model, max_batch=batching.max_batch, max_wait_ms=batching.max_wait_ms,
                                max_queue=batching.max_queue, cache_size=self.settings.cache.vision_features,
                                name=name)
                self._engines[name] = engine
            return engine

    async def preload(self, names: list[str] | None = None) -> None:
        for name in names or list(dict.fromkeys(self.settings.defaults.model_dump().values())):
            # A missing model or a device this machine lacks is reported, in one line, when a tool needs it;
            # the other models still load.
            with contextlib.suppress(AiNotesError):
                await asyncio.to_thread(self.engine, name)

    def list_models(self) -> ModelList:
        from .loading import family_of, fetch_hint, local_config

        rows = []
        for name, spec in self.settings.models.items():
            config = local_config(spec)
            status = "loaded" if name in self._engines else "available" if config is not None else "missing"
            rows.append(ModelInfo(
                name=name, source=spec.source, tasks=list(spec.tasks),
                family=family_of(config) if config else None, status=status,
                hint=None if config is not None else fetch_hint(spec),
            ))
        rows += [self._adapter_info(name, rows) for name in self.settings.adapters]
        device, dtype = (self._device, str(self._dtype).removeprefix("torch.")) if self._device else (
            self.settings.device, self.settings.dtype)
        return ModelList(models=rows, device=device, dtype=dtype)

    def _adapter_info(self, name: str, models: list[ModelInfo]) -> ModelInfo:
        from pathlib import Path

        spec = self.settings.adapters[name]
        base = next(m for m in models if m.name == spec.base)
        engine = self._engines.get(spec.base)
        adapters = getattr(engine.backend, "adapters", None) if engine else None
        status, hint = "available", None
        if adapters is not None and name in adapters.failed:
            status, hint = "failed", adapters.failed[name]
        elif adapters is not None:
            status = "loaded"
        elif not (Path(spec.path) / "adapter_config.json").is_file():
            status, hint = "missing", (f"no adapter in {spec.path}; train one with `ai-notes-mcp finetune --model "
                                       f"{spec.base} --data DATA --out {spec.path}`")
        elif base.status == "missing":
            status, hint = "missing", f"its base model {spec.base!r} is missing: {base.hint}"
        return ModelInfo(name=name, source=spec.path, tasks=self.settings.tasks_of(name), family=base.family,
                         status=status, hint=hint, base=spec.base)

    def close(self) -> None:
        """Stop every engine and join its worker; models load again on their next use."""
        with self._load_lock:
            engines, self._engines = self._engines, {}
        for engine in engines.values():
            engine.close()

    # -- the pipeline -------------------------------------------------------------------------

    async def _run(self, name: str, task: str, options: Any, ref: str, payload: Any = None) -> tuple[LoadedImage, Any]:
        """Load the image, queue it, await the raw result; cancelling the caller drops the queued work."""
        from .engine import Request

        # The image first: a bad one is refused without loading (or even importing) a model.
        image = await asyncio.to_thread(load_image, ref, self.settings.images, local_paths=self.local_paths)
        engine = await asyncio.to_thread(self._serving, name)
        adapter = name if name in self.settings.adapters else None

        def prepare() -> Request:
            features = engine.cache.get(image.sha256)  # pinned: eviction before the batch runs cannot lose it
            pixels = None if features is not None else engine.backend.preprocess(image.image)
            return Request(task, options, image.sha256, pixels=pixels, features=features, payload=payload,
                           adapter=adapter)

        future = engine.submit(await asyncio.to_thread(prepare))
        try:
            raw = await asyncio.wait_for(asyncio.wrap_future(future), timeout=self.settings.request_timeout_s)
        except TimeoutError:
            future.cancel()
            raise CallTimeoutError(
                f"the call took longer than request_timeout_s ({self.settings.request_timeout_s:g} s) and was stopped;"
                " retry, or ask for fewer tokens or beams") from None
        return image, raw

    def _serving(self, name: str) -> Engine:
        """The engine that serves ``name``; for an adapter that could not be loaded, its own one line (the base model
        and the other adapters serve as usual)."""
        engine = self.engine(name)
        if name in self.settings.adapters:
            engine.backend.adapters.check(name)
        return engine

    def _cite(self, name: str, task: str) -> list[Citation]:
        return self.citations(self.engine(name).backend.family, task)

    # -- operations ---------------------------------------------------------------------------

    async def caption(self, image: str, options: CaptionOptions | None = None,
                      model: str | None = None) -> CaptionResult:
        options = options or CaptionOptions()
        name = self.settings.model_for("caption", model)
        start = time.perf_counter()
        loaded, ids = await self._run(name, "caption", options, image)
        captions = await asyncio.to_thread(self.engine(name).backend.decode, ids, options.prompt)
        return CaptionResult(captions=captions, model=name, image=_info(loaded),
                             elapsed_ms=_ms(start), citations=self._cite(name, "caption"))

    async def caption_many(self, images: list[str], options: CaptionOptions | None = None,
                           model: str | None = None, progress: Progress | None = None) -> CaptionBatchResult:
        """Caption several images at once; a bad image is an error in its own slot, the others succeed."""
        images = validated(ImageList, images, "images")
        options = options or CaptionOptions()
        name = self.settings.model_for("caption", model)
        start = time.perf_counter()
        await asyncio.to_thread(self._serving, name)  # a missing model (or adapter) fails the whole call, once
        done = 0

        async def one(ref: str) -> CaptionItem:
            nonlocal done
            try:
                result = await self.caption(ref, options, name)
                item = CaptionItem(image=_shorten(ref), captions=result.captions, info=result.image)
            except AiNotesError as exc:
                item = CaptionItem(image=_shorten(ref), error=str(exc))
            done += 1
            if progress is not None:
                await progress(done, len(images))
            return item

        results = await asyncio.gather(*(one(ref) for ref in images))
        return CaptionBatchResult(results=list(results), model=name, elapsed_ms=_ms(start),
                                  citations=self._cite(name, "caption"))

    async def answer(self, image: str, question: str, options: AnswerOptions | None = None,
                     model: str | None = None) -> AnswerResult:
        options = options or AnswerOptions()
        question = validated(Question, question, "question")
        name = self.settings.model_for("vqa", model)
        start = time.perf_counter()
        loaded, ids = await self._run(name, "vqa", options, image, payload=question)
        answer = (await asyncio.to_thread(self.engine(name).backend.decode, ids))[0]
        return AnswerResult(answer=answer, model=name, image=_info(loaded), elapsed_ms=_ms(start),
                            citations=self._cite(name, "vqa"))

    async def match(self, image: str, texts: list[str], method: MatchMethod = "itm",
                    model: str | None = None) -> MatchResult:
        texts = validated(Texts, texts, "texts")
        method = validated(Method, method, "method")
        name = self.settings.model_for("match", model)
        start = time.perf_counter()
        loaded, scores = await self._run(name, "match", method, image, payload=list(texts))
        rows = [TextScore(text=t, score=float(s)) for t, s in zip(texts, scores, strict=True)]
        best = max(rows, key=lambda row: row.score).text
        return MatchResult(scores=rows, best=best, method=method, model=name, image=_info(loaded),
                           elapsed_ms=_ms(start), citations=self._cite(name, "match"))

    # -- embeddings (ITC): what the image index stores and searches -----------------------------------------------

    def embedding_model(self, model: str | None = None) -> str:
        """The configured model that embeds for the index: a matching model (BLIP ITM or BLIP-2 retrieval)."""
        return self.settings.model_for("match", model)

    async def embed_image(self, image: str, model: str | None = None) -> tuple[LoadedImage, Any]:
        """One image's normalised ITC embedding, (queries, D) as a float32 tensor, batched with other callers'."""
        name = self.embedding_model(model)
        return await self._run(name, "embed", "itc", image)

    async def embed_texts(self, texts: list[str], model: str | None = None) -> Any:
        """Normalised ITC embeddings of texts, (T, D), in the same space as ``embed_image``."""
        from . import compute

        texts = validated(Texts, texts, "texts")
        engine = await asyncio.to_thread(self.engine, self.embedding_model(model))

        def run():
            import torch

            with torch.inference_mode():
                return engine.backend.embed_texts(texts).cpu()

        return await asyncio.to_thread(compute.call, run)

    # -- grounding ------------------------------------------------------------------------------

    async def explain_match(self, image: str, text: str, model: str | None = None) -> Explained:
        """Where the text points in the image: the ITM probability, Grad-CAM maps, boxes and a picture."""
        text = validated(ExplainText, text, "text")
        name = self.settings.model_for("match", model)
        layer = await self._explainer(name, "explain_match")
        start = time.perf_counter()
        loaded, raw = await self._run(name, "explain_match", layer, image, payload=text)
        words, whole = await asyncio.to_thread(self._words, raw, loaded)
        result = ExplainMatchResult(
            text=text, probability=raw.probability, grounding=whole, words=words, layer=layer, model=name,
            image=_info(loaded), elapsed_ms=_ms(start), citations=self._cite(name, "grounding"))
        return Explained(result, await asyncio.to_thread(self._picture, loaded, raw, "whole text"))

    async def explain_caption(self, image: str, caption: str | None = None, model: str | None = None) -> Explained:
        """Each word of a caption (written now, or given) with its probability, map and boxes, and a picture."""
        name = self.settings.model_for("caption", model)
        layer = await self._explainer(name, "explain_caption")
        start = time.perf_counter()
        generated = caption is None
        if generated:
            caption = (await self.caption(image, CaptionOptions(), name)).captions[0]
        caption = validated(ExplainText, caption, "caption")
        loaded, raw = await self._run(name, "explain_caption", layer, image, payload=caption)
        words, _ = await asyncio.to_thread(self._words, raw, loaded)
        result = ExplainCaptionResult(
            caption=caption, generated=generated, words=words, layer=layer, model=name, image=_info(loaded),
            elapsed_ms=_ms(start), citations=self._cite(name, "grounding"))
        return Explained(result, await asyncio.to_thread(self._picture, loaded, raw, None))

    async def _explainer(self, name: str, task: str) -> int:
        """The cross-attention layer to read; one line when this model cannot be explained."""
        engine = await asyncio.to_thread(self.engine, name)
        if not hasattr(engine.backend, task):
            able = [n for n, e in self._engines.items() if hasattr(e.backend, task)] or [
                n for n, s in self.settings.models.items() if (task == "explain_match") == ("match" in s.tasks)
                and (task == "explain_match" or "caption" in s.tasks) and n != name]
            raise BadInputError(
                f"model {name!r} ({engine.backend.family}) cannot be explained: Grad-CAM needs BLIP's text-side "
                f"cross-attention over image patches; use a BLIP model such as {', '.join(able) or 'blip-itm'}")
        layer, layers = self.settings.grounding.layer, engine.backend.text_layers
        if layer >= layers:
            raise ConfigError(f"bad setting grounding.layer: {layer}, but model {name!r} has {layers} text layers; "
                              f"use 0 to {layers - 1}")
        return layer

    @staticmethod
    def _words(raw, loaded: LoadedImage) -> tuple[list[WordGrounding], Grounding]:
        from . import grounding

        words = grounding.words(raw.tokens, raw.maps.numpy(), raw.logprobs)

        def ground(cam) -> dict:
            boxes = grounding.regions(cam, loaded.width, loaded.height)
            return {"regions": [Region(**vars(b)) for b in boxes], "grid": grounding.coarse_grid(cam)}

        rows = [WordGrounding(word=w.text, probability=None if w.logprob is None else round(math.exp(w.logprob), 6),
                              **ground(w.map)) for w in words]
        return rows, Grounding(**ground(grounding.whole(words, raw.maps.shape[1:])))

    @staticmethod
    def _picture(loaded: LoadedImage, raw, whole_label: str | None) -> bytes:
        from . import grounding

        words = grounding.words(raw.tokens, raw.maps.numpy(), raw.logprobs)
        tiles = [(whole_label, grounding.whole(words, raw.maps.shape[1:]))] if whole_label else []
        tiles += [(w.text if w.logprob is None else f"{w.text} {math.exp(w.logprob):.2f}", w.map)
                  for w in words[:SHEET_WORDS]]
        return grounding.png(grounding.contact_sheet(loaded.image, tiles or [("(no words)", raw.maps[0].numpy())]))


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)

