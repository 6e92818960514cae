"""Benchmark of caption-dataset: the local job and the Ray job against the direct way and the server, one run.

    python tools/bench_datasets.py [--images N] [--rounds R] [--tokens T] [--no-ray] [--json] [--models DIR]

With blip-base-sized random-weight checkpoints (``make_tiny_models.py --size base``), every caption greedy
with exactly T new tokens, R rounds, each on new images (nothing is served from a cache), medians reported:
  a) direct: one ``generate`` per image, fp32, sequential, in a process of its own (tools/bench.py's), a few
     images after each round, so a noisy machine's drift hits every way alike;
  b) the server through an MCP client (in memory), 8 callers at once over N images;
  c) the local job (``caption_dataset``) over a folder of N images;
  d) the Ray job over N images on a local Ray instance with 2 CPUs (``ray.init(num_cpus=2)``, started once),
     with the default pool (two 1-CPU actors) and with one 2-CPU actor.
For the jobs, "steady" is the rate after each engine's first batch, read from the rows' ``time`` column (a batch's
rows are made together): the pipeline at work, models loaded; "wall" is N over the whole call; the overhead is
the wall time minus N / steady (loading the models, and on Ray starting the actors, shipping the work and the
rows, and the fill and drain of the pipeline).
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


async def server_round(client, images: list[str], tokens: int, concurrency: int = 8) -> float:
    """images/s of ``concurrency`` MCP callers sharing the server over ``images``."""
    queue = list(images)
    arguments = {"max_new_tokens": tokens, "min_new_tokens": tokens, "num_beams": 1}

    async def caller() -> None:
        while queue:
            result = await client.call_tool("caption_image", {"image": queue.pop(), **arguments})
            if result.is_error:
                raise RuntimeError(result.content[0].text)

    start = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return len(images) / (time.perf_counter() - start)


def job(settings, folder: Path, out: Path, tokens: int, *, ray: tuple[int, float] | None = None) -> dict:
    """caption_dataset over ``folder``: its steady and wall images/s, and its overhead in seconds."""
    import pyarrow.dataset

    from mcp_server.datasets.job import caption_dataset
    from mcp_server.datasets.options import DatasetJob, RayOptions
    from mcp_server.datasets.tasks import task_specs
    from mcp_server.vision.options import AnswerOptions, CaptionOptions

    caption = CaptionOptions(max_new_tokens=tokens, min_new_tokens=tokens, num_beams=1)
    specs = task_specs(["caption"], settings, caption=caption, answer=AnswerOptions())
    options = RayOptions(actors=ray[0], cpus_per_actor=ray[1]) if ray else None
    request = DatasetJob(str(folder), str(out), specs, ray=options)
    start = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        summary = caption_dataset(settings, request, stream=quiet)
    wall = time.perf_counter() - start
    if summary.done != summary.images:
        raise RuntimeError(f"the job did {summary.done} of {summary.images} images: {summary.failures[:1]}")
    times = sorted(t.timestamp() for t in pyarrow.dataset.dataset(out).to_table(columns=["time"])["time"].to_pylist())
    steady = steady_rate(times, ray[0] if ray else 1)
    return {"steady": steady, "wall": summary.images / wall, "overhead_s": wall - summary.images / steady}


def steady_rate(times: list[float], engines: int, gap_s: float = 0.1) -> float:
    """Images per second after each engine's first batch: a batch's rows are made together (a cluster of row
    times), so the first ``engines`` clusters are the pipeline filling, and the rest is its steady work."""
    clusters = [[times[0]]]
    for t in times[1:]:
        if t - clusters[-1][-1] < gap_s:
            clusters[-1].append(t)
        else:
            clusters.append([t])
    filled = sum(len(c) for c in clusters[:engines])
    if len(clusters) <= engines:
        return float("nan")  # too few batches to tell (the warm-up run); rounds use enough images
    return (len(times) - filled) / (times[-1] - clusters[engines - 1][-1])


def folder_of(root: Path, name: str, count: int, seed: int) -> Path:
    from bench import make_images

    folder = root / name
    folder.mkdir()
    make_images(folder, count, seed)
    return folder


RAY_POOLS = {"ray, 2 actors x 1 CPU": (2, 1.0), "ray, 1 actor x 2 CPUs": (1, 2.0)}


async def rounds(settings, root: Path, direct, args) -> dict:
    from mcp import Client

    from mcp_server.server import create_server

    out: dict = {"direct": [], "server": [], "local": [], **{pool: [] for pool in RAY_POOLS if not args.no_ray}}
    warm = folder_of(root, "warm", 8, 500)
    async with Client(create_server(settings)) as client:
        await server_round(client, [str(p) for p in sorted(warm.iterdir())][:4], args.tokens)  # loads the model
        job(settings, warm, root / "out-warm", args.tokens)  # the job's first load and first batches
        await asyncio.to_thread(direct.caption, str(next(warm.iterdir())))
        for r in range(args.rounds):
            images = [str(p) for p in sorted(folder_of(root, f"server{r}", args.images, 600 + r).iterdir())]
            out["server"].append(await server_round(client, images, args.tokens))
            for n, (mode, pool) in enumerate([("local", None), *((k, v) for k, v in RAY_POOLS.items() if k in out)]):
                folder = folder_of(root, f"job{r}-{n}", args.images, 700 + 10 * r + n)
                out[mode].append(await asyncio.to_thread(job, settings, folder, root / f"out{r}-{n}", args.tokens,
                                                         ray=pool))
            for path in sorted(folder_of(root, f"direct{r}", args.direct, 800 + r).iterdir()):
                out["direct"].append(await asyncio.to_thread(direct.caption, str(path)))
    return out


def main(argv: list[str] | None = None) -> int:
    from mcp_server.vision.loading import quiet_libraries

    quiet_libraries()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=48, help="images per round (and the Ray job's N)")
    parser.add_argument("--direct", type=int, default=4, help="images the direct way does after each round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--models", type=Path, default=ROOT / ".bench-models", help="where base checkpoints live")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray job")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    import torch
    from bench import DirectProcess
    from make_tiny_models import make

    from mcp_server.config import load_settings
    from mcp_server.vision.loading import resolve_dtype

    config = make(args.models, "base")
    settings = load_settings(config, environ={"AI_NOTES_MCP_DEVICE": "cpu"})
    dtype = str(resolve_dtype(settings.dtype, "cpu")).removeprefix("torch.")
    ray_start = None
    if not args.no_ray:
        import ray

        started = time.perf_counter()
        ray.init(num_cpus=2, object_store_memory=512 * 1024**2, logging_level="WARNING")
        from ray.data import DataContext

        DataContext.get_current().enable_progress_bars = False
        ray_start = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        direct = DirectProcess(settings.models["blip-base"].source, settings.models["blip-vqa"].source, "cpu",
                               args.tokens)
        try:
            runs = asyncio.run(rounds(settings, Path(tmp), direct, args))
        finally:
            direct.close()
            if ray_start is not None:
                ray.shutdown()

    direct_rate = 1 / statistics.median(runs["direct"])
    server = statistics.median(runs["server"])
    jobs = {mode: {key: statistics.median(r[key] for r in runs[mode]) for key in ("steady", "wall", "overhead_s")}
            for mode in runs if mode not in ("direct", "server")}
    report = {
        "machine": {"torch": torch.__version__, "threads": torch.get_num_threads(), "dtype": dtype},
        "images_per_round": args.images, "direct_images_per_s": direct_rate, "server_c8_images_per_s": server,
        "jobs": jobs, "ray_init_s": ray_start, "rounds": runs,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), server and jobs in {dtype}; "
          f"{args.tokens}-token greedy captions, blip-base architecture, random weights; {args.images} images a "
          f"round, {args.rounds} rounds, medians\n")
    print("| run | images/s | x direct | x server c8 | overhead s |")
    print("|---|---:|---:|---:|---:|")
    rows = [("direct generate, fp32, sequential", direct_rate, None),
            ("server, MCP client, concurrency 8", server, None)]
    for mode, result in jobs.items():
        rows.append((f"caption-dataset, {mode}, steady", result["steady"], None))
        rows.append((f"caption-dataset, {mode}, wall", result["wall"], result["overhead_s"]))
    for label, rate, overhead in rows:
        extra = f"{overhead:.1f}" if overhead is not None else ""
        print(f"| {label} | {rate:.2f} | {rate / direct_rate:.2f} | {rate / server:.2f} | {extra} |")
    print("\nper round, images/s: server " + ", ".join(f"{r:.2f}" for r in runs["server"]) + "; " + "; ".join(
        f"{mode} " + ", ".join(f"{r['steady']:.2f}" for r in runs[mode]) for mode in jobs))
    if ray_start is not None:
        print(f"ray.init(num_cpus=2): {ray_start:.1f} s, once")
    return 0


if __name__ == "__main__":
    sys.exit(main())
