"""Benchmark: this server against the direct Hugging Face way, in one run, on one machine.

    python tools/bench.py [--device cpu|cuda] [--images N] [--tokens T] [--json] [--models DIR]

Measures, with blip-base-sized random-weight checkpoints (speed does not depend on the weights' values):
  a) direct: one ``generate`` per image, fp32, sequential (what a user writes by hand with transformers 5,
     which no longer has an image-to-text pipeline);
  b) the server through an MCP client (in memory) at concurrency 1 and 8, distinct images;
  c) five questions about one image: five direct VQA calls against five concurrent answer_question calls;
  d) the machine's measured matrix-multiply peak in the dtype the server uses, and the FLOPs of one caption
     (counted by torch's FlopCounterMode), giving the compute bound and the share of it reached;
  e) process start to ``tools/list`` answered over stdio.
Every caption is greedy with exactly T new tokens on both sides, so the work is identical.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))

QUESTIONS = ["what is in the picture?", "what colour is the sky?", "is there a person?",
             "how many animals are there in this photo?", "what is the man on the left holding in his hand?"]


def make_images(folder: Path, count: int, seed: int) -> list[str]:
    """Distinct photo-sized images (noise over a gradient), so nothing is served from the cache by accident."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        base = np.linspace(0, 255, 640, dtype=np.float32)[None, :, None] * rng.uniform(0.2, 1.0, size=(1, 1, 3))
        pixels = np.clip(base + rng.normal(0, 40, size=(480, 640, 3)), 0, 255).astype("uint8")
        path = folder / f"s{seed}-{i}.png"
        Image.fromarray(pixels).save(path)
        paths.append(str(path))
    return paths


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def matmul_peak(dtype, device: str, size: int = 2048, reps: int = 10) -> float:
    """FLOP/s of a large square matmul in this dtype on this device: the best the hardware does here."""
    import torch

    a = torch.randn(size, size, dtype=dtype, device=device)
    b = torch.randn(size, size, dtype=dtype, device=device)
    for _ in range(3):
        a @ b
    rates = []
    for _ in range(reps):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        a @ b
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        rates.append(2 * size**3 / (time.perf_counter() - start))
    return statistics.median(rates)


def direct_captions(source: str, images: list[str], tokens: int, device: str) -> tuple[list[float], float]:
    """The direct way: processor + one generate per image, fp32. Returns per-image seconds and FLOPs/caption."""
    import torch
    import transformers
    from PIL import Image
    from torch.utils.flop_counter import FlopCounterMode

    model = transformers.BlipForConditionalGeneration.from_pretrained(source, dtype=torch.float32).to(device).eval()
    processor = transformers.AutoProcessor.from_pretrained(source)

    def one(path: str) -> None:
        inputs = processor(images=Image.open(path).convert("RGB"), return_tensors="pt").to(device)
        with torch.no_grad():
            model.generate(**inputs, max_new_tokens=tokens, min_new_tokens=tokens, num_beams=1, do_sample=False)

    counter = FlopCounterMode(display=False)
    with counter:
        one(images[0])
    flops = counter.get_total_flops()
    times = []
    for path in images:
        start = time.perf_counter()
        one(path)
        times.append(time.perf_counter() - start)
    return times, flops


def direct_answers(source: str, image: str, device: str) -> float:
    import torch
    import transformers
    from PIL import Image

    model = transformers.BlipForQuestionAnswering.from_pretrained(source, dtype=torch.float32).to(device).eval()
    processor = transformers.AutoProcessor.from_pretrained(source)
    picture = Image.open(image).convert("RGB")
    processor(images=picture, text="warm up", return_tensors="pt")
    start = time.perf_counter()
    for question in QUESTIONS:
        inputs = processor(images=picture, text=question, return_tensors="pt").to(device)
        with torch.no_grad():
            model.generate(**inputs, max_new_tokens=10, num_beams=1)
    return time.perf_counter() - start


async def server_runs(settings, sets: dict[str, list[str]], vqa_image: str, tokens: int) -> dict:
    from mcp import Client

    from mcp_server.server import create_server

    caption_args = {"max_new_tokens": tokens, "min_new_tokens": tokens, "num_beams": 1}
    out = {}
    async with Client(create_server(settings)) as client:
        # Load the models first; loading is not what is measured.
        await client.call_tool("caption_image", {"image": sets["warmup"][0], **caption_args})
        await client.call_tool("answer_question", {"image": sets["warmup"][1], "question": "warm up?"})

        async def timed_caption(path: str) -> float:
            start = time.perf_counter()
            result = await client.call_tool("caption_image", {"image": path, **caption_args})
            if result.is_error:
                raise RuntimeError(result.content[0].text)
            return time.perf_counter() - start

        async def worker(queue: list[str], latencies: list[float]) -> None:
            while queue:
                latencies.append(await timed_caption(queue.pop()))

        for concurrency, width in (("c1", 1), ("c8", 8)):
            queue, latencies = list(sets[concurrency]), []
            start = time.perf_counter()
            await asyncio.gather(*(worker(queue, latencies) for _ in range(width)))
            out[concurrency] = {"seconds": time.perf_counter() - start, "latencies": latencies}

        start = time.perf_counter()
        answers = await asyncio.gather(*(client.call_tool("answer_question", {
            "image": vqa_image, "question": q, "max_new_tokens": 10, "num_beams": 1}) for q in QUESTIONS))
        out["vqa5"] = {"seconds": time.perf_counter() - start}
        assert not any(a.is_error for a in answers)
    return out


def startup_seconds(config: Path, rounds: int = 5) -> float:
    from mcp import Client, StdioServerParameters

    async def once() -> float:
        params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_server", "serve", "--config",
                                                                     str(config)], env=dict(os.environ))
        start = time.perf_counter()
        async with Client(params) as client:
            await client.list_tools()
            return time.perf_counter() - start

    return statistics.median(asyncio.run(once()) for _ in range(rounds))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--images", type=int, default=8, help="images per measured phase (c8 uses twice as many)")
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--models", type=Path, default=ROOT / ".bench-models", help="where base checkpoints live")
    parser.add_argument("--max-batch", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    import torch
    from make_tiny_models import make

    from mcp_server.config import load_settings
    from mcp_server.vision.loading import resolve_dtype

    config = make(args.models, "base")
    env = {"AI_NOTES_MCP_DEVICE": args.device, "AI_NOTES_MCP_BATCHING": f"{{max_batch: {args.max_batch}}}"}
    settings = load_settings(config, environ=env)
    dtype = resolve_dtype(settings.dtype, args.device)
    caption_source = settings.models["blip-base"].source
    vqa_source = settings.models["blip-vqa"].source

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sets = {"direct": make_images(folder, args.images, 1), "c1": make_images(folder, args.images, 2),
                "c8": make_images(folder, 2 * args.images, 3), "warmup": make_images(folder, 2, 4)}
        vqa_images = make_images(folder, 2, 5)
        direct_times, flops = direct_captions(caption_source, sets["direct"], args.tokens, args.device)
        direct_vqa = direct_answers(vqa_source, vqa_images[0], args.device)
        server = asyncio.run(server_runs(settings, sets, vqa_images[1], args.tokens))
    peak = matmul_peak(dtype, args.device)
    startup = startup_seconds(config)

    bound = peak / flops  # images/s if every FLOP ran at the matmul peak
    direct_rate = len(direct_times) / sum(direct_times)
    rows = [{"run": "direct generate, fp32, sequential", "images_per_s": direct_rate,
             "p50_s": statistics.median(direct_times), "p95_s": percentile(direct_times, 0.95)}]
    for key, label in (("c1", "server, concurrency 1"), ("c8", "server, concurrency 8")):
        run = server[key]
        rows.append({"run": f"{label} ({str(dtype).removeprefix('torch.')})",
                     "images_per_s": len(run["latencies"]) / run["seconds"],
                     "p50_s": statistics.median(run["latencies"]), "p95_s": percentile(run["latencies"], 0.95)})
    for row in rows:
        row["ratio_to_direct"] = row["images_per_s"] / direct_rate
        row["pct_of_bound"] = 100 * row["images_per_s"] / bound
    report = {
        "machine": {"device": args.device, "torch": torch.__version__, "threads": torch.get_num_threads(),
                    "cpu_count": os.cpu_count(), "dtype": str(dtype).removeprefix("torch.")},
        "gflop_per_caption": flops / 1e9, "matmul_peak_gflops": peak / 1e9, "compute_bound_images_per_s": bound,
        "captions": rows,
        "five_questions": {"direct_s": direct_vqa, "server_s": server["vqa5"]["seconds"],
                           "ratio": direct_vqa / server["vqa5"]["seconds"]},
        "startup_to_tools_list_s": startup,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    m = report["machine"]
    print(f"device {m['device']}, {m['cpu_count']} cores, torch {m['torch']} ({m['threads']} threads), server dtype "
          f"{m['dtype']}; {args.tokens}-token greedy captions, blip-base architecture, random weights")
    print(f"one caption = {report['gflop_per_caption']:.1f} GFLOP; matmul peak {report['matmul_peak_gflops']:.0f} "
          f"GFLOP/s ({m['dtype']}); compute bound {bound:.2f} images/s\n")
    print(f"| {'run':<40} | images/s | x direct | % of bound | p50 s | p95 s |")
    print(f"|{'-' * 42}|---------:|---------:|-----------:|------:|------:|")
    for row in rows:
        print(f"| {row['run']:<40} | {row['images_per_s']:8.2f} | {row['ratio_to_direct']:8.2f} | "
              f"{row['pct_of_bound']:10.0f} | {row['p50_s']:5.2f} | {row['p95_s']:5.2f} |")
    five = report["five_questions"]
    print(f"\nfive questions about one image: direct {five['direct_s']:.2f} s, server {five['server_s']:.2f} s "
          f"({five['ratio']:.1f}x)")
    print(f"process start to tools/list answered (stdio, median of 5): {startup:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
