"""Linear layers with their weights reordered once for oneDNN, for inference on the CPU.

A CPU ``nn.Linear`` hands its row-major weight to the matrix-multiply library on every call. Reordering each
weight once into oneDNN's own layout (``mkldnn._reorder_linear_weight``) and calling ``mkldnn._linear_pointwise``,
which is what inductor's freezing pass does for compiled models, runs the same products faster, eagerly, without
compiling anything (torch 2.13):

- bf16, on a CPU with native bf16 (AVX-512 BF16): about 2x at the decoder's shapes (a few rows against 768x768 ...
  768x30524 weights), 5-10% at the vision encoder's; the results are the plain layers' to the bit.
- float32 (AVX2, no native bf16, where ``dtype: auto`` is float32): 2.6-4.8x at 8 rows (OPT-2.7B's layers and
  head, BLIP's head), 1.1-1.5x at one row, 2-7% at the encoder's thousands of rows. Batched decoding gains most:
  torch's own fp32 kernel took 5.6x a one-row step for 8 rows of OPT-2.7B. The sums run in another order, so
  outputs differ from the plain layers' by float32 rounding (about 1e-6 of their size); greedy outputs equal.

``pack_linears`` does that to a loaded model; tests hold the packed model's outputs to the plain one's.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


def can_pack(device: str, dtype: torch.dtype) -> bool:
    """float32 on a CPU with oneDNN; bf16 where oneDNN also runs bf16 natively (elsewhere it would emulate it)."""
    if device != "cpu" or not torch.backends.mkldnn.is_available():
        return False
    return dtype == torch.float32 or (dtype == torch.bfloat16 and torch.ops.mkldnn._is_mkldnn_bf16_supported())


class PackedLinear(torch.nn.Module):
    """``nn.Linear`` inference from a weight reordered once; the bias stays the layer's own parameter.

    The packed op has no backward. A layer that explanations differentiate through (``keep_weight``) also keeps
    its plain weight, and runs ``F.linear`` on it while gradients are being recorded.
    """

    def __init__(self, linear: torch.nn.Linear, keep_weight: bool = False) -> None:
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.bias = linear.bias
        # An opaque oneDNN tensor, kept out of parameters and buffers: nothing saves, moves or inspects it.
        self.packed = torch.ops.mkldnn._reorder_linear_weight(linear.weight.detach())
        self.plain = linear.weight.detach() if keep_weight else None
        self.dtype = linear.weight.dtype

    @property
    def weight(self) -> torch.Tensor:
        """What modelling code reads of a linear's weight: its dtype and shape (mT5's feed-forward casts its input
        to ``wo.weight.dtype``). A meta tensor, so that any arithmetic with it fails loudly."""
        return torch.empty((self.out_features, self.in_features), dtype=self.dtype, device="meta")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.plain is not None and torch.is_grad_enabled():
            return torch.nn.functional.linear(x, self.plain, self.bias)
        return torch.ops.mkldnn._linear_pointwise(x.contiguous(), self.packed, self.bias, "none", [], "")

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


def pack_linears(model: torch.nn.Module, keep_weights_in: Iterable[torch.nn.Module] = ()) -> int:
    """Replace every ``nn.Linear`` of a packable dtype in ``model`` by a ``PackedLinear``; returns how many.

    Linears inside ``keep_weights_in`` keep their plain weight too, for gradients (explanations).
    A weight tied to an embedding stays with the embedding, so the output head then holds a packed copy.
    """
    keep = {id(m) for module in keep_weights_in for m in module.modules()}
    # Names, not the layers: holding every replaced layer until the end would keep two copies of the weights.
    targets = [(parent, name, id(child)) for parent in model.modules() for name, child in parent.named_children()
               if type(child) is torch.nn.Linear and can_pack(child.weight.device.type, child.weight.dtype)]
    with torch.no_grad():
        for parent, name, key in targets:
            setattr(parent, name, PackedLinear(getattr(parent, name), keep_weight=key in keep))
    return len(targets)
