"""From Grad-CAM maps over the patch grid to what a caller can use: words, boxes, a coarse grid, a picture.

- ``words``: WordPiece tokens merged into words (a "##" piece joins the word before it); a word's map is the
  mean of its pieces' maps and its log-probability their sum.
- ``regions``: the strongest connected areas of a map, as boxes in the ORIGINAL image's pixels. The processor
  stretches the image to a square, so patch column c of S covers x in [c*W/S, (c+1)*W/S) exactly.
- ``coarse_grid``: the map pooled to a few cells a side, normalised to [0, 1], for the structured content.
- ``overlay`` / ``contact_sheet``: LAVIS's ``getAttMap`` (normalise, bicubic up-sampling, Gaussian blur of
  0.02 x the long side, the jet colour map, alpha = map ** 0.7) with PIL and numpy, as a small palette PNG.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

SPECIAL_TOKENS = frozenset({"[CLS]", "[SEP]", "[PAD]", "[DEC]", "[ENC]", "[MASK]"})
MAX_PNG_SIDE = 512
MIN_PNG_SIDE = 256  # small images are scaled up so the map can be seen
MAX_PNG_BYTES = 150_000  # "well under" the 200 kB that some clients choke on
GRID_CELLS = 8


@dataclass(frozen=True)
class Word:
    text: str
    map: np.ndarray  # (side, side), non-negative
    logprob: float | None


def words(tokens: Sequence[str], maps: np.ndarray, logprobs: Sequence[float] | None = None) -> list[Word]:
    """Merge WordPiece tokens into words, skipping special tokens (and any piece with no word to join)."""
    groups: list[tuple[str, list[int]]] = []
    for i, token in enumerate(tokens):
        if token in SPECIAL_TOKENS:
            continue
        if token.startswith("##") and groups and groups[-1][1][-1] == i - 1:
            text, indices = groups[-1]
            groups[-1] = (text + token[2:], [*indices, i])
        else:
            groups.append((token.removeprefix("##"), [i]))
    return [Word(text, maps[indices].mean(axis=0),
                 None if logprobs is None else float(sum(logprobs[i] for i in indices)))
            for text, indices in groups]


def whole(words: Sequence[Word], shape: tuple[int, ...]) -> np.ndarray:
    """The map of a whole text: the mean of its words' maps (LAVIS averages its tokens' maps)."""
    return np.mean([w.map for w in words], axis=0) if words else np.zeros(tuple(shape))


def normalised(cam: np.ndarray) -> np.ndarray:
    cam = np.clip(cam.astype(np.float64), 0, None)
    top = cam.max()
    return cam / top if top > 0 else cam


@dataclass(frozen=True)
class Box:
    x0: int
    y0: int
    x1: int
    y1: int
    score: float  # the region's share of the whole map


def regions(cam: np.ndarray, width: int, height: int, *, top: int = 3, threshold: float = 0.5) -> list[Box]:
    """The ``top`` connected areas (4-neighbours) where the map is at least ``threshold`` of its maximum."""
    cam = normalised(cam)
    total = cam.sum()
    if total <= 0:
        return []
    side_y, side_x = cam.shape
    hot = cam >= threshold
    seen = np.zeros_like(hot)
    found = []
    for start in zip(*np.nonzero(hot), strict=True):
        if seen[start]:
            continue
        stack, cells = [start], []
        seen[start] = True
        while stack:
            r, c = stack.pop()
            cells.append((r, c))
            for nr, nc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                if 0 <= nr < side_y and 0 <= nc < side_x and hot[nr, nc] and not seen[nr, nc]:
                    seen[nr, nc] = True
                    stack.append((nr, nc))
        rows, cols = [r for r, _ in cells], [c for _, c in cells]
        found.append(Box(
            x0=math.floor(min(cols) * width / side_x), y0=math.floor(min(rows) * height / side_y),
            x1=min(width, math.ceil((max(cols) + 1) * width / side_x)),
            y1=min(height, math.ceil((max(rows) + 1) * height / side_y)),
            score=round(float(sum(cam[r, c] for r, c in cells) / total), 4)))
    return sorted(found, key=lambda box: -box.score)[:top]


def coarse_grid(cam: np.ndarray, cells: int = GRID_CELLS) -> list[list[float]]:
    """The map averaged over ``cells`` x ``cells`` blocks, normalised to [0, 1], rows top to bottom."""
    cam = normalised(cam)
    side = cam.shape[0]
    cells = min(cells, side)
    edges = [round(i * side / cells) for i in range(cells + 1)]
    pooled = np.array([[cam[edges[r]:edges[r + 1], edges[c]:edges[c + 1]].mean() for c in range(cells)]
                       for r in range(cells)])
    return [[round(float(v), 3) for v in row] for row in normalised(pooled)]


def _blur(values: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur as two matrix products (rows, then columns), each kernel row renormalised at the edges."""

    def kernel(n: int) -> np.ndarray:
        offsets = np.arange(n)[:, None] - np.arange(n)[None, :]
        weights = np.exp(-0.5 * (offsets / max(sigma, 1e-6)) ** 2)
        return weights / weights.sum(axis=1, keepdims=True)

    return kernel(values.shape[0]) @ values @ kernel(values.shape[1]).T


def _jet(values: np.ndarray) -> np.ndarray:
    """Matplotlib's "jet" colour map, from its piecewise-linear definition: (H, W) in [0, 1] -> (H, W, 3)."""
    return np.stack([np.clip(1.5 - np.abs(4 * values - shift), 0, 1) for shift in (3, 2, 1)], axis=-1)


def overlay(image: Image.Image, cam: np.ndarray, long_side: int) -> Image.Image:
    """LAVIS's getAttMap: the map up-sampled, blurred, coloured and blended over the image."""
    scale = long_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    base = np.asarray(image.convert("RGB").resize(size, Image.Resampling.BICUBIC), dtype=np.float64) / 255
    heat = Image.fromarray(normalised(cam).astype(np.float32), mode="F").resize(size, Image.Resampling.BICUBIC)
    alpha = normalised(_blur(np.asarray(heat, dtype=np.float64), 0.02 * max(size)))[..., None] ** 0.7
    blended = (1 - alpha) * base + alpha * _jet(alpha[..., 0] ** (1 / 0.7))
    return Image.fromarray(np.clip(blended * 255, 0, 255).astype(np.uint8), mode="RGB")


def contact_sheet(image: Image.Image, tiles: Sequence[tuple[str, np.ndarray]]) -> Image.Image:
    """One labelled overlay per (label, map), laid out to make the tiles as large as ``MAX_PNG_SIDE`` allows."""
    if len(tiles) == 1:
        return overlay(image, tiles[0][1], _fit(max(image.size)))
    label_height, aspect = 14, image.width / image.height

    def tile_width(cols: int) -> float:  # the widest tile for this many columns
        rows = math.ceil(len(tiles) / cols)
        return min(MAX_PNG_SIDE / cols, (MAX_PNG_SIDE / rows - label_height) * aspect)

    cols = max(range(1, len(tiles) + 1), key=tile_width)
    rows = math.ceil(len(tiles) / cols)
    width = int(tile_width(cols))
    height = max(1, round(width / aspect))
    sheet = Image.new("RGB", (cols * width, rows * (height + label_height)), "white")
    draw = ImageDraw.Draw(sheet)
    for n, (label, cam) in enumerate(tiles):
        x, y = (n % cols) * width, (n // cols) * (height + label_height)
        draw.text((x + 2, y + 1), label[:28], fill="black")
        sheet.paste(overlay(image, cam, max(width, height)), (x, y + label_height))
    return sheet


def _fit(long_side: int) -> int:
    return max(MIN_PNG_SIDE, min(MAX_PNG_SIDE, long_side))


def png(picture: Image.Image) -> bytes:
    """A small PNG: a 256-colour palette (large image results break some clients), fewer colours if needed.

    The palette is chosen by median cut on a quarter-size copy and then applied to every pixel: median cut on the
    whole picture took about 300 ms, most of an explanation's time, for the same look (fast octree, the other quick
    method, bands smooth gradients into blocks)."""
    small = picture.resize((max(1, picture.width // 4), max(1, picture.height // 4)), Image.Resampling.BILINEAR)
    for colours in (256, 128, 64, 32):
        buffer = io.BytesIO()
        palette = small.quantize(colours, method=Image.Quantize.MEDIANCUT)
        picture.quantize(palette=palette, dither=Image.Dither.NONE).save(buffer, "PNG", optimize=True)
        if buffer.tell() <= MAX_PNG_BYTES:
            return buffer.getvalue()
    return buffer.getvalue()
