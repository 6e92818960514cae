"""LoRA adapters served by name on their base model: loaded with it, sharing its engine, mixed in one batch.

An adapter (what ``ai-notes-mcp finetune`` writes: a PEFT adapter folder and its card) changes only the text side of
its base model, so the base's engine serves it: its requests batch with the base model's and with other adapters'
(each row through its own adapter, see ``deviations/peft_rows.py``), and the cached image features stay valid for
all of them. Adapters load with their base model, before its bf16 linears are packed; one that is missing, corrupt
or trained on another base is kept aside with the one line that says why, and the base and the other adapters
serve as usual.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ModelUnavailableError

if TYPE_CHECKING:
    import torch

    from ..config import AdapterSpec

CARD_FILE = "adapter_card.json"  # written by finetune beside PEFT's adapter_config.json and weights
WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin")


def base_fingerprint(model: torch.nn.Module) -> str:
    """A short digest of a loaded model's configuration (its architecture and every dimension), the same whatever
    folder, hub id or dtype it was loaded from: what an adapter's card records and what serving checks."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): strip(v) for k, v in value.items()
                    if not str(k).startswith("_") and k not in {"dtype", "torch_dtype", "transformers_version"}}
        return value

    config = {"architecture": type(model).__name__, **strip(model.config.to_dict())}
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


def read_card(folder: str | Path) -> dict | None:
    try:
        return json.loads((Path(folder) / CARD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class Adapters:
    """The adapters loaded on one backend's model, the ones that failed and why, and each batch's rows."""

    def __init__(self, backend, base: str, source: str, specs: dict[str, AdapterSpec]) -> None:
        self.base, self.source = base, source
        self.failed: dict[str, str] = {}
        self.loaded: list[str] = []
        self._rows = None
        self._peft = None
        fingerprint = base_fingerprint(backend.model)
        for name, spec in specs.items():
            try:
                self._load(backend.model, name, spec, fingerprint)
                self.loaded.append(name)
            except ModelUnavailableError as exc:
                self.failed[name] = str(exc)
        if self.loaded:
            from ..deviations.peft_rows import RowAdapters

            self._peft.eval()
            self._rows = RowAdapters(backend.model)
            if any(".qformer." in f".{n}." for n, _ in backend.model.named_modules() if n.endswith(".lora_A")):
                backend.queries_per_request = True  # a Q-Former adapter: cache what comes before the Q-Former

    def check(self, name: str) -> None:
        """Raise the adapter's own one line if it could not be loaded."""
        if name in self.failed:
            raise ModelUnavailableError(self.failed[name])

    def rows(self, names: list[str | None]):
        """The context in which request ``i`` runs through adapter ``names[i]`` (None: the base model)."""
        return self._rows.rows(names) if self._rows is not None else contextlib.nullcontext()

    # -- loading ---------------------------------------------------------------------------------------------

    def _load(self, model, name: str, spec: AdapterSpec, fingerprint: str) -> None:
        folder = Path(spec.path)
        where = f"adapter {name!r} ({spec.path})"
        if not (folder / "adapter_config.json").is_file():
            raise ModelUnavailableError(
                f"{where} is not an adapter folder (no adapter_config.json); train one with `ai-notes-mcp finetune "
                f"--model {self.base} --out {spec.path}` or fix adapters.{name}.path")
        card = read_card(folder)
        if card is not None and card.get("base", {}).get("fingerprint") != fingerprint:
            trained = card.get("base", {})
            raise ModelUnavailableError(
                f"{where} was trained on {trained.get('name')!r} ({trained.get('source')}, "
                f"{trained.get('architecture')}), not on model {self.base!r} ({self.source}); declare it under the "
                f"model it was trained on, or retrain it with `ai-notes-mcp finetune --model {self.base}`")
        from peft import LoraConfig, PeftConfig
        from peft.utils import load_peft_weights

        try:
            config = PeftConfig.from_pretrained(str(folder))
            weights = load_peft_weights(str(folder), device="cpu")
        except Exception as exc:  # unreadable JSON, a truncated safetensors file, ...
            raise ModelUnavailableError(f"{where} cannot be read ({_first(exc)}); train it again") from exc
        if not isinstance(config, LoraConfig):
            raise ModelUnavailableError(f"{where} is a {config.peft_type} adapter; only LoRA adapters are served")
        misfit = _misfit(model, weights)
        if misfit:
            raise ModelUnavailableError(
                f"{where} does not fit model {self.base!r}: {misfit}; was it trained on another base model? "
                f"Declare it under that one, or retrain it with `ai-notes-mcp finetune --model {self.base}`")
        try:
            if self._peft is None:
                from peft import PeftModel

                self._peft = PeftModel.from_pretrained(model, str(folder), adapter_name=name)
            else:
                self._peft.load_adapter(str(folder), adapter_name=name)
        except Exception as exc:
            if self._peft is not None and name in self._peft.peft_config:
                self._peft.delete_adapter(name)
            raise ModelUnavailableError(f"{where} could not be loaded onto model {self.base!r} ({_first(exc)}); "
                                        "train it again") from exc


def _misfit(model, weights: dict[str, torch.Tensor]) -> str | None:
    """Why these LoRA weights cannot sit on this model (a layer it lacks, or of another shape), or None."""
    import torch

    modules = dict(model.named_modules())
    for key, tensor in weights.items():
        if ".lora_" not in key:  # other trained modules (modules_to_save) are PEFT's to check
            continue
        path, _, part = key.removeprefix("base_model.model.").rpartition(".lora_")
        layer = getattr(modules.get(path), "base_layer", modules.get(path))  # a layer an adapter already wraps
        if not isinstance(layer, torch.nn.Linear):
            return f"it adapts {path!r}, which this model has no linear layer named"
        expected = layer.in_features if part.startswith("A") else layer.out_features
        got = tensor.shape[1] if part.startswith("A") else tensor.shape[0]
        if got != expected:
            return f"its layer {path!r} has {got} features where this model's has {expected}"
    return None


def _first(exc: Exception) -> str:
    return " ".join(str(exc).split())[:160] or type(exc).__name__
