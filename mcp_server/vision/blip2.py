"""BLIP-2 (Li et al., 2023): a frozen image encoder and a frozen language model bridged by the Q-Former.

Follows ``Blip2ForConditionalGeneration.generate``, split so that the Q-Former's projected query outputs
(the "soft visual prompt", a few dozen vectors per image) are what the engine caches.

Two kinds of language model, told apart by the checkpoint's text config, as transformers does:

- decoder-only (OPT, as Salesforce/blip2-opt-*): questions use the model card's prompt ``Question: {q} Answer:``,
  prompts are padded on the left and the caption continues the prompt;
- encoder-decoder (mT0 in mBLIP's Gregor/mblip-mt0-xl, Flan-T5): the query slots and the prompt go to the encoder,
  padded on the right (T5's relative positions would count padding between them), and the decoder writes the answer.
  As on mBLIP's model card, a prompt is an instruction ("Describe the image in German.") and a question is passed
  as it is; without a prompt the encoder reads what the processor gives for an empty text (T5's ``</s>``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

import torch
import transformers
from torch.nn.functional import normalize

from .generation import generate_kwargs

if TYPE_CHECKING:
    from PIL.Image import Image

    from .options import AnswerOptions, CaptionOptions, MatchMethod

QUESTION_PROMPT = "Question: {} Answer:"


class _Blip2Checkpoint:
    """What both BLIP-2 backends share: loading their transformers class and the processor, and preprocessing."""

    family = "blip-2"
    model_class: str  # the transformers class that loads the checkpoint

    def __init__(self, model, processor) -> None:
        self.model = model
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.config = model.config
        self.device = model.device
        self.dtype = model.dtype

    @classmethod
    def load(cls, source: str, architecture: str, device: str, dtype: torch.dtype) -> Self:
        model = getattr(transformers, cls.model_class).from_pretrained(source, dtype=dtype).to(device).eval()
        processor = transformers.AutoProcessor.from_pretrained(source)
        return cls(model, processor)

    def preprocess(self, image: Image) -> torch.Tensor:
        return self.processor.image_processor(images=image, return_tensors="pt")["pixel_values"][0]


class Blip2Backend(_Blip2Checkpoint):
    """One loaded BLIP-2 checkpoint behind the ``VisionBackend`` protocol; ``model`` is the transformers model."""

    model_class = "Blip2ForConditionalGeneration"
    tasks = frozenset({"caption", "vqa"})
    # The engine caches the Q-Former's projected queries, unless an adapter changes the Q-Former (see adapters.py):
    # then it caches the image encoder's output and the Q-Former runs with each request, through its adapter.
    queries_per_request = False

    def __init__(self, model, processor) -> None:
        super().__init__(model, processor)
        self.encoder_decoder = bool(model.config.text_config.is_encoder_decoder)
        # decoder-only: generation continues after the prompt's last token, so pad on the left
        self.tokenizer.padding_side = "right" if self.encoder_decoder else "left"

    def encode(self, pixel_values: torch.Tensor) -> torch.Tensor:
        pixel_values = pixel_values.to(self.device, self.dtype)
        if self.queries_per_request:
            return self.model.vision_model(pixel_values=pixel_values).last_hidden_state
        return self.model.get_image_features(pixel_values=pixel_values).pooler_output

    def queries(self, image_embeds: torch.Tensor) -> torch.Tensor:
        """The Q-Former's projected queries from the image encoder's output: the rest of ``get_image_features``."""
        mask = torch.ones(image_embeds.shape[:-1], dtype=torch.long, device=image_embeds.device)
        query_tokens = self.model.query_tokens.expand(image_embeds.shape[0], -1, -1)
        query_output = self.model.qformer(query_embeds=query_tokens, encoder_hidden_states=image_embeds,
                                          encoder_attention_mask=mask, return_dict=True)[0]
        return self.model.language_projection(query_output.to(image_embeds.dtype))  # as the library: Q-Former in fp32

    def _generate(self, features: torch.Tensor, prompts: list[str] | None, **kwargs) -> torch.Tensor:
        if self.queries_per_request:
            features = self.queries(features)
        batch, num_query = features.shape[0], self.config.num_query_tokens
        image_ids = torch.full((batch, num_query), self.config.image_token_id, dtype=torch.long)
        if prompts is None and not self.encoder_decoder:
            bos = self.config.text_config.bos_token_id
            text_ids = torch.full((batch, 1), bos, dtype=torch.long)
            text_mask = torch.ones_like(text_ids)
        else:
            text = self.tokenizer(prompts or [""] * batch, padding=True, return_tensors="pt")
            text_ids, text_mask = text["input_ids"], text["attention_mask"]
        # The processor's layout: the image's query slots, then the (padded) prompt.
        input_ids = torch.cat([image_ids, text_ids], dim=1).to(self.device)
        attention_mask = torch.cat([torch.ones_like(image_ids), text_mask], dim=1).to(self.device)
        embeds = self.model.get_input_embeddings()(input_ids)
        slots = (input_ids == self.config.image_token_id).unsqueeze(-1)
        embeds = embeds.masked_scatter(slots, features.to(embeds.device, embeds.dtype))
        if self.encoder_decoder:  # the decoder's output is the answer itself
            return self.model.language_model.generate(inputs_embeds=embeds, attention_mask=attention_mask, **kwargs)
        out = self.model.language_model.generate(
            inputs_embeds=embeds, attention_mask=attention_mask, input_ids=input_ids, **kwargs
        )
        return out[:, input_ids.shape[1] :]  # only the new tokens

    def caption_ids(self, features: torch.Tensor, options: CaptionOptions) -> torch.Tensor:
        prompts = [options.prompt] * features.shape[0] if options.prompt else None
        return self._generate(features, prompts, **generate_kwargs(options))

    def answer_ids(self, features: torch.Tensor, questions: list[str], options: AnswerOptions) -> torch.Tensor:
        prompts = [self.question_prompt(q) for q in questions]
        return self._generate(
            features, prompts, max_new_tokens=options.max_new_tokens, num_beams=options.num_beams, do_sample=False
        )

    def question_prompt(self, question: str) -> str:
        return question.strip() if self.encoder_decoder else QUESTION_PROMPT.format(question.strip())

    def match(self, features: torch.Tensor, texts: list[list[str]], method: MatchMethod) -> list[list[float]]:
        raise NotImplementedError("BLIP-2 conditional generation checkpoints do not score image-text matches")

    def decode(self, ids: torch.Tensor, prompt: str | None = None) -> list[str]:
        texts = [t.strip() for t in self.tokenizer.batch_decode(ids, skip_special_tokens=True)]
        # A decoder-only model's caption continues its prompt, as BLIP's do: keep the prompt in front. An
        # encoder-decoder's prompt is an instruction, not the start of its answer.
        return [f"{prompt} {t}".strip() for t in texts] if prompt and not self.encoder_decoder else texts


class Blip2RetrievalBackend(_Blip2Checkpoint):
    """A BLIP-2 image-text retrieval checkpoint (``Blip2ForImageTextRetrieval``, e.g. blip2-itm-vit-g): ITM and ITC.

    Follows ``Blip2ForImageTextRetrieval.forward``, split at the vision encoder's output (what the engine caches):
    ITM runs the Q-Former over the 32 queries and the text together against the image and averages the ITM head
    over the query outputs; ITC compares the text's projected CLS token with each projected query output and
    keeps the best, so an image's embedding is a small matrix (queries x D), not one vector.
    """

    model_class = "Blip2ForImageTextRetrieval"
    tasks = frozenset({"match"})

    def encode(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.model.vision_model(pixel_values=pixel_values.to(self.device, self.dtype)).last_hidden_state

    def _ones(self, states: torch.Tensor) -> torch.Tensor:
        return torch.ones(states.shape[:-1], dtype=torch.long, device=states.device)

    def _text(self, texts: list[str]):
        return self.tokenizer(texts, padding=True, truncation=True, max_length=self.config.qformer_config.
                              max_position_embeddings, return_tensors="pt").to(self.device)

    def embed_images(self, features: torch.Tensor) -> torch.Tensor:
        queries = self.model.query_tokens.expand(features.shape[0], -1, -1)
        states = self.model.qformer(query_embeds=queries, encoder_hidden_states=features,
                                    encoder_attention_mask=self._ones(features)).last_hidden_state
        return normalize(self.model.vision_projection(states.to(self.model.vision_projection.weight.dtype)).float(),
                         dim=-1)

    def embed_texts(self, texts: list[str]) -> torch.Tensor:
        text = self._text(texts)
        embeds = self.model.embeddings(input_ids=text["input_ids"])
        states = self.model.qformer(query_embeds=embeds, query_length=0,
                                    attention_mask=text["attention_mask"]).last_hidden_state
        return normalize(self.model.text_projection(states[:, 0, :].to(self.model.text_projection.weight.dtype))
                         .float(), dim=-1)

    def match(self, features: torch.Tensor, texts: list[list[str]], method: MatchMethod) -> list[list[float]]:
        out = []
        for image, group in zip(features, texts, strict=True):
            image = image[None]
            if method == "itc":
                scores = (self.embed_images(image)[0] @ self.embed_texts(group).T).max(dim=0).values
            else:
                text = self._text(group)
                rows = len(group)
                queries = self.model.query_tokens.expand(rows, -1, -1)
                mask = torch.cat([torch.ones(queries.shape[:-1], dtype=torch.long, device=self.device),
                                  text["attention_mask"]], dim=1)
                embeds = self.model.embeddings(input_ids=text["input_ids"], query_embeds=queries)
                states = self.model.qformer(
                    query_embeds=embeds, query_length=queries.shape[1], attention_mask=mask,
                    encoder_hidden_states=image.expand(rows, -1, -1),
                    encoder_attention_mask=self._ones(image.expand(rows, -1, -1))).last_hidden_state
                states = states.to(self.model.itm_head.weight.dtype)
                scores = self.model.itm_head(states[:, : queries.shape[1], :]).mean(dim=1).float().softmax(-1)[:, 1]
            out.append(scores.tolist())
        return out

    def decode(self, ids: torch.Tensor, prompt: str | None = None) -> list[str]:
        raise NotImplementedError("a retrieval checkpoint does not write text")
