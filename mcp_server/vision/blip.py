"""BLIP (Li et al., 2022): captioning, VQA and image-text matching checkpoints.

The calls follow the model cards and transformers' own ``generate`` methods, split in two so that the
vision encoder's output can be cached per image and reused by every later request:
``encode`` runs the vision transformer; the text side runs from those features.

transformers 5's BLIP attention is eager only (no ``attn_implementation``); at 577 tokens per image its two
batched products, scaling and softmax take about 40% of the encoder's time in bf16 on a CPU, which torch's
fused kernel roughly halves. ``vision_features`` runs the same modules with the attention computed by
``scaled_dot_product_attention``; a test holds it equal to the library's ``vision_model``.

The same library drops the encoder's padding mask on its way into the text side's cross-attention
(``BlipTextAttention.forward`` does not pass ``encoder_attention_mask`` on), so a question padded to share a
batch would attend to its padding. ``_pass_cross_attention_masks`` hooks our own instances (a forward
pre-hook, the library's code untouched) to hand the mask through; questions of any length then batch
together and every row equals a lone call (tested).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import transformers
from torch.nn.functional import normalize, scaled_dot_product_attention

from .generation import generate_kwargs

if TYPE_CHECKING:
    from PIL.Image import Image

    from .options import AnswerOptions, CaptionOptions, MatchMethod

# config.json "architectures" -> the task that class serves
ARCHITECTURES = {
    "BlipForConditionalGeneration": "caption",
    "BlipForQuestionAnswering": "vqa",
    "BlipForImageTextRetrieval": "match",
}


def vision_features(vision_model, pixel_values: torch.Tensor) -> torch.Tensor:
    """``vision_model(pixel_values).last_hidden_state``, with fused (SDPA) attention; same modules, same weights."""
    hidden = vision_model.embeddings(pixel_values)
    for layer in vision_model.encoder.layers:
        hidden = hidden + _self_attention(layer.self_attn, layer.layer_norm1(hidden))
        hidden = hidden + layer.mlp(layer.layer_norm2(hidden))
    return vision_model.post_layernorm(hidden)


def _self_attention(attention, hidden: torch.Tensor) -> torch.Tensor:
    """BlipAttention.forward's arithmetic: one qkv projection, softmax(q k^T * scale) v, the output projection."""
    batch, tokens, width = hidden.shape
    qkv = attention.qkv(hidden).view(batch, tokens, 3, attention.num_heads, attention.head_dim)
    # One copy into [3, batch, heads, tokens, head_dim] first: torch's CPU flash kernel is slower on the strided
    # views than the copy costs (encoder 2% faster at batch 8, same values).
    query, key, value = qkv.permute(2, 0, 3, 1, 4).contiguous().unbind(0)
    context = scaled_dot_product_attention(query, key, value, scale=attention.scale)
    return attention.projection(context.transpose(1, 2).reshape(batch, tokens, width))


def _pass_cross_attention_masks(model) -> None:
    """Give each cross-attention the padding mask its caller received but did not pass on (see the docstring)."""

    def hand_over(_module, args, kwargs):
        if kwargs.get("encoder_hidden_states") is not None and kwargs.get("encoder_attention_mask") is None:
            kwargs["encoder_attention_mask"] = kwargs.get("attention_mask")
        return args, kwargs

    for module in model.modules():
        cross = getattr(module, "crossattention", None)  # BlipTextLayer's, in the text encoder and decoder
        if cross is not None:
            cross.self.register_forward_pre_hook(hand_over, with_kwargs=True)


class BlipModel:
    family = "blip"

    def __init__(self, model, processor) -> None:
        self.model = model
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.text_config = model.config.text_config
        self.tasks = frozenset({ARCHITECTURES[type(model).__name__]})
        self.device = model.device
        self.dtype = model.dtype
        _pass_cross_attention_masks(model)

    @classmethod
    def load(cls, source: str, architecture: str, device: str, dtype: torch.dtype) -> BlipModel:
        model_class = getattr(transformers, architecture)
        model = model_class.from_pretrained(source, dtype=dtype).to(device).eval()
        processor = transformers.AutoProcessor.from_pretrained(source)
        return cls(model, processor)

    def preprocess(self, image: Image) -> torch.Tensor:
        return self.processor.image_processor(images=image, return_tensors="pt")["pixel_values"][0]

    def encode(self, pixel_values: torch.Tensor) -> torch.Tensor:
        pixel_values = pixel_values.to(self.device, self.dtype)
        return vision_features(self.model.vision_model, pixel_values)

    def _ones(self, features: torch.Tensor) -> torch.Tensor:
        return torch.ones(features.shape[:-1], dtype=torch.long, device=features.device)

    def caption_ids(self, features: torch.Tensor, options: CaptionOptions) -> torch.Tensor:
        batch = features.shape[0]
        if options.prompt:
            # As BlipForConditionalGeneration.generate: [DEC] + prompt tokens, without the closing [SEP].
            ids = self.tokenizer(options.prompt, return_tensors="pt")["input_ids"][:, :-1]
        else:
            ids = torch.zeros((1, 1), dtype=torch.long)
        ids[:, 0] = self.text_config.bos_token_id
        return self.model.text_decoder.generate(
            input_ids=ids.repeat(batch, 1).to(self.device),
            eos_token_id=self.text_config.sep_token_id,
            pad_token_id=self.text_config.pad_token_id,
            encoder_hidden_states=features,
            encoder_attention_mask=self._ones(features),
            **generate_kwargs(options),
        )

    def answer_ids(self, features: torch.Tensor, questions: list[str], options: AnswerOptions) -> torch.Tensor:
        text = self.tokenizer(questions, padding=True, return_tensors="pt").to(self.device)
        question_states = self.model.text_encoder(
            input_ids=text["input_ids"],
            attention_mask=text["attention_mask"],
            encoder_hidden_states=features,
            encoder_attention_mask=self._ones(features),
        ).last_hidden_state
        bos = torch.full((features.shape[0], 1), self.text_config.bos_token_id, device=self.device)
        return self.model.text_decoder.generate(
            input_ids=bos,
            eos_token_id=self.text_config.sep_token_id,
            pad_token_id=self.text_config.pad_token_id,
            encoder_hidden_states=question_states,
            encoder_attention_mask=text["attention_mask"],  # honoured: see _pass_cross_attention_masks
            max_new_tokens=options.max_new_tokens,
            num_beams=options.num_beams,
            do_sample=False,
        )

    def match(self, features: torch.Tensor, texts: list[list[str]], method: MatchMethod) -> list[list[float]]:
        # One row per (image, text) pair, image-major, then split back per image.
        flat = [t for group in texts for t in group]
        rows = torch.repeat_interleave(torch.tensor([len(g) for g in texts], device=features.device), 1)
        image_states = torch.repeat_interleave(features, rows, dim=0)
        max_length = self.text_config.max_position_embeddings
        text = self.tokenizer(flat, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        text = text.to(self.device)
        if method == "itm":
            states = self.model.text_encoder(
                input_ids=text["input_ids"],
                attention_mask=text["attention_mask"],
                encoder_hidden_states=image_states,
                encoder_attention_mask=self._ones(image_states),
            ).last_hidden_state
            scores = self.model.itm_head(states[:, 0, :]).float().softmax(dim=-1)[:, 1]
        else:
            states = self.model.text_encoder(
                input_ids=text["input_ids"], attention_mask=text["attention_mask"]
            ).last_hidden_state
            image_feat = normalize(self.model.vision_proj(image_states[:, 0, :]).float(), dim=-1)
            text_feat = normalize(self.model.text_proj(states[:, 0, :]).float(), dim=-1)
            scores = (image_feat * text_feat).sum(dim=-1)
        values = scores.tolist()
        out, start = [], 0
        for group in texts:
            out.append(values[start : start + len(group)])
            start += len(group)
        return out

    def decode(self, ids: torch.Tensor, prompt: str | None = None) -> list[str]:
        return [t.strip() for t in self.tokenizer.batch_decode(ids, skip_special_tokens=True)]
