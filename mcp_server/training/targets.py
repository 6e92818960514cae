"""Which layers get LoRA: the text side only, never the image encoder.

PEFT has no default targets for BLIP, and its BLIP-2 default (``q``, ``v``, ``q_proj``, ``v_proj`` by name) would
also reach into the Q-Former's and the vision encoder's projections wherever the names match. So the targets are
written out per family and task, as one regular expression over module names (PEFT matches it in full):

- BLIP captioning: the text decoder (``text_decoder.*``), in its self- and cross-attention;
- BLIP VQA: the question encoder and the answer decoder (``text_encoder.*``, ``text_decoder.*``);
- BLIP-2: the language model (``language_model.*``: OPT's ``q_proj``/``v_proj``, T5's ``q``/``v`` in self- and
  encoder-decoder attention), and with ``qformer`` also the Q-Former's attention (``qformer.*``).

``all`` (the default) adapts every linear layer of those parts (projections, attention outputs, feed-forward): QLoRA
(Dettmers et al., 2023) found LoRA on all of a transformer block's linear layers necessary to match full
fine-tuning, and "LoRA Without Regret" (Schulman et al., 2025) that attention-only LoRA underperforms even at equal
parameter counts. ``attention`` adapts the query and value projections only, the LoRA paper's choice for a fixed
budget (Hu et al., 2021, section 7.1). See notes/small-models.md#lora-targets.
"""

from __future__ import annotations

from ..errors import BadInputError

# Per family of text model: the leaf names of the attention's query/value projections, and of every linear layer.
ATTENTION = {"bert": ("query", "value"), "opt": ("q_proj", "v_proj"), "t5": ("q", "v")}
ALL_LINEAR = {
    "bert": ("query", "key", "value", "dense"),
    "opt": ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"),
    "t5": ("q", "k", "v", "o", "wi", "wi_0", "wi_1", "wo"),
}
TEXT_FAMILIES = {"opt": "opt", "t5": "t5", "mt5": "t5", "umt5": "t5"}  # a language model's model_type -> its names


def text_side(family: str, task: str) -> list[str]:
    """The model parts that make the text, whose layers are adapted (BLIP's Q-Former is separate: ``qformer``)."""
    if family == "blip":
        return ["text_encoder", "text_decoder"] if task == "vqa" else ["text_decoder"]
    return ["language_model"]


def target_modules(model, family: str, task: str, which: str, qformer: bool = False) -> str:
    """PEFT ``target_modules``: one pattern naming the adapted layers (matched against full module names)."""
    table = ATTENTION if which == "attention" else ALL_LINEAR
    if family == "blip":
        parts = [rf"({'|'.join(text_side(family, task))})\..*\.({'|'.join(table['bert'])})"]
    else:
        lm_type = model.config.text_config.model_type
        names = table.get(TEXT_FAMILIES.get(lm_type, ""))
        if names is None:
            raise BadInputError(f"finetune knows no LoRA targets for a {lm_type!r} language model; it adapts BLIP-2 "
                                f"models whose language model is one of: {', '.join(TEXT_FAMILIES)}")
        parts = [rf"language_model\..*\.({'|'.join(names)})"]
        if qformer:
            parts.append(rf"qformer\..*\.({'|'.join(table['bert'])})")
    return "|".join(f"({p})" for p in parts)
