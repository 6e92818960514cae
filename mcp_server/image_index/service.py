"""ImageIndexService: index folders, search them by text or image, find duplicates. What tools and CLI call."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..arguments import validated
from ..config import Settings
from ..errors import AiNotesError, BadInputError, ImageError
from ..vision.service import VisionService
from . import scan, search
from .options import Folder, Hits, MinScore, QueryText, Threshold
from .results import (
    DuplicateGroup,
    DuplicatesResult,
    FolderCount,
    ImageHit,
    IndexFailure,
    IndexReport,
    IndexStatus,
    SearchImagesResult,
)
from .store import Row, Store

Progress = Callable[[int, int], Awaitable[None]]  # (done, total)
CHUNK = 32  # images embedded (and committed) together
THUMBNAIL_SIDE = 96
THUMBNAIL_BUDGET = 120_000  # bytes of thumbnails per search result; large results break some clients
RRF_K = 60  # reciprocal rank fusion's constant (Cormack et al.)


def default_index_path() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "ai-notes-mcp" / "images.sqlite"


@dataclass(frozen=True)
class Found:
    hits: SearchImagesResult
    thumbnails: list[bytes]  # JPEG bytes, one per hit while the budget lasts


class ImageIndexService:
    def __init__(self, settings: Settings, vision: VisionService) -> None:
        self.settings = settings
        self.vision = vision
        self.path = Path(settings.index.path).expanduser() if settings.index.path else default_index_path()
        self._store: Store | None = None
        self._matrix: tuple[tuple[int, int, str], search.Matrix] | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.path)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    @property
    def model(self) -> str:
        return self.vision.embedding_model(self.settings.index.model)

    # -- folders the caller may index ---------------------------------------------------------------------

    def _folder(self, folder: str) -> Path:
        folder = validated(Folder, folder, "folder")
        path = Path(os.path.expanduser(folder))
        try:
            resolved = path.resolve(strict=True)
        except (OSError, RuntimeError):
            raise BadInputError(f"folder {folder[:80]!r} does not exist; pass a folder of images") from None
        if not resolved.is_dir():
            raise BadInputError(f"{folder[:80]!r} is a file, not a folder; pass the folder that holds the images")
        roots = [Path(os.path.expanduser(r)).resolve() for r in self.settings.images.allowed_roots]
        if roots and not any(resolved.is_relative_to(root) for root in roots):
            raise BadInputError(f"folder {folder[:80]!r} is outside images.allowed_roots; use a folder under "
                                f"{', '.join(str(r) for r in roots)}")
        if not roots and not self.vision.local_paths:
            raise BadInputError("folders are not readable over HTTP unless images.allowed_roots is set")
        return resolved

    # -- indexing -------------------------------------------------------------------------------------------

    async def index(self, folder: str, recursive: bool = True, captions: bool = False,
                    progress: Progress | None = None) -> IndexReport:
        """Bring the index up to date with ``folder``: embed new and changed files, move renamed ones, drop
        vanished ones. Bounded per call by index.max_files embeddings and index.max_seconds; call again to go on."""
        start = time.perf_counter()
        root = self._folder(folder)
        model = self.model
        await asyncio.to_thread(self.vision.engine, model)  # a missing model fails the call once, up front
        found = await asyncio.to_thread(lambda: list(scan.walk(root, recursive)))
        existing = await asyncio.to_thread(self.store.rows_under, str(root))
        if not recursive:
            existing = {p: v for p, v in existing.items() if os.path.dirname(p) == str(root)}
        on_disk = {f.path for f in found}
        changed = [f for f in found if existing.get(f.path, (None, None))[:2] != (f.size, f.mtime_ns)]
        vanished = {p: sha for p, (_, _, sha) in existing.items() if p not in on_disk}

        # Hash first (cheap), so that renames and touched-but-unchanged files are settled before any embedding.
        hashed, failures = await asyncio.to_thread(self._hash_all, changed)
        by_sha = {}
        for path, sha in vanished.items():
            by_sha.setdefault(sha, []).append(path)
        renames, touched, to_embed = [], [], []
        for item, sha in hashed:
            if item.path in existing and existing[item.path][2] == sha:
                touched.append(item)
            elif by_sha.get(sha):
                renames.append((by_sha[sha].pop(), item.path))
            else:
                to_embed.append((item, sha))
        removed = [p for paths in by_sha.values() for p in paths]
        await asyncio.to_thread(self.store.write, (), removed, renames)
        for item in touched:
            await asyncio.to_thread(self.store.touch, item.path, item.size, item.mtime_ns)

        limits = self.settings.index
        budget = to_embed[: limits.max_files]
        added = updated = done = 0
        for offset in range(0, len(budget), CHUNK):
            if time.perf_counter() - start > limits.max_seconds:
                break
            chunk = budget[offset : offset + CHUNK]
            rows, chunk_failures = await self._embed_chunk(chunk, model, captions)
            await asyncio.to_thread(self.store.write, rows)
            failures += chunk_failures
            for row in rows:
                if row.path in existing:
                    updated += 1
                else:
                    added += 1
            done += len(chunk)
            if progress is not None:
                await progress(done, len(to_embed))
        remaining = len(to_embed) - done
        return IndexReport(
            folder=str(root), added=added, updated=updated, renamed=len(renames), removed=len(removed),
            unchanged=len(found) - len(changed) + len(touched), failed=len(failures), failures=failures[:50],
            remaining=remaining, complete=remaining == 0, model=model, index_path=str(self.path),
            elapsed_ms=round((time.perf_counter() - start) * 1000, 1))

    def _hash_all(self, items: list[scan.Found]) -> tuple[list[tuple[scan.Found, str]], list[IndexFailure]]:
        hashed, failures = [], []
        limit = self.settings.images.max_bytes
        for item in items:
            if item.size > limit:
                failures.append(IndexFailure(path=item.path, error=f"larger than {limit:,} bytes (images.max_bytes)"))
                continue
            try:
                with open(item.path, "rb") as file:
                    hashed.append((item, hashlib.sha256(file.read(limit + 1)).hexdigest()))
            except OSError as exc:
                failures.append(IndexFailure(path=item.path, error=f"cannot read the file ({exc.strerror or exc})"))
        return hashed, failures

    async def _embed_chunk(self, chunk, model: str, captions: bool) -> tuple[list[Row], list[IndexFailure]]:
        async def one(item: scan.Found, sha: str) -> Row | IndexFailure:
            try:
                loaded, vector = await self.vision.embed_image(item.path, model)
                caption = (await self.vision.caption(item.path)).captions[0] if captions else None
            except AiNotesError as exc:
                return IndexFailure(path=item.path, error=str(exc))
            return Row(item.path, item.size, item.mtime_ns, sha, loaded.width, loaded.height, model,
                       vector.float().numpy(), caption)

        done = await asyncio.gather(*(one(item, sha) for item, sha in chunk))
        return [r for r in done if isinstance(r, Row)], [r for r in done if isinstance(r, IndexFailure)]

    # -- searching --------------------------------------------------------------------------------------------

    def _matrix_for(self, model: str) -> search.Matrix:
        key = (self.store.generation, self.store.data_version(), model)
        if self._matrix is None or self._matrix[0] != key:
            self._matrix = (key, search.Matrix.from_rows(self.store.all_rows(model)))
        return self._matrix[1]

    async def search(self, text: str | None = None, image: str | None = None, k: int = 10,
                     folder: str | None = None, min_score: float | None = None, match: str = "meaning") -> Found:
        """Images most like ``text``, ``image`` or both (the mean of the two cosines), best first."""
        start = time.perf_counter()
        text = validated(QueryText, text, "text")
        k, min_score = validated(Hits, k, "k"), validated(MinScore, min_score, "min_score")
        if text is None and image is None:
            raise BadInputError("give text, image or both: what to look for")
        if match != "meaning" and text is None:
            raise BadInputError(f"match={match!r} searches caption words: give text")
        model = self.model
        matrix = await asyncio.to_thread(self._matrix_for, model)
        mask = None
        if folder is not None:
            prefix = str(self._folder(folder)) + os.sep
            mask = np.array([p.startswith(prefix) for p in matrix.paths], bool)
        scores = np.zeros(len(matrix.paths), np.float32)
        parts = 0
        if text is not None and match in ("meaning", "both"):
            query = (await self.vision.embed_texts([text], model))[0].numpy()
            scores += matrix.scores(query)
            parts += 1
        if image is not None:
            _, vector = await self.vision.embed_image(image, model)
            query = vector.float().numpy().mean(axis=0)
            scores += matrix.scores(query / max(np.linalg.norm(query), 1e-12))
            parts += 1
        if parts:
            scores /= parts
        if text is not None and match in ("words", "both"):
            scores = self._with_keywords(matrix, scores, text, match, parts > 0)
        if match == "words":
            mask = np.isfinite(scores) if mask is None else mask & np.isfinite(scores)
        order = search.top_k(scores, k, mask, min_score)
        hits = [ImageHit(path=matrix.paths[i], score=round(float(scores[i]), 6), size=int(matrix.sizes[i]),
                         width=int(matrix.widths[i]), height=int(matrix.heights[i]), caption=matrix.captions[i])
                for i in order]
        result = SearchImagesResult(hits=hits, model=model, searched=int(mask.sum() if mask is not None else
                                                                           len(matrix.paths)),
                                    elapsed_ms=round((time.perf_counter() - start) * 1000, 1))
        return Found(result, await asyncio.to_thread(_thumbnails, [h.path for h in hits]))

    def _with_keywords(self, matrix: search.Matrix, scores: np.ndarray, text: str, match: str,
                       have_vectors: bool) -> np.ndarray:
        """``words``: BM25 over the captions (no match: -inf); ``both``: reciprocal rank fusion of the two lists."""
        position = {p: i for i, p in enumerate(matrix.paths)}
        keyword = np.full(len(matrix.paths), -np.inf, np.float32)
        for path, score in self.store.keyword_hits(text, limit=max(1, len(matrix.paths))):
            if path in position:
                keyword[position[path]] = score
        if match == "words" or not have_vectors:
            return keyword
        fused = np.zeros(len(matrix.paths), np.float32)
        matched = [i for i in np.argsort(-keyword, kind="stable") if np.isfinite(keyword[i])]
        for ranking in (np.argsort(-scores, kind="stable"), matched):
            for rank, i in enumerate(ranking):  # each list gives 1 / (k + rank); absent from a list, nothing
                fused[i] += 1.0 / (RRF_K + rank + 1)
        return fused

    # -- duplicates and status -----------------------------------------------------------------------------

    async def duplicates(self, folder: str, threshold: float = 0.95) -> DuplicatesResult:
        root = self._folder(folder)
        threshold = validated(Threshold, threshold, "threshold")
        matrix = await asyncio.to_thread(self._matrix_for, self.model)
        prefix = str(root) + os.sep
        members = [i for i, p in enumerate(matrix.paths) if p.startswith(prefix)]
        groups = await asyncio.to_thread(_group_duplicates, matrix, members, threshold)
        return DuplicatesResult(groups=groups, folder=str(root), images=len(members), threshold=threshold)

    def status(self) -> IndexStatus:
        count, folders, models, last = self.store.summary()
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file())
        return IndexStatus(index_path=str(self.path), images=count, models=models, last_indexed=last,
                           folders=[FolderCount(folder=f, images=n) for f, n in folders], size_bytes=size)


def _group_duplicates(matrix: search.Matrix, members: list[int], threshold: float) -> list[DuplicateGroup]:
    """Exact copies by hash; near copies by cosine of the images' mean embeddings, joined transitively."""
    groups: list[DuplicateGroup] = []
    by_sha: dict[str, list[int]] = {}
    for i in members:
        by_sha.setdefault(matrix.sha256[i], []).append(i)
    for same in by_sha.values():
        if len(same) > 1:
            groups.append(DuplicateGroup(kind="exact", paths=[matrix.paths[i] for i in same], similarity=1.0))
    heads = [same[0] for same in by_sha.values()]  # one file per distinct content
    if len(heads) < 2:
        return groups
    vectors = matrix.vectors[heads].mean(axis=1)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    parent = list(range(len(heads)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    lowest: dict[tuple[int, int], float] = {}
    for start in range(0, len(heads), 1024):  # blocks of rows: memory stays bounded for large folders
        sims = vectors[start : start + 1024] @ vectors.T
        for a, b in zip(*np.nonzero(sims >= threshold), strict=True):
            i, j = start + int(a), int(b)
            if i < j:
                parent[find(i)] = find(j)
                lowest[(i, j)] = float(sims[a, b])
    clusters: dict[int, list[int]] = {}
    for i in range(len(heads)):
        clusters.setdefault(find(i), []).append(i)
    for cluster in clusters.values():
        if len(cluster) > 1:
            inside = [v for (i, j), v in lowest.items() if i in cluster and j in cluster]
            groups.append(DuplicateGroup(kind="similar", paths=sorted(matrix.paths[heads[i]] for i in cluster),
                                         similarity=round(min(inside), 4)))
    return groups


def _thumbnails(paths: list[str]) -> list[bytes]:
    """Small JPEG thumbnails of the hits, while the byte budget lasts; an unreadable file is skipped."""
    from PIL import Image

    out, used = [], 0
    for path in paths:
        try:
            with Image.open(path) as image:
                image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
                buffer = io.BytesIO()
                image.convert("RGB").save(buffer, "JPEG", quality=80)
        except (OSError, ValueError, ImageError, Image.DecompressionBombError):
            continue
        if used + buffer.tell() > THUMBNAIL_BUDGET:
            break
        out.append(buffer.getvalue())
        used += buffer.tell()
    return out
