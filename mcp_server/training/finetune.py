"""``ai-notes-mcp finetune``: a LoRA adapter for the text side of a configured BLIP or BLIP-2 model.

The run: read and check the data; load the base model in float32 through the same loader the server uses; encode
every distinct image once with the frozen image encoder (the engine's own ``encode``) and keep the features;
wrap the model with PEFT LoRA on the text side (``targets.py``; no PEFT ``task_type``, whose wrappers pass
arguments these models do not take); then train with AdamW, every step running only the text side on the cached
features. After each epoch: the validation loss, and a checkpoint (adapter, optimizer, losses) that ``--resume``
continues from. Shuffling, LoRA initialisation and dropout are seeded per epoch, so an interrupted and resumed run
ends with the same adapter as an uninterrupted one (on the CPU, bit for bit). The output folder is a standard PEFT
adapter (``adapter_config.json``, ``adapter_model.safetensors``) with its card (``adapter_card.json`` and
``README.md``): base checkpoint and its fingerprint, data fingerprint, settings, losses, date.
"""

from __future__ import annotations

import datetime
import json
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import AiNotesError, BadInputError
from . import data as data_
from .objectives import Objective
from .options import FinetuneOptions
from .results import FinetuneResult
from .targets import target_modules

if TYPE_CHECKING:
    import torch

    from ..config import Settings

CHECKPOINTS = "checkpoints"
ENCODE_BATCH = 16
NOTES = {  # the sections the card and the command cite
    "LoRA for BLIP and BLIP-2": "notes/small-models.md#lora-vision-language",
    "BLIP-2's frozen image encoder": "notes/vision-language.md#frozen-encoder",
}
ADVICE = {  # what to use instead when the base model's tokenizer cannot spell the texts
    "blip": "BLIP's vocabulary is English uncased WordPiece; write the texts in English, or fine-tune a BLIP-2 "
            "model (OPT's byte-level BPE writes any language; mBLIP's mT0 is multilingual)",
    "blip-2": "write the texts in a language and script this language model was trained on, or fine-tune a BLIP-2 "
              "model with a byte-level BPE (OPT) that writes any text",
}


def finetune(settings: Settings, *, data: str, out: str, model: str | None = None,
             options: FinetuneOptions | None = None, resume: bool = False, progress: bool = True) -> FinetuneResult:
    """Train (or resume) an adapter; returns what was trained. Every problem is one line (BadInputError)."""
    import torch

    options = options or FinetuneOptions()
    examples = data_.read_examples(data)
    task = _task(options.task, examples)
    if model in settings.adapters:
        raise BadInputError(f"{model!r} is an adapter; train on its base model, --model "
                            f"{settings.adapters[model].base}")
    name = settings.model_for(task, model)
    out_dir = Path(out).expanduser()
    last = _last_checkpoint(out_dir)
    if resume and last is None:
        raise BadInputError(f"--resume: {out_dir} holds no checkpoint to resume from; drop --resume to start afresh")
    if not resume and (last is not None or (out_dir / "adapter_config.json").exists()):
        raise BadInputError(f"{out_dir} already holds an adapter or checkpoints; pass --resume to continue that run, "
                            "or choose another --out")

    backend = _load(settings, name)
    family = backend.family
    data_.check_spelling(examples, backend.tokenizer, name, ADVICE[family])
    if options.qformer:
        if family != "blip-2":
            raise BadInputError(f"--qformer adapts BLIP-2's Q-Former; model {name!r} is {family}")
        backend.queries_per_request = True  # train on the image encoder's output, the Q-Former runs every step
    train, validation = data_.split(examples, options.val_split, options.seed)

    say = _Say(progress)
    started = time.perf_counter()
    features, digests = encode_images(backend, settings, examples, say)
    encode_s = time.perf_counter() - started
    run = {"model": name, "base": _base_card(settings, name, backend), "task": task,
           "data": data_.fingerprint(examples, digests), "options": options.model_dump(exclude={"epochs"})}

    from peft import LoraConfig, get_peft_model

    torch.manual_seed(options.seed)  # LoRA's A matrices start random
    config = LoraConfig(r=options.rank, lora_alpha=options.alpha, lora_dropout=options.dropout,
                        target_modules=target_modules(backend.model, family, task, options.targets, options.qformer))
    peft_model = get_peft_model(backend.model, config)
    trainable, total = peft_model.get_nb_trainable_parameters()
    optimizer = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=options.learning_rate)
    history: dict[str, list[float]] = {"train": [], "validation": []}
    start_epoch = 0
    if resume:
        start_epoch, history = _restore(last, run, peft_model, optimizer)
        say(f"resuming after epoch {start_epoch} from {last}")
    say(f"training {trainable:,} of {total:,} parameters ({trainable / total:.2%}) of {name!r} on {len(train)} "
        f"examples ({len(validation)} held out), {len(digests)} images encoded once in {encode_s:.1f} s")

    objective = Objective(backend, task)
    rows = {id(e): objective.tokenize(e) for e in examples}
    steps_ms = _train(peft_model, objective, optimizer, options, features, rows, train, validation, history,
                      start_epoch, out_dir, run, say)
    _write_adapter(peft_model, out_dir, run, options, history, trainable, total, len(train), len(validation),
                   len(digests))
    card_name = out_dir.resolve().name
    return FinetuneResult(
        out=str(out_dir), model=name, task=task, examples=len(train), validation_examples=len(validation),
        images=len(digests), trainable_params=trainable, total_params=total,
        trainable_share=round(trainable / total, 6), epochs=len(history["train"]),
        resumed_from=start_epoch if resume else None, train_loss=history["train"],
        validation_loss=history["validation"], encode_s=round(encode_s, 3),
        step_ms=round(statistics.median(steps_ms), 2) if steps_ms else 0.0,
        serve=f"adapters: {{{card_name}: {{base: {name}, path: {out_dir.resolve()}}}}}")


def _task(chosen: str | None, examples: list[data_.Example]) -> str:
    has_questions = examples[0].question is not None
    if chosen is None:
        return "vqa" if has_questions else "caption"
    if (chosen == "vqa") != has_questions:
        raise BadInputError(f"--task {chosen} needs {'question and answer' if chosen == 'vqa' else 'caption'} rows, "
                            f"but the data's rows have {'questions' if has_questions else 'captions'}")
    return chosen


def _load(settings: Settings, name: str):
    """The base model in float32 (training precision), through the server's own loader."""
    import torch

    from ..vision.loading import load_model, resolve_device

    return load_model(name, settings.models[name], resolve_device(settings.device), torch.float32, for_training=True)


def encode_images(backend, settings: Settings, examples: list[data_.Example], say) -> tuple[dict, dict]:
    """Every distinct image through the frozen image encoder, once: image path -> features, and -> sha256."""
    import torch

    from ..images import load_image

    paths = list(dict.fromkeys(e.image for e in examples))
    where = {e.image: e.where for e in reversed(examples)}
    features: dict[Path, torch.Tensor] = {}
    digests: dict[Path, str] = {}
    bar = say.bar(len(paths), "encoding images", "image")
    for start in range(0, len(paths), ENCODE_BATCH):
        chunk = paths[start : start + ENCODE_BATCH]
        pixels = []
        for path in chunk:
            try:
                loaded = load_image(str(path), settings.images, local_paths=True)
            except AiNotesError as exc:
                raise BadInputError(f"{where[path]}: image {str(path)!r}: {exc}") from exc
            digests[path] = loaded.sha256
            pixels.append(backend.preprocess(loaded.image))
        with torch.no_grad():  # not inference_mode: the features take part in the text side's autograd graph
            encoded = backend.encode(torch.stack(pixels))
        features.update(zip(chunk, encoded.float().cpu(), strict=True))
        bar.update(len(chunk))
    bar.close()
    return features, digests


def _train(peft_model, objective: Objective, optimizer, options: FinetuneOptions, features, rows, train, validation,
           history, start_epoch: int, out_dir: Path, run: dict, say) -> list[float]:
    import torch

    device = next(p for p in peft_model.parameters() if p.requires_grad).device
    steps_per_epoch = -(-len(train) // options.batch_size)
    bar = say.bar(steps_per_epoch * max(0, options.epochs - start_epoch), "training", "step")
    steps_ms: list[float] = []
    for epoch in range(start_epoch, options.epochs):
        # Seeded per epoch, so that a run resumed at any epoch draws what an uninterrupted one draws.
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(options.seed * 100_003 + epoch))
        torch.manual_seed(options.seed + 1 + epoch)  # dropout
        peft_model.train()
        losses = []
        bar.set_description(f"epoch {epoch + 1}/{options.epochs}")
        for start in range(0, len(train), options.batch_size):
            began = time.perf_counter()
            batch = [train[i] for i in order[start : start + options.batch_size].tolist()]
            loss = objective.loss(_stack(features, batch, device), [rows[id(e)] for e in batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for p in peft_model.parameters() if p.requires_grad], 1.0)
            optimizer.step()
            losses.append(loss.item())
            steps_ms.append((time.perf_counter() - began) * 1000)
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
            bar.update(1)
        history["train"].append(round(statistics.fmean(losses), 6))
        line = f"epoch {epoch + 1}/{options.epochs}: train loss {history['train'][-1]:.4f}"
        if validation:
            history["validation"].append(round(_evaluate(peft_model, objective, options, features, rows, validation,
                                                         device), 6))
            line += f", validation loss {history['validation'][-1]:.4f}"
        saved = _checkpoint(out_dir, epoch + 1, peft_model, optimizer, run, history)
        say(f"{line}; checkpoint {saved}")
    bar.close()
    return steps_ms


def _evaluate(peft_model, objective, options, features, rows, examples, device) -> float:
    import torch

    peft_model.eval()
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(examples), options.batch_size):
            batch = examples[start : start + options.batch_size]
            total += objective.loss(_stack(features, batch, device), [rows[id(e)] for e in batch]).item() * len(batch)
    return total / len(examples)


def _stack(features: dict, batch: list[data_.Example], device) -> torch.Tensor:
    import torch

    return torch.stack([features[e.image] for e in batch]).to(device)


# -- checkpoints ----------------------------------------------------------------------------------------------


def _last_checkpoint(out_dir: Path) -> Path | None:
    done = sorted(p for p in (out_dir / CHECKPOINTS).glob("epoch-*") if (p / "state.json").is_file())
    return done[-1] if done else None


def _checkpoint(out_dir: Path, epoch: int, peft_model, optimizer, run: dict, history: dict) -> Path:
    """Write the epoch's adapter, optimizer state and losses; the folder appears whole (renamed into place).

    The adapter's files are those of PEFT's ``save_pretrained``, without the model card it renders every time.
    """
    import torch
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    final = out_dir / CHECKPOINTS / f"epoch-{epoch:04d}"
    partial = final.with_name(final.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    save_file(get_peft_model_state_dict(peft_model), partial / "adapter_model.safetensors", metadata={"format": "pt"})
    peft_model.peft_config["default"].save_pretrained(partial)
    torch.save(optimizer.state_dict(), partial / "optimizer.pt")
    state = {"epoch": epoch, "run": run, "history": history}
    (partial / "state.json").write_text(json.dumps(state, indent=2), encoding="utf-8")
    shutil.rmtree(final, ignore_errors=True)
    partial.rename(final)
    return final


def _restore(checkpoint: Path, run: dict, peft_model, optimizer) -> tuple[int, dict]:
    import torch
    from peft import set_peft_model_state_dict
    from peft.utils import load_peft_weights

    state = json.loads((checkpoint / "state.json").read_text(encoding="utf-8"))
    for key in ("model", "task", "data", "base", "options"):
        was, now = state["run"].get(key), run[key]
        if key == "base":  # the same checkpoint wherever it is loaded from
            was, now = (was or {}).get("fingerprint"), now["fingerprint"]
        if was != now:
            what = {"data": "other data", "base": "another base checkpoint", "options": "other settings"}.get(key, key)
            raise BadInputError(f"--resume: the checkpoint in {checkpoint.parent.parent} was made with {what} "
                                f"({_difference(was, now)}); use the same ones, or another "
                                "--out to start afresh")
    set_peft_model_state_dict(peft_model, load_peft_weights(str(checkpoint), device="cpu"))
    optimizer.load_state_dict(torch.load(checkpoint / "optimizer.pt", weights_only=True))
    return state["epoch"], state["history"]


def _difference(was: Any, now: Any) -> str:
    if isinstance(was, dict) and isinstance(now, dict):
        keys = [k for k in {**was, **now} if was.get(k) != now.get(k)]
        return ", ".join(f"{k}: {was.get(k)!r} then, {now.get(k)!r} now" for k in keys)
    return f"{was!r} then, {now!r} now"


# -- the adapter and its card -----------------------------------------------------------------------------------


def _base_card(settings: Settings, name: str, backend) -> dict:
    from ..vision.adapters import base_fingerprint

    return {"name": name, "source": settings.models[name].source, "architecture": type(backend.model).__name__,
            "family": backend.family, "fingerprint": base_fingerprint(backend.model)}


def _write_adapter(peft_model, out_dir: Path, run: dict, options: FinetuneOptions, history: dict, trainable: int,
                   total: int, examples: int, validation: int, images: int) -> None:
    import peft
    import torch
    import transformers

    from ..vision.adapters import CARD_FILE

    peft_model.save_pretrained(out_dir)
    card = {
        "card": 1,
        "base": run["base"],
        "task": run["task"],
        "data": {"fingerprint": run["data"], "examples": examples, "validation_examples": validation,
                 "images": images},
        "settings": options.model_dump(),
        "lora": {"target_modules": peft_model.peft_config["default"].target_modules,
                 "trainable_params": trainable, "total_params": total, "trainable_share": round(trainable / total, 6)},
        "losses": history,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "software": {"peft": peft.__version__, "transformers": transformers.__version__, "torch": torch.__version__},
        "notes": NOTES,
    }
    (out_dir / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (out_dir / "README.md").write_text(_readme(card), encoding="utf-8")  # replaces PEFT's template


def _readme(card: dict) -> str:
    base, lora = card["base"], card["lora"]
    losses = card["losses"]
    rows = "\n".join(f"| {i + 1} | {t:.4f} | {losses['validation'][i]:.4f} |" if i < len(losses["validation"])
                     else f"| {i + 1} | {t:.4f} | - |" for i, t in enumerate(losses["train"]))
    notes = "\n".join(f"- [{title}]({path})" for title, path in card["notes"].items())
    return f"""# LoRA adapter for {base['name']} ({card['task']})

A PEFT LoRA adapter on the text side of `{base['source']}` ({base['architecture']}), trained by
`ai-notes-mcp finetune` on {card['date']} with the image encoder frozen. Serve it by name:

```yaml
adapters:
  NAME: {{base: {base['name']}, path: PATH_TO_THIS_FOLDER}}
```

| | |
|---|---|
| base checkpoint | `{base['source']}`, fingerprint `{base['fingerprint']}` |
| data | {card['data']['examples']} training and {card['data']['validation_examples']} validation examples, \
{card['data']['images']} images, fingerprint `{card['data']['fingerprint']}` |
| LoRA | rank {card['settings']['rank']}, alpha {card['settings']['alpha']}, dropout {card['settings']['dropout']}, \
targets `{lora['target_modules']}` |
| trainable | {lora['trainable_params']:,} of {lora['total_params']:,} parameters ({lora['trainable_share']:.2%}) |
| training | {card['settings']['epochs']} epochs, batch {card['settings']['batch_size']}, learning rate \
{card['settings']['learning_rate']}, seed {card['settings']['seed']} |

| epoch | train loss | validation loss |
|---|---|---|
{rows}

What to decide and what such an adapter cannot do:

{notes}
"""


class _Say:
    """Progress on stderr: lines, and bars with loss and ETA (tqdm); silent when progress is off."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, line: str) -> None:
        if self.enabled:
            from tqdm import tqdm

            tqdm.write(line, file=sys.stderr)

    def bar(self, total: int, label: str, unit: str):
        """A live bar on a terminal; elsewhere (a log, a pipe) only the lines, one per epoch."""
        from tqdm import tqdm

        live = self.enabled and sys.stderr.isatty()
        return tqdm(total=total, desc=label, unit=unit, file=sys.stderr, disable=not live, leave=False,
                    dynamic_ncols=True)
