"""Benchmark of caption-dataset: the local job and the Ray job against the direct way and the server, one run.

    python tools/bench_datasets.py [--images N] [--rounds R] [--tokens T] [--no-ray] [--json] [--models DIR]

With blip-base-sized random-weight checkpoints (``make_tiny_models.py --size base``), every caption greedy
with exactly T new tokens:
  a) direct: one ``generate`` per image, fp32, sequential, in a process of its own (tools/bench.py's);
  b) the server through an MCP client (in memory), 8 callers at once over N images;
  c) the local job (``caption_dataset``) over a folder of N other images: its steady images/s (from the
     models loaded to the last part written, the summary's figure) and its wall time with loading;
  b and c alternate for R rounds, each on new images (nothing is served from a cache), medians reported;
     the direct way runs a few images after each round, so a noisy machine's drift hits all three alike;
  d) the Ray job on a local Ray instance with 2 CPUs (``ray.init(num_cpus=2)``): N and then 2N new images
     (and again with one 2-CPU actor); the steady rate is N / (T(2N) - T(N)) and the fixed overhead (Ray's
     start, the actors' start and their model loading, the pipeline's fill and drain) is T(N) - N / rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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


def job(settings, folder: Path, out: Path, tokens: int, *, ray: tuple[int, float] | None = None):
    """caption_dataset over ``folder``: (its summary, wall seconds)."""
    from mcp_server.datasets.job import caption_dataset
    from mcp_server.datasets.options import DatasetJob, RayOptions
    from mcp_server.datasets.tasks import task_specs
    from mcp_server.vision.options import AnswerOptions, CaptionOptions

    caption = CaptionOptions(max_new_tokens=tokens, min_new_tokens=tokens, num_beams=1)
    specs = task_specs(["caption"], settings, caption=caption, answer=AnswerOptions())
    options = RayOptions(actors=ray[0], cpus_per_actor=ray[1]) if ray else None
    request = DatasetJob(str(folder), str(out), specs, ray=options)
    start = time.perf_counter()
    with open("/dev/null", "w") as quiet:
        summary = caption_dataset(settings, request, stream=quiet)
    if summary.done != summary.images:
        raise RuntimeError(f"the job did {summary.done} of {summary.images} images: {summary.failures[:1]}")
    return summary, time.perf_counter() - start


def folder_of(root: Path, name: str, count: int, seed: int) -> Path:
    from bench import make_images

    folder = root / name
    folder.mkdir()
    make_images(folder, count, seed)
    return folder


async def local_rounds(settings, root: Path, direct, args) -> dict:
    from mcp import Client

    from mcp_server.server import create_server

    out: dict = {"server": [], "job": [], "job_wall": [], "job_load_s": [], "direct": []}
    warm = folder_of(root, "warm", 8, 500)
    async with Client(create_server(settings)) as client:
        await server_round(client, [str(p) for p in sorted(warm.iterdir())][:4], args.tokens)  # loads the model
        job(settings, warm, root / "out-warm", args.tokens)  # the job's first load and first batches
        await asyncio.to_thread(direct.caption, str(next(warm.iterdir())))
        for r in range(args.rounds):
            images = [str(p) for p in sorted(folder_of(root, f"server{r}", args.images, 600 + r).iterdir())]
            out["server"].append(await server_round(client, images, args.tokens))
            folder = folder_of(root, f"job{r}", args.images, 700 + r)
            summary, wall = await asyncio.to_thread(job, settings, folder, root / f"out-job{r}", args.tokens)
            out["job"].append(summary.images_per_s)
            out["job_wall"].append(args.images / wall)
            out["job_load_s"].append(wall - summary.done / summary.images_per_s)
            for path in sorted(folder_of(root, f"direct{r}", args.direct, 800 + r).iterdir()):
                out["direct"].append(await asyncio.to_thread(direct.caption, str(path)))
    return out


def ray_runs(settings, root: Path, args) -> dict:
    import ray

    ray.init(num_cpus=2, object_store_memory=512 * 1024**2, logging_level="WARNING")
    from ray.data import DataContext

    DataContext.get_current().enable_progress_bars = False
    out: dict = {}
    try:
        for label, actors, cpus in (("2 actors x 1 CPU", 2, 1.0), ("1 actor x 2 CPUs", 1, 2.0)):
            small = folder_of(root, f"ray-{actors}-n", args.images, 900 + actors)
            large = folder_of(root, f"ray-{actors}-2n", 2 * args.images, 950 + actors)
            _, t_n = job(settings, small, root / f"out-ray-{actors}-n", args.tokens, ray=(actors, cpus))
            _, t_2n = job(settings, large, root / f"out-ray-{actors}-2n", args.tokens, ray=(actors, cpus))
            rate = args.images / (t_2n - t_n) if t_2n > t_n else float("nan")
            out[label] = {"wall_n_s": t_n, "wall_2n_s": t_2n, "steady_images_per_s": rate,
                          "overhead_s": t_n - args.images / rate, "wall_images_per_s": 2 * args.images / t_2n}
    finally:
        ray.shutdown()
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
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        direct = DirectProcess(settings.models["blip-base"].source, settings.models["blip-vqa"].source, "cpu",
                               args.tokens)
        try:
            local = asyncio.run(local_rounds(settings, root, direct, args))
        finally:
            direct.close()
        on_ray = None if args.no_ray else ray_runs(settings, root, args)

    direct_rate = 1 / statistics.median(local["direct"])
    report = {
        "machine": {"torch": torch.__version__, "threads": torch.get_num_threads(), "dtype": dtype},
        "direct_images_per_s": direct_rate,
        "server_c8_images_per_s": statistics.median(local["server"]),
        "job_images_per_s": statistics.median(local["job"]),
        "job_wall_images_per_s": statistics.median(local["job_wall"]),
        "job_load_s": statistics.median(local["job_load_s"]),
        "rounds": {k: local[k] for k in ("server", "job", "job_wall")},
        "ray": on_ray,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    server = report["server_c8_images_per_s"]
    print(f"torch {report['machine']['torch']} ({report['machine']['threads']} threads), server and job dtype {dtype}; "
          f"{args.tokens}-token greedy captions, blip-base architecture, random weights; {args.images} images a "
          f"round, {args.rounds} rounds, medians\n")
    print("| run | images/s | x direct | x server c8 |")
    print("|---|---:|---:|---:|")
    rows = [("direct generate, fp32, sequential", direct_rate),
            ("server, MCP client, concurrency 8", server),
            ("caption-dataset, local, steady", report["job_images_per_s"]),
            (f"caption-dataset, local, wall with model load ({report['job_load_s']:.1f} s)",
             report["job_wall_images_per_s"])]
    for label, result in (on_ray or {}).items():
        rows.append((f"caption-dataset --ray, {label}, steady", result["steady_images_per_s"]))
        rows.append((f"caption-dataset --ray, {label}, wall for {2 * args.images} images",
                     result["wall_images_per_s"]))
    for label, rate in rows:
        print(f"| {label} | {rate:.2f} | {rate / direct_rate:.2f} | {rate / server:.2f} |")
    print("\nper round, images/s: server " + ", ".join(f"{r:.2f}" for r in local["server"])
          + "; job " + ", ".join(f"{r:.2f}" for r in local["job"]))
    for label, result in (on_ray or {}).items():
        print(f"ray {label}: {args.images} images in {result['wall_n_s']:.1f} s, {2 * args.images} in "
              f"{result['wall_2n_s']:.1f} s; fixed overhead {result['overhead_s']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
