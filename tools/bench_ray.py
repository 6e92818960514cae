"""Benchmark: what the Ray Serve path (``serve --http --ray``) adds to a call, against the in-process server.

    python tools/bench_ray.py [--models DIR | --size tiny] [--concurrency C] [--images N] [--tokens T] [--cpus N]
                              [--json]

Both servers run in this process with the same settings and are driven the same way, through an MCP client in
memory: the in-process one (its engine on this process's compute thread) and the one of ``serve --http --ray``
(images loaded and pixels prepared here, the model in one Ray Serve replica of a local Ray instance). The replica
is given every CPU Ray has here, so its torch runs as many threads as the in-process engine's, and the two servers
take turns (image by image at concurrency 1, round by round at concurrency C, the first side alternating), so a
noisy machine's drift hits both alike and neither competes with the other for the cores. Each side has its own
feature cache (the replica's is in its own process), so both caption the same images, each image once per side.

Reported: at concurrency 1 the median latency of each and the difference (the Ray path's cost per call: the
handle call, the pixels' trip to the replica, Serve's batch wait and the result's trip back); at concurrency C
the median images/s of the rounds and the latencies. Greedy captions of exactly T new tokens on both sides.
With ``--size tiny`` (checkpoints that take milliseconds) the difference is nearly all overhead.
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

from bench import make_images, percentile  # noqa: E402

SIDES = ("in_process", "ray")


def checkpoints(models: Path | None, size: str, scratch: Path) -> Path:
    """The config.yaml of the checkpoints to use: an existing folder's as it is (never rewritten), else made."""
    from make_tiny_models import make

    if models is not None and (models / "config.yaml").is_file():
        return models / "config.yaml"
    return make(models or scratch / f"{size}-models", size)


async def measure(services: dict, images: dict, tokens: int, concurrency: int) -> dict:
    from mcp import Client

    from mcp_server.server import create_server

    caption_args = {"max_new_tokens": tokens, "min_new_tokens": tokens, "num_beams": 1}
    out: dict = {side: {"c1": [], "rounds": []} for side in SIDES}
    async with Client(create_server(services["in_process"].settings, services=services["in_process"])) as local, \
            Client(create_server(services["ray"].settings, services=services["ray"])) as remote:
        clients = {"in_process": local, "ray": remote}

        async def timed(side: str, path: str) -> float:
            start = time.perf_counter()
            result = await clients[side].call_tool("caption_image", {"image": path, **caption_args})
            if result.is_error:
                raise RuntimeError(f"{side}: {result.content[0].text}")
            return time.perf_counter() - start

        for path in images["warmup"]:  # loading, the first batches and Serve's routing are not what is measured
            for side in SIDES:
                await timed(side, path)

        for i, path in enumerate(images["c1"]):
            for side in SIDES if i % 2 == 0 else SIDES[::-1]:
                out[side]["c1"].append(await timed(side, path))

        for r, round_images in enumerate(images["rounds"]):
            for side in SIDES if r % 2 == 0 else SIDES[::-1]:
                queue, latencies = list(round_images), []

                async def caller(side=side, queue=queue, latencies=latencies) -> None:
                    while queue:
                        latencies.append(await timed(side, queue.pop()))

                start = time.perf_counter()
                await asyncio.gather(*(caller() for _ in range(concurrency)))
                out[side]["rounds"].append({"seconds": time.perf_counter() - start, "latencies": latencies})
    return out


def summarise(runs: dict, concurrency: int) -> dict:
    report: dict = {}
    for side in SIDES:
        c1, rounds = runs[side]["c1"], runs[side]["rounds"]
        latencies = [latency for r in rounds for latency in r["latencies"]]
        report[side] = {
            "c1_p50_ms": 1000 * statistics.median(c1), "c1_p95_ms": 1000 * percentile(c1, 0.95),
            f"c{concurrency}_images_per_s": statistics.median(len(r["latencies"]) / r["seconds"] for r in rounds),
            f"c{concurrency}_rounds_images_per_s": [len(r["latencies"]) / r["seconds"] for r in rounds],
            f"c{concurrency}_p50_ms": 1000 * statistics.median(latencies),
        }
    local, ray = report["in_process"], report["ray"]
    report["overhead"] = {
        "c1_ms_per_call": ray["c1_p50_ms"] - local["c1_p50_ms"],
        "c1_latency_ratio": ray["c1_p50_ms"] / local["c1_p50_ms"],
        f"c{concurrency}_throughput_ratio": ray[f"c{concurrency}_images_per_s"] / local[f"c{concurrency}_images_per_s"],
        f"c{concurrency}_latency_ratio": ray[f"c{concurrency}_p50_ms"] / local[f"c{concurrency}_p50_ms"],
    }
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, help="a folder of checkpoints with its config.yaml (used as it is); "
                                                    "default: made in a temporary folder at --size")
    parser.add_argument("--size", choices=["tiny", "base"], default="base")
    parser.add_argument("--images", type=int, default=8, help="images at concurrency 1, per side")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="rounds at --concurrency, per side")
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--cpus", type=int, default=os.cpu_count(), help="CPUs of the local Ray instance, all given "
                                                                         "to the one replica")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    import ray
    import torch

    from mcp_server.config import load_settings
    from mcp_server.ray_serve.remote import RemoteVisionService
    from mcp_server.services import Services
    from mcp_server.vision.loading import quiet_libraries

    quiet_libraries()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = checkpoints(args.models, args.size, folder)
        env = {"AI_NOTES_MCP_BATCHING": "{max_batch: 8}", "AI_NOTES_MCP_DEVICE": "cpu",
               "AI_NOTES_MCP_RAY_SERVE": f"{{num_cpus: {args.cpus}, app_prefix: bench-}}"}
        settings = load_settings(config, environ=env)
        images = {"warmup": make_images(folder, 2, 5), "c1": make_images(folder, args.images, 1),
                  "rounds": [make_images(folder, 2 * args.concurrency, 30 + r) for r in range(args.rounds)]}
        ray.init(num_cpus=args.cpus, include_dashboard=False, logging_level="ERROR")
        services = {"in_process": Services(settings), "ray": Services(settings, ray_address="")}
        try:
            assert isinstance(services["ray"].vision, RemoteVisionService)
            runs = asyncio.run(measure(services, images, args.tokens, args.concurrency))
            replica = services["ray"].vision.stats("blip-base")
            dtype = services["ray"].vision.list_models().dtype
        finally:
            for side in SIDES:
                services[side].close()
            ray.shutdown()

    report = {"machine": {"cpu_count": os.cpu_count(), "torch": torch.__version__, "ray": ray.__version__,
                          "threads": torch.get_num_threads(), "dtype": dtype},
              "checkpoints": str(config.parent), "tokens": args.tokens, "concurrency": args.concurrency,
              **summarise(runs, args.concurrency), "replica_batch_sizes": replica["batch_sizes"]}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    c, o = args.concurrency, report["overhead"]
    m = report["machine"]
    print(f"{m['cpu_count']} cores, torch {m['torch']}, Ray {m['ray']}, dtype {m['dtype']}; {args.tokens}-token greedy "
          f"captions, checkpoints {report['checkpoints']}")
    print(f"\n| server | c1 p50 ms | c1 p95 ms | c{c} images/s | c{c} p50 ms |")
    print("|---|---:|---:|---:|---:|")
    for side in SIDES:
        row = report[side]
        print(f"| {side} | {row['c1_p50_ms']:.0f} | {row['c1_p95_ms']:.0f} | {row[f'c{c}_images_per_s']:.2f} | "
              f"{row[f'c{c}_p50_ms']:.0f} |")
    print(f"\nRay path: +{o['c1_ms_per_call']:.0f} ms per call at concurrency 1 ({o['c1_latency_ratio']:.2f}x the "
          f"latency); at concurrency {c} {o[f'c{c}_throughput_ratio']:.2f}x the images/s, "
          f"{o[f'c{c}_latency_ratio']:.2f}x the latency")
    rounds = {side: ", ".join(f"{x:.2f}" for x in report[side][f"c{c}_rounds_images_per_s"]) for side in SIDES}
    print(f"rounds, images/s: in-process {rounds['in_process']}; ray {rounds['ray']}; "
          f"the replica's batch sizes (size: count) {report['replica_batch_sizes']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
