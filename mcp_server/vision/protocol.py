"""The small protocol every model family implements (``blip.py``, ``blip2.py``), and what the engine needs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import torch
    from PIL.Image import Image

    from .options import AnswerOptions, CaptionOptions, MatchMethod


class VisionBackend(Protocol):
    """A loaded checkpoint. The engine's worker calls encode / *_ids / match; the rest runs in callers' threads.

    ``features`` are the per-image outputs of the vision side, which the engine caches per image digest:
    whatever a family needs to answer later without seeing the pixels again.
    """

    family: str
    tasks: frozenset[str]

    def preprocess(self, image: Image) -> torch.Tensor:
        """One RGB image -> its pixel tensor (C, H, W). Runs outside the worker."""

    def encode(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) pixels -> (B, ...) features."""

    def caption_ids(self, features: torch.Tensor, options: CaptionOptions) -> torch.Tensor:
        """Token ids of ``options.num_captions`` captions per image, image-major: (B * n, T)."""

    def answer_ids(self, features: torch.Tensor, questions: list[str], options: AnswerOptions) -> torch.Tensor:
        """Token ids of one answer per (image, question) row: (B, T)."""

    def match(self, features: torch.Tensor, texts: list[list[str]], method: MatchMethod) -> list[list[float]]:
        """Scores of each image against its own texts, in input order."""

    def decode(self, ids: torch.Tensor, prompt: str | None = None) -> list[str]:
        """Token ids -> text. Runs outside the worker."""
