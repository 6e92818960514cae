"""Grad-CAM on a text side's cross-attention (Selvaraju et al., 2017, as the BLIP authors apply it in LAVIS).

The text tokens attend to the image's patches through cross-attention in every layer. For one layer, the
map of a score over the patches is the attention probabilities times their positive gradient with respect to
that score, averaged over the heads, one row per text token (LAVIS's ``compute_gradcam``). The image's CLS
token (column 0) is dropped and the rest reshaped to the patch grid.

``CrossAttentionProbe`` keeps one layer's attention probabilities during a forward pass (a forward hook on our
own model instance, removed afterwards), so that their gradient can be taken; nothing in the library changes.
"""

from __future__ import annotations

import math

import torch


class CrossAttentionProbe:
    """While active, holds the attention probabilities a cross-attention module returns, kept in the graph."""

    def __init__(self, attention_module: torch.nn.Module) -> None:
        self.module = attention_module
        self.probs: torch.Tensor | None = None
        self._handle = None

    def __enter__(self) -> CrossAttentionProbe:
        def keep(_module, _args, output):
            self.probs = output[1]  # (context, attention_probs): see BlipTextSelfAttention.forward

        self._handle = self.module.register_forward_hook(keep)
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.remove()


def gradcam(probs: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
    """(B, heads, T, 1 + P) probabilities and gradients -> (B, T, side, side) maps over the P = side**2 patches."""
    cams = probs[..., 1:].float() * grads[..., 1:].float().clamp(min=0)
    maps = cams.mean(dim=1)
    side = math.isqrt(maps.shape[-1])
    return maps.reshape(*maps.shape[:-1], side, side)
