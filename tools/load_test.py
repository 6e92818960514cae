"""Load test: many concurrent MCP clients over streamable HTTP against one server, nothing lost.

    python tools/load_test.py [--calls 200] [--clients 20] [--max-queue 8] [--json]

Starts ``ai-notes-mcp serve --http`` on 127.0.0.1 (a free port) with tiny random-weight checkpoints, sends
``--calls`` tool calls (captions, questions, matches) from ``--clients`` concurrent clients, each call about
its own image, and checks every answer: either a result whose sha256 is that image's, or a clean one-line
"busy, retry" refusal when the queue (``--max-queue``) is full. Reports calls, seconds, busy refusals, other
errors, and the server's peak RSS. Traffic stays on loopback; the run is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_images(folder: Path, count: int) -> dict[str, str]:
    """count distinct small PNGs -> {path: sha256 of its bytes}."""
    from PIL import Image

    images = {}
    for i in range(count):
        path = folder / f"load{i}.png"
        Image.new("RGB", (32 + i, 24 + i % 7), ((i * 37) % 256, (i * 91) % 256, (i * 13) % 256)).save(path)
        images[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return images


def peak_rss_mib(pid: int) -> float:
    """The process's high-water resident set (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if the server has not exited within 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def start_server(config: Path, port: int, max_queue: int, roots: str, cache: str, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AI_NOTES_MCP_")}
    env.update(HF_HUB_OFFLINE="1", XDG_CACHE_HOME=cache, AI_NOTES_MCP_BATCHING=f"{{max_queue: {max_queue}}}",
               AI_NOTES_MCP_IMAGES=f"{{allowed_roots: [{roots}]}}")
    return subprocess.Popen([sys.executable, "-m", "mcp_server", "serve", "--http", "--port", str(port),
                             "--config", str(config)], env=env, stdout=subprocess.DEVNULL,
                            stderr=log.open("w"))  # a file, not a pipe: nobody drains a pipe under load


async def wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    import httpx2

    deadline = time.monotonic() + timeout
    async with httpx2.AsyncClient() as http:
        while True:
            try:
                await http.get(url, timeout=2)
                return
            except httpx2.TransportError:
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited: {log.read_text()[-500:]}") from None
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start in time") from None
                await asyncio.sleep(0.2)


def call_for(index: int, image: str) -> tuple[str, dict]:
    kind = index % 3
    if kind == 0:
        return "caption_image", {"image": image, "max_new_tokens": 6}
    if kind == 1:
        return "answer_question", {"image": image, "question": f"what is in picture {index}?"}
    return "score_image_text", {"image": image, "texts": ["a red square", "a blue sky", f"item {index}"]}


async def drive(url: str, images: dict[str, str], calls: int, clients: int, deadline_s: float) -> dict:
    from mcp import Client

    paths = list(images)
    outcomes = {"ok": 0, "busy": 0, "wrong_image": 0, "errors": []}
    next_call = iter(range(calls))

    async def client_loop() -> None:
        async with Client(url) as client:
            for index in next_call:  # the shared iterator hands each call to exactly one client
                image = paths[index % len(paths)]
                name, arguments = call_for(index, image)
                result = await client.call_tool(name, arguments)
                if result.is_error:
                    text = result.content[0].text
                    key = "busy" if text.startswith("busy:") and "\n" not in text else None
                    if key:
                        outcomes["busy"] += 1
                    else:
                        outcomes["errors"].append(text)
                elif result.structured_content["image"]["sha256"] != images[image]:
                    outcomes["wrong_image"] += 1
                else:
                    outcomes["ok"] += 1

    await asyncio.wait_for(asyncio.gather(*(client_loop() for _ in range(clients))), timeout=deadline_s)
    return outcomes


def run(calls: int = 200, clients: int = 20, max_queue: int = 8, deadline_s: float = 300) -> dict:
    from make_tiny_models import make

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = make(folder / "models", "tiny")
        (folder / "images").mkdir()
        images = make_images(folder / "images", 40)
        port = free_port()
        url = f"http://127.0.0.1:{port}/mcp"
        log = folder / "server.log"
        proc = start_server(config, port, max_queue, str(folder / "images"), str(folder / "cache"), log)
        try:
            asyncio.run(wait_ready(url, proc, log))
            start = time.perf_counter()
            outcomes = asyncio.run(drive(url, images, calls, clients, deadline_s))
            seconds = time.perf_counter() - start
            rss = peak_rss_mib(proc.pid)
            alive = proc.poll() is None
        finally:
            stop(proc)
    answered = outcomes["ok"] + outcomes["busy"] + outcomes["wrong_image"] + len(outcomes["errors"])
    return {"calls": calls, "clients": clients, "max_queue": max_queue, "answered": answered,
            "ok": outcomes["ok"], "busy": outcomes["busy"], "wrong_image": outcomes["wrong_image"],
            "errors": outcomes["errors"][:5], "seconds": round(seconds, 2), "calls_per_s": round(calls / seconds, 1),
            "peak_rss_mib": round(rss, 1), "server_alive": alive}


def main(argv: list[str] | None = None) -> int:
    from mcp_server.vision.loading import quiet_libraries

    quiet_libraries()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--max-queue", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = run(args.calls, args.clients, args.max_queue)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print("| calls | clients | max_queue | answered | ok | busy | wrong image | other errors | seconds | "
              "calls/s | peak RSS MiB |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        print(f"| {report['calls']} | {report['clients']} | {report['max_queue']} | {report['answered']} | "
              f"{report['ok']} | {report['busy']} | {report['wrong_image']} | {len(report['errors'])} | "
              f"{report['seconds']} | {report['calls_per_s']} | {report['peak_rss_mib']} |")
    good = report["answered"] == report["calls"] and not report["errors"] and not report["wrong_image"]
    return 0 if good and report["server_alive"] else 1


if __name__ == "__main__":
    sys.exit(main())
