"""BLIP (Li et al., 2022): captioning, VQA and image-text matching checkpoints.

The calls follow the model cards and transformers' own ``generate`` methods, split in two so that the
vision encoder's output can be cached per image and reused by every later request:
``encode`` runs the vision transformer; the text side runs from those features. Two places where this
differs from calling the library as is (fused attention in the vision encoder, the cross-attention padding
mask) live in ``mcp_server/deviations/``, each with why and the test that holds it equal to the library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import torch
import transformers
from torch.nn.functional import normalize

from ..deviations.blip_cross_attention_mask import pass_cross_attention_masks
from ..deviations.blip_sdpa import vision_features
from .generation import generate_kwargs
from .gradcam import CrossAttentionProbe, gradcam

if TYPE_CHECKING:
    from PIL.Image import Image

    from .options import AnswerOptions, CaptionOptions, MatchMethod

class TokenMaps(NamedTuple):
    """What an explanation computes for one row, before words are formed: per token, a map over the patches."""

    probability: float | None  # the ITM match probability (matching), None for captions
    tokens: list[str]  # WordPiece tokens, special ones included
    maps: torch.Tensor  # (len(tokens), side, side)
    logprobs: list[float] | None  # each token's log-probability (captions), None for matching


# config.json "architectures" -> the task that class serves
ARCHITECTURES = {
    "BlipForConditionalGeneration": "caption",
    "BlipForQuestionAnswering": "vqa",
    "BlipForImageTextRetrieval": "match",
}


class BlipBackend:
    """One loaded BLIP checkpoint behind the ``VisionBackend`` protocol; ``model`` is the transformers model."""

    family = "blip"

    def __init__(self, model, processor) -> None:
        self.model = model
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.text_config = model.config.text_config
        self.tasks = frozenset({ARCHITECTURES[type(model).__name__]})
        self.device = model.device
        self.dtype = model.dtype
        self.text_layers = self.text_config.num_hidden_layers
        pass_cross_attention_masks(model)

    @classmethod
    def load(cls, source: str, architecture: str, device: str, dtype: torch.dtype) -> BlipBackend:
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
            encoder_attention_mask=text["attention_mask"],  # honoured: see deviations/blip_cross_attention_mask.py
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

    # -- embeddings: the ITC space shared by images and texts (matching checkpoints) -----------------------------

    def embed_images(self, features: torch.Tensor) -> torch.Tensor:
        """(B, 1, D) normalised ITC embeddings: the projected image CLS token, as the ITC score uses it."""
        return normalize(self.model.vision_proj(features[:, 0, :]).float(), dim=-1)[:, None, :]

    def embed_texts(self, texts: list[str]) -> torch.Tensor:
        """(T, D) normalised ITC embeddings: the text encoder alone (no image), its projected CLS token."""
        max_length = self.text_config.max_position_embeddings
        text = self.tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        text = text.to(self.device)
        states = self.model.text_encoder(input_ids=text["input_ids"],
                                         attention_mask=text["attention_mask"]).last_hidden_state
        return normalize(self.model.text_proj(states[:, 0, :]).float(), dim=-1)

    # -- grounding: Grad-CAM through the text side's cross-attention (see gradcam.py) -------------------------

    def differentiable(self) -> list[torch.nn.Module]:
        """The modules that explanations take gradients through (the text side; the vision side never)."""
        if "match" in self.tasks:
            return [self.model.text_encoder, self.model.itm_head]
        if "caption" in self.tasks:
            return [self.model.text_decoder]
        return []

    def explain_match(self, features: torch.Tensor, texts: list[str], layer: int) -> list[TokenMaps]:
        """Per row: the ITM match probability, and each text token's map of the match logit (LAVIS's recipe)."""
        max_length = self.text_config.max_position_embeddings
        text = self.tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        text = text.to(self.device)
        cross = self.model.text_encoder.encoder.layer[layer].crossattention.self
        with torch.enable_grad(), CrossAttentionProbe(cross) as probe:
            states = self.model.text_encoder(
                input_ids=text["input_ids"], attention_mask=text["attention_mask"],
                encoder_hidden_states=features, encoder_attention_mask=self._ones(features),
            ).last_hidden_state
            logits = self.model.itm_head(states[:, 0, :]).float()
            (grads,) = torch.autograd.grad(logits[:, 1].sum(), probe.probs)
        maps = gradcam(probe.probs.detach(), grads)
        probabilities = logits.detach().softmax(dim=-1)[:, 1].tolist()
        rows = []
        for row, probability in enumerate(probabilities):
            length = int(text["attention_mask"][row].sum())
            tokens = self.tokenizer.convert_ids_to_tokens(text["input_ids"][row, :length].tolist())
            rows.append(TokenMaps(probability, tokens, maps[row, :length].cpu(), None))
        return rows

    def explain_caption(self, features: torch.Tensor, captions: list[str], layer: int) -> list[TokenMaps]:
        """Per row: the decoder run teacher-forced over the caption; each token's map of its own log-probability
        (one backward pass per token, so that a later word's gradient does not leak into an earlier map)."""
        cross = self.model.text_decoder.bert.encoder.layer[layer].crossattention.self
        rows = []
        for row, caption in enumerate(captions):
            ids = self.tokenizer(caption, truncation=True, max_length=self.text_config.max_position_embeddings,
                                 return_tensors="pt")["input_ids"].to(self.device)
            ids[:, 0] = self.text_config.bos_token_id  # as generate starts: [DEC], then the caption, then [SEP]
            image = features[row : row + 1]
            with torch.enable_grad(), CrossAttentionProbe(cross) as probe:
                logits = self.model.text_decoder(
                    input_ids=ids, attention_mask=torch.ones_like(ids), encoder_hidden_states=image,
                    encoder_attention_mask=self._ones(image),
                ).logits.float()
                # logits at position i predict token i + 1: the map of token i + 1 lives in query row i.
                logprobs = logits[0, :-1].log_softmax(dim=-1).gather(-1, ids[0, 1:, None])[:, 0]
                maps, values = [], logprobs.detach().tolist()
                for i in range(logprobs.shape[0]):
                    (grads,) = torch.autograd.grad(logprobs[i], probe.probs, retain_graph=True)
                    maps.append(gradcam(probe.probs.detach()[:, :, i : i + 1], grads[:, :, i : i + 1])[0, 0])
            tokens = self.tokenizer.convert_ids_to_tokens(ids[0, 1:].tolist())
            rows.append(TokenMaps(None, tokens, torch.stack(maps).cpu(), values))
        return rows
