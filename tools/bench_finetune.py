"""Benchmark: a `finetune` training step on cached image features against the plain PEFT loop, in one run.

    python tools/bench_finetune.py [--device cpu|cuda] [--task caption|vqa] [--batch B] [--steps N] [--rounds R]
                                   [--json] [--models DIR]

With blip-base-sized random-weight checkpoints (speed does not depend on the weights' values), in float32 (the
training precision), the same LoRA adapter on both sides (finetune's defaults: rank 8 on every linear layer of the
text side):

  a) plain PEFT: ``get_peft_model`` on the transformers model and the model's own forward with ``labels`` every
     step, so every step runs the frozen image encoder on the batch's pixels (what a hand-written PEFT loop does);
  b) ours: the step ``finetune`` runs, the text side only, on features the image encoder computed once;
  c) that one-time encoding, per image, so the totals for E epochs can be compared (``--epochs`` in the table).

Both sides take their steps in alternation (a round is N steps of one, then N of the other; R rounds), so a
noisy machine's drift hits both alike; medians over all steps are reported, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))

CAPTION_WORDS = "a man woman dog cat red blue green car bus tree field sky water beach street table".split()  # noqa: SIM905


def synthetic(count: int, seed: int):
    """Distinct photo-sized images and captions of 10-14 words (typical of COCO captions)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    images, captions = [], []
    for _ in range(count):
        base = np.linspace(0, 255, 640, dtype=np.float32)[None, :, None] * rng.uniform(0.2, 1.0, size=(1, 1, 3))
        pixels = np.clip(base + rng.normal(0, 40, size=(480, 640, 3)), 0, 255).astype("uint8")
        images.append(Image.fromarray(pixels))
        captions.append(" ".join(rng.choice(CAPTION_WORDS, size=int(rng.integers(10, 15)))))
    return images, captions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--task", choices=["caption", "vqa"], default="caption")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=4, help="steps per side per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5, help="for the totals: epochs over --batch images")
    parser.add_argument("--models", type=Path, default=ROOT / ".bench-models", help="where base checkpoints live")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    import torch
    import transformers
    from make_tiny_models import make
    from peft import LoraConfig, get_peft_model

    from mcp_server.config import load_settings
    from mcp_server.training.data import Example
    from mcp_server.training.objectives import Objective
    from mcp_server.training.options import FinetuneOptions
    from mcp_server.training.targets import target_modules
    from mcp_server.vision.loading import load_model, quiet_libraries

    quiet_libraries()
    settings = load_settings(make(args.models, "base"))
    name = "blip-base" if args.task == "caption" else "blip-vqa"
    spec = settings.models[name]
    images, captions = synthetic(args.batch, seed=0)
    questions = ["what is in the picture?"] * args.batch
    torch.manual_seed(0)

    defaults = FinetuneOptions()

    def lora(model):
        return LoraConfig(r=defaults.rank, lora_alpha=defaults.alpha, lora_dropout=defaults.dropout,
                          target_modules=target_modules(model, "blip", args.task, defaults.targets))

    def timed(step) -> float:
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        began = time.perf_counter()
        step()
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        return (time.perf_counter() - began) * 1000

    # a) the plain PEFT loop on the library's model: pixels in, the frozen encoder runs every step.
    plain_model = getattr(transformers, "BlipForConditionalGeneration" if args.task == "caption" else
                          "BlipForQuestionAnswering").from_pretrained(spec.source).to(args.device)
    processor = transformers.AutoProcessor.from_pretrained(spec.source)
    plain = get_peft_model(plain_model, lora(plain_model))
    plain.train()
    plain_opt = torch.optim.AdamW([p for p in plain.parameters() if p.requires_grad], lr=1e-4)
    if args.task == "caption":
        inputs = processor(images=images, text=captions, padding=True, return_tensors="pt").to(args.device)
        inputs["labels"] = inputs["input_ids"].masked_fill(inputs["attention_mask"] == 0, -100)
    else:
        inputs = processor(images=images, text=questions, padding=True, return_tensors="pt").to(args.device)
        inputs["labels"] = processor.tokenizer(captions, padding=True, return_tensors="pt")["input_ids"].to(
            args.device)

    def plain_step() -> None:
        loss = plain(**inputs).loss
        plain_opt.zero_grad(set_to_none=True)
        loss.backward()
        plain_opt.step()

    # b) ours: the server's loader and encoder, features once, then text-side steps.
    backend = load_model(name, spec, args.device, torch.float32, for_training=True)
    pixels = torch.stack([backend.preprocess(image) for image in images])
    encode_ms = []
    for _ in range(3):
        with torch.no_grad():
            encode_ms.append(timed(lambda: backend.encode(pixels)))
    with torch.no_grad():
        features = backend.encode(pixels)
    ours = get_peft_model(backend.model, lora(backend.model))
    ours.train()
    ours_opt = torch.optim.AdamW([p for p in ours.parameters() if p.requires_grad], lr=1e-4)
    objective = Objective(backend, args.task)
    rows = [objective.tokenize(Example(image=Path(f"{i}"), text=c, where="", question=q if args.task == "vqa"
                                       else None)) for i, (c, q) in enumerate(zip(captions, questions, strict=True))]

    def our_step() -> None:
        loss = objective.loss(features, rows)
        ours_opt.zero_grad(set_to_none=True)
        loss.backward()
        ours_opt.step()

    plain_step(), our_step()  # warm-up
    plain_ms, ours_ms = [], []
    for _ in range(args.rounds):
        plain_ms += [timed(plain_step) for _ in range(args.steps)]
        ours_ms += [timed(our_step) for _ in range(args.steps)]

    trainable, total = ours.get_nb_trainable_parameters()
    encode_per_image = statistics.median(encode_ms) / args.batch
    plain_median, ours_median = statistics.median(plain_ms), statistics.median(ours_ms)
    result = {
        "device": args.device, "task": args.task, "batch": args.batch, "threads": torch.get_num_threads(),
        "steps_per_side": len(plain_ms), "trainable_params": trainable, "total_params": total,
        "plain_peft_step_ms": round(plain_median, 1), "cached_features_step_ms": round(ours_median, 1),
        "speedup": round(plain_median / ours_median, 2),
        "encode_once_ms_per_image": round(encode_per_image, 1),
        "epochs": args.epochs,
        "total_s_plain": round(args.epochs * plain_median / 1000, 2),
        "total_s_ours_with_encoding": round((args.batch * encode_per_image + args.epochs * ours_median) / 1000, 2),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"blip-base {args.task}, batch {args.batch}, {args.device} float32, {result['threads']} threads, "
          f"LoRA r={defaults.rank} on {defaults.targets}: {trainable:,} of {total:,} parameters trainable")
    print(f"{'':36} {'median ms/step':>15}")
    print(f"{'plain PEFT loop (encoder every step)':36} {plain_median:15.1f}")
    print(f"{'finetune (cached image features)':36} {ours_median:15.1f}")
    print(f"speed-up per step: {result['speedup']:.2f}x; encoding once costs {encode_per_image:.1f} ms per image, "
          f"so {args.epochs} epochs take {result['total_s_plain']:.2f} s against "
          f"{result['total_s_ours_with_encoding']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
