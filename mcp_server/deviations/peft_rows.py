"""Each row of a batch through its own LoRA adapter: PEFT's mixed adapter batches, handed to the LoRA layers by us.

PEFT documents mixed batches as an argument of its model wrapper: ``PeftModel.generate(..., adapter_names=[...])``
(one name per row, ``"__base__"`` for the base model). Its wrapper then puts the names on every LoRA layer with
forward pre-hooks for the length of the call, repeating each name ``num_beams`` times for beam search. Our
backends do not call the wrapper: they call the model's parts (BLIP's question encoder, then its answer decoder's
``generate``; BLIP-2's Q-Former, then its language model's ``generate``), and the parts see different row counts
(a question encoder sees one row per image, its decoder one per beam or returned sequence). So we register the same
pre-hooks ourselves, once, on our own model instance, and give each layer the names for the rows it actually sees:
each request's name repeated ``rows // requests`` times, which is how ``generate`` lays out beams and returned
sequences (``repeat_interleave``: a request's rows are adjacent). Outside :meth:`RowAdapters.rows`, and for a
model part that runs without names, every row runs through the base model: an adapter never applies by accident.
The layers' own ``adapter_names`` forward (``LoraLayer._mixed_batch_forward``) does the arithmetic, untouched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch

BASE = "__base__"  # PEFT's name for "no adapter" in a mixed batch


class RowAdapters:
    """Per-row adapter names for every LoRA layer of one model; the base model for every row by default."""

    def __init__(self, model: torch.nn.Module) -> None:
        from peft.tuners.lora import LoraLayer

        self._names: list[str] = [BASE]
        self.layers = [m for m in model.modules() if isinstance(m, LoraLayer)]
        for layer in self.layers:
            layer.register_forward_pre_hook(self._hand_over, with_kwargs=True)

    @contextlib.contextmanager
    def rows(self, names: Sequence[str | None]) -> Iterator[None]:
        """Run the enclosed calls with ``names[i]`` (None: the base model) for request ``i``'s rows."""
        names = [name or BASE for name in names]
        self._names = names[:1] if len(set(names)) == 1 else names  # one name fits any number of rows
        try:
            yield
        finally:
            self._names = [BASE]

    def _hand_over(self, _module, args, kwargs):
        x = args[0] if args else kwargs["x"]
        rows, names = x.shape[0], self._names
        if rows % len(names):
            raise RuntimeError(f"internal error: {rows} rows cannot be shared out among {len(names)} requests")
        kwargs["adapter_names"] = [name for name in names for _ in range(rows // len(names))]
        return args, kwargs
