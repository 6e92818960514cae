"""Image to prompt: what clip-interrogator does with CLIP, done with BLIP and the notes' own prompt modifiers.

A caption, then the modifiers of notes/data/image_prompt_modifiers.yaml ranked against the image by ITC (the
matching model's embedding cosine) and, in "classic" mode, the best few per category re-ranked by ITM against
"caption, modifier", as clip-interrogator chains its candidates. Modes as clip-interrogator defines them:
"fast" (caption plus the best modifiers by ITC alone), "classic" (caption plus the best modifier of each
category, re-ranked by ITM) and "negative" (the negative-prompt terms the image is least like, for a negative
prompt). Each modifier carries its effect and a citation of its section of image-prompts.md.

The modifier embeddings are computed once per (model, checkpoint, data) and kept on disk.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, Field

from .arguments import validated
from .config import Settings
from .knowledge.pages import SAFE_LOADER
from .knowledge.results import Citation
from .knowledge.schema import MODIFIERS_FILE
from .knowledge.service import NotesService
from .vision.results import ImageInfo
from .vision.service import VisionService

PromptMode = Annotated[Literal["fast", "classic", "negative"], Field(description=(
    "fast: caption plus the best modifiers by embedding similarity; classic: caption plus the best modifier "
    "of each category, re-ranked by the match model; negative: terms for a negative prompt."))]

CLASSIC_CATEGORIES = ("medium", "style", "lighting", "camera-and-lens", "colour", "composition", "quality")
FAST_COUNT, CANDIDATES, NEGATIVE_COUNT = 8, 5, 6
PAGE = "image-prompts.md"
ANCHORS = {"negative": "negative-prompts"}  # category -> section of image-prompts.md, where they differ
LIMITS_ANCHOR = "image-to-prompt"  # the section saying what BLIP's ranking can and cannot tell


class ChosenModifier(BaseModel):
    term: str
    category: str
    effect: str = Field(description="What the modifier does to a generated image, from the notes.")
    itc: float = Field(description="Cosine of the image and the modifier text (BLIP ITC).")
    itm: float | None = Field(None, description="classic mode: match probability of 'caption, modifier'.")
    citation: Citation


class ImagePromptResult(BaseModel):
    prompt: str = Field(description="The assembled prompt (for mode negative: the negative prompt).")
    mode: str
    caption: str
    modifiers: list[ChosenModifier]
    caption_model: str
    match_model: str
    image: ImageInfo
    elapsed_ms: float
    citations: list[Citation] = Field(default_factory=list)


class ImagePromptService:
    def __init__(self, settings: Settings, vision: VisionService, notes: NotesService) -> None:
        self.settings = settings
        self.vision = vision
        self.notes = notes

    def modifiers(self) -> list[dict]:
        path = self.notes.notes_dir / MODIFIERS_FILE
        return [row for row in yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER) or []
                if isinstance(row, dict) and row.get("term") and row.get("category")]

    async def term_embeddings(self, rows: list[dict], model: str):
        """(N, D) embeddings of the modifier terms, from the disk cache when model and data are unchanged."""
        import numpy as np

        source = self.settings.models[model].source
        key = hashlib.sha256("\n".join([model, source, *(r["term"] for r in rows)]).encode()).hexdigest()[:24]
        cache = _cache_dir() / f"{key}.npy"
        if cache.is_file():
            return np.load(cache)
        terms = [r["term"] for r in rows]
        parts = [(await self.vision.embed_texts(terms[i : i + 100], model)).numpy() for i in range(0, len(terms), 100)]
        vectors = np.concatenate(parts).astype(np.float32)
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(partial, vectors)
        os.replace(partial, cache)
        return vectors

    async def image_to_prompt(self, image: str, mode: str = "classic") -> ImagePromptResult:
        start = time.perf_counter()
        mode = validated(PromptMode, mode, "mode")
        match_model = self.vision.embedding_model(self.settings.index.model)
        caption_result = await self.vision.caption(image)
        caption = caption_result.captions[0]
        rows = self.modifiers()
        vectors = await self.term_embeddings(rows, match_model)
        _, image_vector = await self.vision.embed_image(image, match_model)
        itc = (image_vector.float().numpy() @ vectors.T).max(axis=0)  # best query row, as BLIP-2's ITC
        chosen: list[tuple[int, float | None]] = []
        if mode == "fast":
            usable = [i for i, r in enumerate(rows) if r["category"] not in ("subject", "negative")]
            chosen = [(i, None) for i in sorted(usable, key=lambda i: -itc[i])[:FAST_COUNT]]
        elif mode == "negative":
            usable = [i for i, r in enumerate(rows) if r["category"] == "negative"]
            chosen = [(i, None) for i in sorted(usable, key=lambda i: itc[i])[:NEGATIVE_COUNT]]
        else:
            for category in CLASSIC_CATEGORIES:
                candidates = sorted((i for i, r in enumerate(rows) if r["category"] == category),
                                    key=lambda i: -itc[i])[:CANDIDATES]
                if not candidates:
                    continue
                scores = await self.vision.match(image, [f"{caption}, {rows[i]['term']}" for i in candidates],
                                                 "itm", match_model)
                best = max(range(len(candidates)), key=lambda n: scores.scores[n].score)
                chosen.append((candidates[best], scores.scores[best].score))
        modifiers = [ChosenModifier(term=rows[i]["term"], category=rows[i]["category"],
                                    effect=str(rows[i].get("effect", "")), itc=round(float(itc[i]), 6),
                                    itm=None if itm is None else round(itm, 6),
                                    citation=self._cite(rows[i]["category"]))
                     for i, itm in chosen]
        terms = [m.term for m in modifiers]
        prompt = ", ".join(terms) if mode == "negative" else ", ".join([caption, *terms])
        limits = self.notes.citation(PAGE, LIMITS_ANCHOR)
        return ImagePromptResult(
            prompt=prompt, mode=mode, caption=caption, modifiers=modifiers, caption_model=caption_result.model,
            match_model=match_model, image=caption_result.image,
            elapsed_ms=round((time.perf_counter() - start) * 1000, 1), citations=[limits] if limits else [])

    def _cite(self, category: str) -> Citation:
        anchor = ANCHORS.get(category, category)
        found = self.notes.citation(PAGE, anchor)
        return found or Citation(title="Image prompts", url=self.notes.url(PAGE), uri=self.notes.uri(PAGE))


def _cache_dir() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "ai-notes-mcp" / "modifier-embeddings"
