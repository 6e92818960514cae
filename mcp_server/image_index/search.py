"""Exact search over the index's embeddings with numpy: every score is a cosine, nothing is approximated.

Queries against quantized indexes lose the text-to-image ranking quality that matters here (clip-retrieval's
experience), and 100,000 images x 256 dimensions is 100 MB of float32 and a few milliseconds of matrix product.
An image's embedding may hold several rows (BLIP-2's queries): its score is the best row's, as BLIP-2's ITC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Matrix:
    """The embeddings of one model's rows, loaded once and reused until the index changes."""

    paths: list[str]
    vectors: np.ndarray  # (N, queries, dim) float32
    sizes: np.ndarray
    widths: np.ndarray
    heights: np.ndarray
    captions: list[str | None]
    sha256: list[str]

    @classmethod
    def from_rows(cls, rows) -> Matrix:
        if not rows:
            return cls([], np.zeros((0, 1, 1), np.float32), *(np.zeros(0, np.int64),) * 3, [], [])
        queries, dim = rows[0][5], rows[0][6]
        vectors = np.frombuffer(b"".join(r[4] for r in rows), dtype=np.float32).reshape(len(rows), queries, dim)
        return cls([r[0] for r in rows], vectors, np.array([r[1] for r in rows]), np.array([r[2] for r in rows]),
                   np.array([r[3] for r in rows]), [r[7] for r in rows], [r[8] for r in rows])

    def scores(self, query: np.ndarray) -> np.ndarray:
        """Cosine of every image with ``query`` ((dim,) normalised): the best of each image's rows."""
        if not self.paths:
            return np.zeros(0, np.float32)
        return (self.vectors @ query.astype(np.float32)).max(axis=1)


def top_k(scores: np.ndarray, k: int, mask: np.ndarray | None = None, min_score: float | None = None) -> list[int]:
    """Indices of the k best scores, best first (ties by index), among ``mask`` and at least ``min_score``."""
    keep = np.ones(scores.shape[0], bool) if mask is None else mask.copy()
    if min_score is not None:
        keep &= scores >= min_score
    candidates = np.flatnonzero(keep)
    if candidates.size > k:
        part = np.argpartition(-scores[candidates], k - 1)[:k]
        candidates = candidates[part]
    return sorted(candidates.tolist(), key=lambda i: (-float(scores[i]), i))
