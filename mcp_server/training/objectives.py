"""Each family's training loss, computed from cached image features: the text side as the engine runs it.

Texts are laid out exactly as the serving backends lay them out at generation time, so that the adapter learns to
continue what it will be given:

- BLIP captioning: ``[DEC] caption [SEP]`` against the image features (generation starts from ``[DEC]``; LAVIS
  trains the same way, where the library's own forward would start from ``[CLS]``);
- BLIP VQA: the question through the text encoder over the image features, then ``[DEC] answer [SEP]`` through
  the decoder over the question's states;
- BLIP-2, decoder-only (OPT): the image's query slots, the prompt (``</s>`` for a caption, ``Question: {q}
  Answer:`` for a question), then the target and ``</s>``; only the target is scored;
- BLIP-2, encoder-decoder (mT0, Flan-T5): the query slots and the prompt (nothing, or the question) to the
  encoder, the target (with ``</s>``) as the decoder's labels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from .data import Example

IGNORE = -100  # labels that are not scored (prompt, query slots, padding), as transformers' losses expect
MAX_TOKENS = 256  # per text: longer ones are cut (a caption or an answer is far shorter)


class Objective:
    """Tokenizes examples once, then scores batches of them against their image features."""

    def __init__(self, backend, task: str) -> None:
        self.backend, self.task = backend, task
        self.model = backend.model
        self.tokenizer = backend.tokenizer
        self.family = backend.family

    # -- tokens ------------------------------------------------------------------------------------------------

    def _ids(self, text: str, special: bool = True) -> list[int]:
        return self.tokenizer(text, add_special_tokens=special, truncation=True, max_length=MAX_TOKENS)["input_ids"]

    def tokenize(self, example: Example) -> dict[str, list[int]]:
        if self.family == "blip":
            bos = self.model.config.text_config.bos_token_id
            answer = [bos, *self._ids(example.text)[1:]]  # [DEC] replaces [CLS], as generate starts
            return {"ids": answer} if self.task == "caption" else {"question": self._ids(example.question),
                                                                    "ids": answer}
        backend = self.backend
        if backend.encoder_decoder:
            prompt = "" if self.task == "caption" else backend.question_prompt(example.question)
            return {"prompt": self._ids(prompt), "labels": self._ids(example.text)}
        eos = self.tokenizer.eos_token_id
        if self.task == "caption":
            prompt, target = [self.model.config.text_config.bos_token_id], self._ids(example.text, special=False)
        else:
            prompt = self._ids(backend.question_prompt(example.question))
            target = self._ids(" " + example.text, special=False)  # generation continues after "Answer:"
        return {"prompt": prompt, "labels": [*target, eos]}

    # -- loss --------------------------------------------------------------------------------------------------

    def loss(self, features: torch.Tensor, rows: list[dict[str, list[int]]]) -> torch.Tensor:
        if self.family == "blip":
            return self._blip_loss(features, rows)
        return self._blip2_loss(features, rows)

    def _blip_loss(self, features: torch.Tensor, rows) -> torch.Tensor:
        pad = self.model.config.text_config.pad_token_id
        ids, mask = _padded([r["ids"] for r in rows], pad, features.device)
        states, states_mask = features, torch.ones(features.shape[:-1], dtype=torch.long, device=features.device)
        if self.task == "vqa":
            question, question_mask = _padded([r["question"] for r in rows], pad, features.device)
            states = self.model.text_encoder(input_ids=question, attention_mask=question_mask,
                                             encoder_hidden_states=features,
                                             encoder_attention_mask=states_mask).last_hidden_state
            states_mask = question_mask
        return self.model.text_decoder(input_ids=ids, attention_mask=mask, encoder_hidden_states=states,
                                       encoder_attention_mask=states_mask, labels=ids.masked_fill(mask == 0, IGNORE),
                                       reduction="mean").loss

    def _blip2_loss(self, features: torch.Tensor, rows) -> torch.Tensor:
        device = features.device
        soft = self.backend.queries(features) if self.backend.queries_per_request else features
        pad = self.tokenizer.pad_token_id
        language_model = self.model.language_model
        if self.backend.encoder_decoder:
            text, text_mask = _padded([r["prompt"] for r in rows], pad, device)
            labels, _ = _padded([r["labels"] for r in rows], IGNORE, device)
        else:
            text, text_mask = _padded([r["prompt"] + r["labels"] for r in rows], pad, device)
            labels, _ = _padded([[IGNORE] * len(r["prompt"]) + r["labels"] for r in rows], IGNORE, device)
            labels = torch.cat([torch.full(soft.shape[:2], IGNORE, device=device), labels], dim=1)
        embeds = self.model.get_input_embeddings()(text)
        embeds = torch.cat([soft.to(embeds.dtype), embeds], dim=1)
        mask = torch.cat([torch.ones(soft.shape[:2], dtype=torch.long, device=device), text_mask], dim=1)
        return language_model(inputs_embeds=embeds, attention_mask=mask, labels=labels).loss


def _padded(sequences: list[list[int]], pad: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids and their attention mask."""
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for i, seq in enumerate(sequences):
        ids[i, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[i, : len(seq)] = 1
    return ids.to(device), mask.to(device)
