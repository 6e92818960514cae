"""``finetune``'s knobs with their bounds and defaults: the one definition the CLI's flags and help come from.

The defaults train a useful adapter from a few hundred captioned images on blip-base in minutes on a GPU (tens of
minutes on a CPU); notes/small-models.md#lora-vision-language says what each one trades.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MIN_EXAMPLES = 4  # fewer cannot even be shuffled into batches that differ; a useful adapter needs hundreds


class FinetuneOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    task: Literal["caption", "vqa"] | None = Field(None, description=(
        "caption or vqa; by default from the data (rows with a question train vqa)."))
    epochs: int = Field(5, ge=1, le=1000, description="Passes over the training examples.")
    learning_rate: float = Field(2e-4, gt=0, le=1.0, description="AdamW learning rate of the LoRA weights.")
    rank: int = Field(8, ge=1, le=256, description="LoRA rank r: the inner size of each low-rank update.")
    alpha: float = Field(16.0, gt=0, le=4096, description="LoRA alpha: each update is scaled by alpha / rank.")
    dropout: float = Field(0.05, ge=0, le=0.9, description="Dropout on the LoRA path while training.")
    batch_size: int = Field(8, ge=1, le=512, description="Examples per optimisation step.")
    val_split: float = Field(0.1, ge=0, le=0.5, description=(
        "Share of the images held out to measure the validation loss after each epoch."))
    seed: int = Field(0, ge=0, le=2**31 - 1, description=(
        "Seed of the split, the shuffling, the LoRA initialisation and dropout: the same seed, data and settings "
        "give the same adapter on the CPU."))
    targets: Literal["all", "attention"] = Field("all", description=(
        "all: LoRA on every linear layer of the text side (attention and feed-forward); attention: on its query "
        "and value projections only (a few times fewer trainable parameters, less capacity)."))
    qformer: bool = Field(False, description=(
        "BLIP-2: also adapt the Q-Former's layers (it then runs per request when served, after the cached "
        "image encoder)."))
