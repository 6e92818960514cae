"""Linear layers with their weights reordered once for oneDNN, for inference on the CPU.

A CPU ``nn.Linear`` hands its row-major weight to the matrix-multiply library on every call. Reordering each
weight once into oneDNN's own layout (``mkldnn._reorder_linear_weight``) and calling ``mkldnn._linear_pointwise``,
which is what inductor's freezing pass does for compiled models, runs the same products faster, eagerly, without
compiling anything (torch 2.13):

- bf16, on a CPU with native bf16 (AVX-512 BF16): about 2x at the decoder's shapes (a few rows against 768x768 ...
  768x30524 weights), 5-10% at the vision encoder's; the results are the plain layers' to the bit.
- float32 (AVX2, no native bf16, where ``dtype: auto`` is float32), layers of at least ``MIN_FP32_WEIGHTS``:
  2.6-4.8x at 8 rows (OPT-2.7B's layers and head, BLIP's head), 1.1-1.5x at one row, 2-7% at the encoder's
  thousands of rows; smaller layers keep torch's kernel, whose calls cost less. Batched decoding gains most:
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


# A float32 layer is packed only from this many weights (8 MB) up: oneDNN's call costs about 0.1 ms more than
# torch's own kernel (a 32x32 layer at one row: 94 us against 14 us), which only a large weight repays (768x768:
# 0.78x at one row; 768x3072: 1.3x at one row, 2.9x at eight). bf16 is packed at every size, as measured on its CPUs.
MIN_FP32_WEIGHTS = 2**21


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


def pack_linears(model: torch.nn.Module, keep_weights_in: Iterable[torch.nn.Module] = (),
                 min_fp32_weights: int = MIN_FP32_WEIGHTS) -> int:
    """Replace every ``nn.Linear`` in ``model`` that packing speeds up by a ``PackedLinear``; returns how many.

    Linears inside ``keep_weights_in`` keep their plain weight too, for gradients (explanations).
    A weight tied to an embedding stays with the embedding, so the output head then holds a packed copy.
    """
    def worth_packing(layer: torch.nn.Module) -> bool:
        if type(layer) is not torch.nn.Linear or not can_pack(layer.weight.device.type, layer.weight.dtype):
            return False
        return layer.weight.dtype != torch.float32 or layer.weight.numel() >= min_fp32_weights

    keep = {id(m) for module in keep_weights_in for m in module.modules()}
    # Names, not the layers: holding every replaced layer until the end would keep two copies of the weights.
    targets = [(parent, name, id(child)) for parent in model.modules() for name, child in parent.named_children()
               if worth_packing(child)]
    with torch.no_grad():
        for parent, name, key in targets:
            setattr(parent, name, PackedLinear(getattr(parent, name), keep_weight=key in keep))
    return len(targets)
