"""What ``ai-notes-mcp finetune --json`` prints: the run's result, also written into the adapter's card."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FinetuneResult(BaseModel):
    out: str = Field(description="The adapter folder: PEFT's adapter_config.json and weights, and the card.")
    model: str = Field(description="The configured base model it was trained on.")
    task: str
    examples: int = Field(description="Training examples (rows).")
    validation_examples: int
    images: int = Field(description="Distinct images, each encoded once.")
    trainable_params: int
    total_params: int
    trainable_share: float = Field(description="trainable_params / total_params.")
    epochs: int = Field(description="Epochs the adapter has been trained for in all (resumed runs included).")
    resumed_from: int | None = Field(None, description="The epoch whose checkpoint this run resumed from.")
    train_loss: list[float] = Field(description="Mean training loss per epoch.")
    validation_loss: list[float] = Field(description="Validation loss per epoch (empty without a validation set).")
    encode_s: float = Field(description="Seconds spent encoding the images (once).")
    step_ms: float = Field(description="Median milliseconds per training step in this run.")
    serve: str = Field(description="The settings entry that serves the adapter by name.")
