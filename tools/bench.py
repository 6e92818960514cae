"""Benchmark: this server against the direct Hugging Face way, in one run, on one machine.

    python tools/bench.py [--device cpu|cuda] [--concurrency C] [--max-batch B] [--images N] [--tokens T]
                          [--json] [--models DIR]

Measures, with blip-base-sized random-weight checkpoints (speed does not depend on the weights' values):
  a) direct: one ``generate`` per image, fp32, sequential (what a user writes by hand with transformers 5,
     which no longer has an image-to-text pipeline), in a process of its own as a user's script runs: sharing
     this process with the server would give it a second OpenMP team and slow both (see
     mcp_server/vision/compute.py);
  b) the server through an MCP client (in memory) at concurrency 1 (alternating image by image with the
     direct way, so a noisy machine's drift hits both alike) and C callers at once (``--concurrency``, 8 by
     default; three rounds, the median reported, the direct way running again after each);
  c) five questions about one image: five direct VQA calls against five concurrent answer_question calls,
     alternating, twice;
  d) the machine's measured matrix-multiply peak in the dtype the server uses (before and after the runs,
     the higher kept) and the FLOPs of one caption (counted by torch's FlopCounterMode), giving the
     compute bound and the share of it reached;
  e) process start to ``tools/list`` answered over stdio;
  f) explain_match against score_image_text on the same image and text (Grad-CAM costs one backward pass
     through the text side; the image's encoding is shared).
Every caption is greedy with exactly T new tokens on both sides, so the work is identical.

    python tools/bench.py --blip2-full [tools/bench_blip2.py's flags]

measures BLIP-2 OPT-2.7B at its real size instead (tools/bench_blip2.py: the direct way and the server each in a
process of its own, the decoding step against the memory-bandwidth bound, peak memory).
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


class Direct:
    """The direct way, as a user writes it with transformers 5: processor + one ``generate`` per call, fp32."""

    def __init__(self, caption_source: str, vqa_source: str, device: str, tokens: int,
                 itm_source: str | None = None) -> None:
        import torch
        import transformers

        self.device, self.tokens, self.itm_source = device, tokens, itm_source
        self.matcher = None
        load = dict(dtype=torch.float32)
        self.captioner = transformers.BlipForConditionalGeneration.from_pretrained(caption_source, **load)
        self.captioner = self.captioner.to(device).eval()
        self.caption_processor = transformers.AutoProcessor.from_pretrained(caption_source)
        self.answerer = transformers.BlipForQuestionAnswering.from_pretrained(vqa_source, **load).to(device).eval()
        self.vqa_processor = transformers.AutoProcessor.from_pretrained(vqa_source)

    def caption(self, path: str) -> float:
        import torch
        from PIL import Image

        start = time.perf_counter()
        inputs = self.caption_processor(images=Image.open(path).convert("RGB"), return_tensors="pt").to(self.device)
        with torch.no_grad():
            self.captioner.generate(**inputs, max_new_tokens=self.tokens, min_new_tokens=self.tokens, num_beams=1,
                                    do_sample=False)
        return time.perf_counter() - start

    def caption_flops(self, path: str) -> int:
        from torch.utils.flop_counter import FlopCounterMode

        counter = FlopCounterMode(display=False)
        with counter:
            self.caption(path)
        return counter.get_total_flops()

    def matmul_peak(self, dtype_name: str) -> float:
        import torch

        return matmul_peak(getattr(torch, dtype_name), self.device)

    def embed(self, paths: list[str]) -> float:
        """Seconds to embed the images one at a time (processor, vision model, projection), fp32: the direct way
        to fill an image index."""
        import torch
        import transformers
        from PIL import Image

        if self.matcher is None:
            self.matcher = transformers.BlipForImageTextRetrieval.from_pretrained(
                self.itm_source, dtype=torch.float32).to(self.device).eval()
            self.itm_processor = transformers.AutoProcessor.from_pretrained(self.itm_source)
        start = time.perf_counter()
        for path in paths:
            inputs = self.itm_processor(images=Image.open(path).convert("RGB"), return_tensors="pt").to(self.device)
            with torch.no_grad():
                states = self.matcher.vision_model(inputs["pixel_values"]).last_hidden_state
                torch.nn.functional.normalize(self.matcher.vision_proj(states[:, 0]), dim=-1)
        return time.perf_counter() - start

    def five_questions(self, path: str) -> float:
        import torch
        from PIL import Image

        start = time.perf_counter()
        picture = Image.open(path).convert("RGB")
        for question in QUESTIONS:
            inputs = self.vqa_processor(images=picture, text=question, return_tensors="pt").to(self.device)
            with torch.no_grad():
                self.answerer.generate(**inputs, max_new_tokens=10, num_beams=1)
        return time.perf_counter() - start


class DirectProcess:
    """``Direct`` in a child process, driven over a pipe; the child's main thread runs it, as a script would."""

    def __init__(self, *args) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve_direct, args=(child, args), daemon=True)
        self._process.start()

    def call(self, method: str, *args):
        self._conn.send((method, args))
        ok, value = self._conn.recv()
        if not ok:
            raise RuntimeError(f"direct way failed: {value}")
        return value

    def caption(self, path: str) -> float:
        return self.call("caption", path)

    def five_questions(self, path: str) -> float:
        return self.call("five_questions", path)

    def close(self) -> None:
        self._conn.send((None, ()))
        self._process.join(30)


def _serve_direct(conn, args) -> None:
    direct = Direct(*args)
    while True:
        method, call_args = conn.recv()
        if method is None:
            return
        try:
            conn.send((True, getattr(direct, method)(*call_args)))
        except Exception as exc:  # reported in the parent, which stops the run
            conn.send((False, f"{type(exc).__name__}: {exc}"))


async def measure(settings, direct: DirectProcess, sets: dict, tokens: int, concurrency: int) -> dict:
    """Direct and server runs alternate in one process, so drift of a noisy machine hits both alike."""
    from mcp import Client

    from mcp_server.server import create_server

    caption_args = {"max_new_tokens": tokens, "min_new_tokens": tokens, "num_beams": 1}
    out: dict = {"direct": [], "c1": []}
    async with Client(create_server(settings)) as client:
        # Load the models first; loading is not what is measured.
        await client.call_tool("caption_image", {"image": sets["warmup"][0], **caption_args})
        await client.call_tool("answer_question", {"image": sets["warmup"][1], "question": "warm up?"})
        await asyncio.to_thread(direct.caption, sets["warmup"][0])

        async def timed_caption(path: str) -> float:
            start = time.perf_counter()
            result = await client.call_tool("caption_image", {"image": path, **caption_args})
            if result.is_error:
                raise RuntimeError(result.content[0].text)
            return time.perf_counter() - start

        # Concurrency 1, interleaved with the direct way image by image.
        for direct_image, server_image in zip(sets["direct"], sets["c1"], strict=True):
            out["direct"].append(await asyncio.to_thread(direct.caption, direct_image))
            out["c1"].append(await timed_caption(server_image))

        # Three rounds of `concurrency` callers sharing the server; the direct way runs again after each.
        out["concurrent"] = []
        for round_images, direct_images in zip(sets["concurrent"], sets["direct_after"], strict=True):
            queue, latencies = list(round_images), []

            async def caller(queue=queue, latencies=latencies) -> None:
                while queue:
                    latencies.append(await timed_caption(queue.pop()))

            start = time.perf_counter()
            await asyncio.gather(*(caller() for _ in range(concurrency)))
            out["concurrent"].append({"seconds": time.perf_counter() - start, "latencies": latencies})
            for path in direct_images:
                out["direct"].append(await asyncio.to_thread(direct.caption, path))

        # Five questions about one new image, alternating direct and server, twice.
        out["vqa_direct"], out["vqa_server"] = [], []
        for path_direct, path_server in zip(sets["vqa_direct"], sets["vqa_server"], strict=True):
            out["vqa_direct"].append(await asyncio.to_thread(direct.five_questions, path_direct))
            start = time.perf_counter()
            answers = await asyncio.gather(*(client.call_tool("answer_question", {
                "image": path_server, "question": q, "max_new_tokens": 10, "num_beams": 1}) for q in QUESTIONS))
            out["vqa_server"].append(time.perf_counter() - start)
            if any(a.is_error for a in answers):
                raise RuntimeError(answers[0].content[0].text)
    return out


async def measure_explain(settings, images: list[str], text: str = "a dog sitting on a red sofa") -> dict:
    """explain_match against score_image_text (ITM, one text) on the same image and text, through an MCP client.

    Cold: a new image for each pair of calls, scored first (so the explanation finds its features cached, as
    an agent that checks a match and then asks where would); warm: both again on an image already encoded.
    """
    from mcp import Client

    from mcp_server.server import create_server

    out: dict = {"score_cold": [], "explain_after_score": [], "score_warm": [], "explain_warm": []}
    async with Client(create_server(settings)) as client:
        async def timed(tool: str, arguments: dict) -> float:
            start = time.perf_counter()
            result = await client.call_tool(tool, arguments)
            if result.is_error:
                raise RuntimeError(result.content[0].text)
            return time.perf_counter() - start

        await timed("explain_match", {"image": images[0], "text": text})  # loads the model
        for path in images[1:]:
            out["score_cold"].append(await timed("score_image_text", {"image": path, "texts": [text]}))
            out["explain_after_score"].append(await timed("explain_match", {"image": path, "text": text}))
            out["score_warm"].append(await timed("score_image_text", {"image": path, "texts": [text]}))
            out["explain_warm"].append(await timed("explain_match", {"image": path, "text": text}))
    medians = {k: statistics.median(v) for k, v in out.items()}
    medians["ratio_warm"] = medians["explain_warm"] / medians["score_warm"]
    medians["ratio_cold"] = (medians["explain_after_score"] + medians["score_cold"]) / medians["score_cold"]
    return medians


def measure_index(settings, direct: DirectProcess, folder: Path, images: list[str]) -> dict:
    """Indexing throughput against the direct way, a query over 100,000 vectors, and re-indexing an unchanged
    folder of 1,000 images."""
    import numpy as np

    from mcp_server.image_index import search as index_search
    from mcp_server.image_index.store import Row
    from mcp_server.services import Services

    out: dict = {"images": len(images)}
    gallery = folder / "gallery"
    gallery.mkdir()
    for path in images:
        Path(path).rename(gallery / Path(path).name)
    out["direct_s"] = direct.call("embed", [str(p) for p in sorted(gallery.iterdir())])
    settings = settings.model_copy(update={"index": settings.index.model_copy(update={
        "path": str(folder / "bench-index.sqlite")})})
    with Services(settings) as services:
        asyncio.run(services.images.index(str(folder / "warmup")))  # loads the model; not measured
        start = time.perf_counter()
        report = asyncio.run(services.images.index(str(gallery)))
        out["server_s"] = time.perf_counter() - start
        assert report.added == len(images), report

        # 1,000 unchanged files: real files and stats, rows as an earlier run would have left them.
        many = folder / "many"
        many.mkdir()
        vector = np.zeros((1, 256), np.float32)
        rows = []
        for i in range(1000):
            path = many / f"{i:04d}.png"
            path.write_bytes(Path(next(gallery.iterdir())).read_bytes())
            info = path.stat()
            rows.append(Row(str(path), info.st_size, info.st_mtime_ns, f"{i:064x}", 640, 480,
                            services.images.model, vector))
        services.images.store.write(rows)
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            again = asyncio.run(services.images.index(str(many)))
            runs.append(time.perf_counter() - start)
            assert again.unchanged == 1000 and again.added == 0, again
        out["reindex_1000_unchanged_s"] = statistics.median(runs)

        # 100,000 vectors of 256 dimensions: exact cosine search with numpy, median of 20 queries.
        rng = np.random.default_rng(0)
        vectors = rng.standard_normal((100_000, 1, 256)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=-1, keepdims=True)
        matrix = index_search.Matrix([str(i) for i in range(100_000)], vectors, *(np.zeros(100_000, int),) * 3,
                                     [None] * 100_000, [""] * 100_000)
        timings = []
        for _ in range(20):
            query = rng.standard_normal(256).astype(np.float32)
            query /= np.linalg.norm(query)
            start = time.perf_counter()
            index_search.top_k(matrix.scores(query), 10)
            timings.append(time.perf_counter() - start)
        out["query_100k_ms"] = 1000 * statistics.median(timings)
        start = time.perf_counter()
        asyncio.run(services.images.search("a photo of a dog", k=10))
        out["text_query_call_ms"] = 1000 * (time.perf_counter() - start)
    out["direct_images_per_s"] = len(images) / out["direct_s"]
    out["server_images_per_s"] = len(images) / out["server_s"]
    out["ratio"] = out["server_images_per_s"] / out["direct_images_per_s"]
    return out


def startup_seconds(config: Path, rounds: int = 5) -> float:
    """Median seconds from launching ``ai-notes-mcp serve`` (stdio) to its answer to ``tools/list``.

    The package's bytecode is compiled first, as an install leaves it (and as any start after the first
    finds it, unless PYTHONDONTWRITEBYTECODE is set).
    """
    import compileall

    from mcp import Client, StdioServerParameters

    compileall.compile_dir(ROOT / "mcp_server", quiet=1)

    async def once() -> float:
        params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_server", "serve", "--config",
                                                                     str(config)], env=dict(os.environ))
        start = time.perf_counter()
        async with Client(params) as client:
            await client.list_tools()
            return time.perf_counter() - start

    return statistics.median(asyncio.run(once()) for _ in range(rounds))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--blip2-full" in argv:  # its own measurements and flags (--rounds, --size): tools/bench_blip2.py
        import bench_blip2

        return bench_blip2.main([arg for arg in argv if arg != "--blip2-full"])
    from mcp_server.vision.loading import quiet_libraries

    quiet_libraries()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blip2-full", action="store_true",
                        help="measure BLIP-2 OPT-2.7B at its real size instead (tools/bench_blip2.py; its flags "
                             "follow: python tools/bench.py --blip2-full --help)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--images", type=int, default=8,
                        help="images per measured phase (each concurrent round uses twice as many, at least two "
                             "per caller)")
    parser.add_argument("--concurrency", type=int, default=8, help="callers at once in the concurrent rounds")
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--models", type=Path, default=ROOT / ".bench-models", help="where base checkpoints live")
    parser.add_argument("--max-batch", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    import torch
    from make_tiny_models import make

    from mcp_server.config import load_settings
    from mcp_server.errors import AiNotesError
    from mcp_server.vision.loading import resolve_device, resolve_dtype

    config = make(args.models, "base")
    env = {"AI_NOTES_MCP_DEVICE": args.device, "AI_NOTES_MCP_BATCHING": f"{{max_batch: {args.max_batch}}}"}
    try:  # a bad device, or one this machine lacks, stops the run here in one line
        settings = load_settings(config, environ=env)
        device = resolve_device(settings.device)
        dtype = resolve_dtype(settings.dtype, device)
    except AiNotesError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return exc.exit_code
    caption_source = settings.models["blip-base"].source
    vqa_source = settings.models["blip-vqa"].source

    startup = startup_seconds(config)  # first, while nothing else in this process holds the CPU
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        n = args.images
        sets = {"direct": make_images(folder, n, 1), "c1": make_images(folder, n, 2),
                "concurrent": [make_images(folder, max(2 * n, 2 * args.concurrency), 30 + r) for r in range(3)],
                "direct_after": [make_images(folder, n // 2 or 1, 40 + r) for r in range(3)],
                "warmup": make_images(folder, 2, 5), "vqa_direct": make_images(folder, 2, 6),
                "vqa_server": make_images(folder, 2, 7)}
        direct = DirectProcess(caption_source, vqa_source, device, args.tokens, settings.models["blip-itm"].source)
        dtype_name = str(dtype).removeprefix("torch.")
        try:
            # The peak before and after the runs, the higher kept: a burst of noise must not lower the bound.
            peak = direct.call("matmul_peak", dtype_name)
            flops = direct.call("caption_flops", sets["warmup"][1])
            runs = asyncio.run(measure(settings, direct, sets, args.tokens, args.concurrency))
            peak = max(peak, direct.call("matmul_peak", dtype_name))
            explain = asyncio.run(measure_explain(settings, make_images(folder, 6, 8)))
            (folder / "warmup").mkdir()
            make_images(folder / "warmup", 1, 9)
            index = measure_index(settings, direct, folder, make_images(folder, 4 * n, 10))
        finally:
            direct.close()

    bound = peak / flops  # images/s if every FLOP ran at the matmul peak
    direct_rate = 1 / statistics.median(runs["direct"])
    c1_rate = 1 / statistics.median(runs["c1"])
    round_rates = [len(r["latencies"]) / r["seconds"] for r in runs["concurrent"]]
    round_latencies = [latency for r in runs["concurrent"] for latency in r["latencies"]]
    rows = [
        {"run": "direct generate, fp32, sequential", "images_per_s": direct_rate, "latencies": runs["direct"]},
        {"run": f"server, concurrency 1 ({str(dtype).removeprefix('torch.')})", "images_per_s": c1_rate,
         "latencies": runs["c1"]},
        {"run": f"server, concurrency {args.concurrency} ({str(dtype).removeprefix('torch.')})",
         "images_per_s": statistics.median(round_rates), "latencies": round_latencies},
    ]
    for row in rows:
        latencies = row.pop("latencies")
        row.update(p50_s=statistics.median(latencies), p95_s=percentile(latencies, 0.95),
                   ratio_to_direct=row["images_per_s"] / direct_rate, pct_of_bound=100 * row["images_per_s"] / bound)
    vqa_direct, vqa_server = statistics.median(runs["vqa_direct"]), statistics.median(runs["vqa_server"])
    report = {
        "machine": {"device": device, "torch": torch.__version__, "threads": torch.get_num_threads(),
                    "cpu_count": os.cpu_count(), "dtype": str(dtype).removeprefix("torch.")},
        "gflop_per_caption": flops / 1e9, "matmul_peak_gflops": peak / 1e9, "compute_bound_images_per_s": bound,
        "captions": rows,
        "five_questions": {"direct_s": vqa_direct, "server_s": vqa_server, "ratio": vqa_direct / vqa_server},
        "concurrent_rounds_images_per_s": round_rates,
        "startup_to_tools_list_s": startup,
        "explain_match": explain,
        "image_index": index,
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
    rounds = ", ".join(f"{rate:.2f}" for rate in round_rates)
    print(f"\nconcurrency {args.concurrency}, images/s in each round: {rounds} (the table gives their median)")
    five = report["five_questions"]
    print(f"five questions about one image (median of 2): direct {five['direct_s']:.2f} s, "
          f"server {five['server_s']:.2f} s "
          f"({five['ratio']:.1f}x)")
    print(f"process start to tools/list answered (stdio, median of 5): {startup:.2f} s")
    print(f"explain_match vs score_image_text (ITM, one text; median of 5): warm {explain['explain_warm']:.2f} s vs "
          f"{explain['score_warm']:.2f} s ({explain['ratio_warm']:.1f}x); on a new image, score then explain "
          f"{explain['score_cold'] + explain['explain_after_score']:.2f} s vs score alone "
          f"{explain['score_cold']:.2f} s ({explain['ratio_cold']:.1f}x)")
    print(f"image index, {index['images']} images: direct (one fp32 forward each) {index['direct_images_per_s']:.2f} "
          f"images/s, index_images {index['server_images_per_s']:.2f} images/s ({index['ratio']:.1f}x); "
          f"query over 100,000 vectors {index['query_100k_ms']:.1f} ms (a whole text query call "
          f"{index['text_query_call_ms']:.0f} ms); re-index 1,000 unchanged images "
          f"{index['reindex_1000_unchanged_s']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
