"""Hand BLIP's text side the padding mask its cross-attention is given but does not use.

Why: transformers 5 drops the encoder's padding mask on its way into the text side's cross-attention
(``BlipTextAttention.forward`` does not pass ``encoder_attention_mask`` on), so a question padded to share a
batch would attend to its padding and answer differently from the same question alone. A forward pre-hook on
our own model instances (the library's code untouched) hands the mask through; questions of any length then
batch together and every row equals a lone call.
"""

from __future__ import annotations


def pass_cross_attention_masks(model) -> None:
    """Give each cross-attention the padding mask its caller received but did not pass on."""

    def hand_over(_module, args, kwargs):
        if kwargs.get("encoder_hidden_states") is not None and kwargs.get("encoder_attention_mask") is None:
            kwargs["encoder_attention_mask"] = kwargs.get("attention_mask")
        return args, kwargs

    for module in model.modules():
        cross = getattr(module, "crossattention", None)  # BlipTextLayer's, in the text encoder and decoder
        if cross is not None:
            cross.self.register_forward_pre_hook(hand_over, with_kwargs=True)
