"""Benchmark: BLIP-2 OPT-2.7B at its real size, the direct Hugging Face way against this server, on one machine.

    python tools/bench_blip2.py [--models DIR] [--images N] [--concurrency C] [--rounds R] [--tokens T]
                                [--device cpu|cuda] [--json]

The checkpoint is ``tools/make_tiny_models.py DIR --size full``: blip2-opt-2.7b's architecture with random bf16
weights (speed does not depend on their values), built once into DIR (``.bench-models``) and reused. The two
sides do not fit in memory together (15 GB in float32, 7.5 GB in bfloat16), so each runs in a process of its
own, one after the other, and reports its own peak memory:

  direct: the model card's CPU example: ``from_pretrained`` in float32, the processor, one ``generate`` per image;
          N captions of distinct images, then five questions about one image (five ``generate`` calls);
  server: the MCP server in memory (``dtype: auto``: bfloat16 on a CPU with native bf16), the same N captions
          one at a time (concurrency 1), R rounds of 2C images from C callers at once, the five questions asked
          together;
  bounds: on each side, a decoding step timed inside the model (T tokens against 1 token, the image's features
          given) against the bytes the step must read (the language model's weights and its KV cache) at the
          machine's measured streaming rate (the best of a 1 GiB sum and copy); the image encoder's time per image
          in a batch against its FLOPs (counted by torch's FlopCounterMode) at the measured matrix-multiply peak;
  int8:   weight-only int8 (``aten._weight_int8pack_mm``, torch's eager CPU kernel) against the packed bf16
          linears, over OPT-2.7B's layer shapes, with more weights than the CPU's caches hold: whether an int8
          language model would pay here.
Every caption is greedy with exactly T new tokens on both sides, every answer at most 10, so the work is identical.
The machine is shared and noisy: medians over images and rounds, and the rates of every round are kept.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))

from bench import QUESTIONS, make_images, matmul_peak, percentile  # noqa: E402

MODEL = "blip2-opt"
ANSWER_TOKENS = 10


# -- measurements shared by both sides ----------------------------------------------------------------------------

class PeakMemory:
    """This process's peak resident memory (VmHWM) and peak anonymous memory, sampled every 0.1 s.

    Anonymous memory is what the process really holds: the weights' file pages, mapped while safetensors loads,
    count in the resident figure too but the kernel can drop them at any time."""

    def __init__(self) -> None:
        self.anon = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    @staticmethod
    def _status() -> dict[str, int]:
        try:
            lines = Path("/proc/self/status").read_text().splitlines()
        except OSError:
            return {}
        return {k: int(v.split()[0]) * 1024 for k, v in (x.split(":", 1) for x in lines) if v.strip().endswith("kB")}

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            self.anon = max(self.anon, self._status().get("RssAnon", 0))

    def report(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        status = self._status()
        return {"peak_rss_gb": status.get("VmHWM", 0) / 1e9, "peak_anon_gb": max(self.anon, status.get("RssAnon", 0))
                / 1e9}


def streaming_rate(device: str, gib: int = 1, reps: int = 5) -> float:
    """Bytes/s the memory streams: the best of a large sum (bytes read) and a large copy (read plus written)."""
    import torch

    x = torch.ones(gib * 2**28, dtype=torch.float32, device=device)
    y = torch.empty_like(x)
    best = 0.0
    for fn, moved in ((lambda: x.sum(), x.nbytes), (lambda: y.copy_(x), 2 * x.nbytes)):
        fn()
        for _ in range(reps):
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            start = time.perf_counter()
            fn()
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            best = max(best, moved / (time.perf_counter() - start))
    return best


def lm_step_bytes(config, rows: int, length: float, itemsize: int) -> float:
    """Bytes one decoding step reads: every language-model weight (the tied embedding once, as the output head;
    the position table only B rows, left out) and the KV cache of ``rows`` sequences of ``length`` tokens."""
    import torch
    import transformers

    with torch.device("meta"):
        lm = transformers.AutoModelForCausalLM.from_config(config.text_config)
    weights = sum(p.numel() for name, p in lm.named_parameters() if "embed_positions" not in name)
    text = config.text_config
    kv = 2 * text.num_hidden_layers * rows * length * text.hidden_size
    return (weights + kv) * itemsize


def step_seconds(generate, tokens: int, repeats: int = 2) -> tuple[float, float]:
    """(seconds per decoding step, seconds to the first token): T tokens against 1, the median of ``repeats``."""
    steps, firsts = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        generate(1)
        one = time.perf_counter() - start
        start = time.perf_counter()
        generate(tokens)
        steps.append((time.perf_counter() - start - one) / (tokens - 1))
        firsts.append(one)
    return statistics.median(steps), statistics.median(firsts)


def image_inputs(processor, path: str, text: str | None = None):
    from PIL import Image

    return processor(images=Image.open(path).convert("RGB"), text=text, return_tensors="pt")


# -- the direct way ------------------------------------------------------------------------------------------------

def direct_phase(source: str, device: str, tokens: int, sets: dict) -> dict:
    """The model card's CPU example: float32, one ``generate`` per image, in this process's main thread."""
    import torch
    import transformers
    from torch.utils.flop_counter import FlopCounterMode

    memory = PeakMemory()
    out: dict = {}
    start = time.perf_counter()
    model = transformers.Blip2ForConditionalGeneration.from_pretrained(source, dtype=torch.float32).to(device).eval()
    model.requires_grad_(False)  # FlopCounterMode's module tracker wants no parameter needing a gradient
    processor = transformers.AutoProcessor.from_pretrained(source)
    out["load_s"] = time.perf_counter() - start

    def caption(path: str) -> float:
        begin = time.perf_counter()
        inputs = image_inputs(processor, path).to(device)
        with torch.no_grad():
            model.generate(**inputs, max_new_tokens=tokens, min_new_tokens=tokens, num_beams=1, do_sample=False)
        return time.perf_counter() - begin

    out["first_answer_s"] = caption(sets["first"][0])
    out["captions_s"] = [caption(path) for path in sets["direct"]]
    out["five_questions_s"] = []
    for path in sets["questions"]:
        begin = time.perf_counter()
        for question in QUESTIONS:
            inputs = image_inputs(processor, path, f"Question: {question} Answer:").to(device)
            with torch.no_grad():
                model.generate(**inputs, max_new_tokens=ANSWER_TOKENS, num_beams=1, do_sample=False)
        out["five_questions_s"].append(time.perf_counter() - begin)

    inputs = image_inputs(processor, sets["first"][1]).to(device)
    with torch.no_grad():
        counter = FlopCounterMode(display=False)
        with counter:
            model.get_image_features(pixel_values=inputs["pixel_values"])
        out["encoder_gflop"] = counter.get_total_flops() / 1e9
        begin = time.perf_counter()
        model.get_image_features(pixel_values=inputs["pixel_values"])
        out["encoder_s_per_image"] = time.perf_counter() - begin
        out["step_s"], out["first_token_s"] = step_seconds(lambda n: model.generate(
            **inputs, max_new_tokens=n, min_new_tokens=n, num_beams=1, do_sample=False), tokens)
    length = model.config.num_query_tokens + 1 + tokens / 2  # the image's query slots and BOS, then the caption
    out["step_bytes"] = lm_step_bytes(model.config, 1, length, 4)
    out["memory"] = memory.report()
    return out


# -- the server ----------------------------------------------------------------------------------------------------

def server_phase(config_path: str, device: str, tokens: int, concurrency: int, max_batch: int, sets: dict) -> dict:
    """The server through an MCP client in memory; then its decoding step and encoder timed on its compute thread."""
    import torch

    from mcp_server.config import load_settings
    from mcp_server.services import Services
    from mcp_server.vision import compute
    from mcp_server.vision.options import CaptionOptions

    memory = PeakMemory()
    env = {"AI_NOTES_MCP_DEVICE": device, "AI_NOTES_MCP_BATCHING": f"{{max_batch: {max_batch}}}"}
    settings = load_settings(config_path, environ=env)
    out: dict = {}
    services = Services(settings)
    start = time.perf_counter()
    engine = services.vision.engine(MODEL)
    out["load_s"] = time.perf_counter() - start
    backend = engine.backend
    dtype = str(backend.dtype).removeprefix("torch.")
    out["dtype"] = dtype
    out.update(asyncio.run(_server_calls(settings, services, tokens, concurrency, sets)))

    def measure_model() -> dict:
        from PIL import Image

        pixels = torch.stack([backend.preprocess(Image.open(p).convert("RGB")) for p in sets["encoder"]])
        found: dict = {}
        with torch.inference_mode():
            backend.encode(pixels[:1])
            begin = time.perf_counter()
            features = backend.encode(pixels)
            found["encoder_s_per_image"] = (time.perf_counter() - begin) / len(pixels)
            for rows in (1, len(pixels)):
                def generate(n: int, rows: int = rows) -> None:
                    backend.caption_ids(features[:rows], CaptionOptions(max_new_tokens=n, min_new_tokens=n,
                                                                        num_beams=1))
                found[f"step_s_{rows}"], found[f"first_token_s_{rows}"] = step_seconds(generate, tokens)
        return found

    out.update(compute.call(measure_model))
    rows = len(sets["encoder"])
    length = backend.config.num_query_tokens + 1 + tokens / 2
    out["step_bytes_1"] = lm_step_bytes(backend.config, 1, length, backend.dtype.itemsize)
    out[f"step_bytes_{rows}"] = lm_step_bytes(backend.config, rows, length, backend.dtype.itemsize)
    out["batch_rows"] = rows
    services.close()
    out["memory"] = memory.report()
    return out


async def _server_calls(settings, services, tokens: int, concurrency: int, sets: dict) -> dict:
    from mcp import Client

    from mcp_server.server import create_server

    caption_args = {"max_new_tokens": tokens, "min_new_tokens": tokens, "num_beams": 1, "model": MODEL}
    out: dict = {}
    async with Client(create_server(settings, services=services)) as client:
        async def call(tool: str, arguments: dict) -> float:
            begin = time.perf_counter()
            result = await client.call_tool(tool, arguments)
            if result.is_error:
                raise RuntimeError(result.content[0].text)
            return time.perf_counter() - begin

        out["first_answer_s"] = await call("caption_image", {"image": sets["first"][0], **caption_args})
        out["c1_s"] = [await call("caption_image", {"image": path, **caption_args}) for path in sets["server"]]
        out["rounds"] = []
        for images in sets["concurrent"]:
            queue, latencies = list(images), []

            async def caller(queue=queue, latencies=latencies) -> None:
                while queue:
                    latencies.append(await call("caption_image", {"image": queue.pop(), **caption_args}))

            begin = time.perf_counter()
            await asyncio.gather(*(caller() for _ in range(concurrency)))
            out["rounds"].append({"seconds": time.perf_counter() - begin, "latencies": latencies})
        out["five_questions_s"] = []
        for path in sets["questions_server"]:
            begin = time.perf_counter()
            await asyncio.gather(*(call("answer_question", {"image": path, "question": q, "model": MODEL,
                                                             "max_new_tokens": ANSWER_TOKENS, "num_beams": 1})
                                   for q in QUESTIONS))
            out["five_questions_s"].append(time.perf_counter() - begin)
    return out


# -- the machine ---------------------------------------------------------------------------------------------------

def machine_phase(device: str, dtypes: list[str]) -> dict:
    """The streaming rate and the matrix-multiply peaks in ``dtypes`` (the two sides'; a CPU without native bf16
    would take minutes over a bf16 peak nobody uses), in a process of their own (their 2 GiB of buffers must not
    count in either side's peak memory); measured before and after the sides, the higher kept."""
    import torch

    return {"stream_gbps": streaming_rate(device) / 1e9,
            "matmul_peak_gflops": {name: matmul_peak(getattr(torch, name), device) / 1e9 for name in dtypes}}


# -- would an int8 language model pay? -----------------------------------------------------------------------------

def int8_phase(dtype_name: str, layers: int = 8, rounds: int = 5) -> dict:
    """Seconds for ``layers`` of OPT-2.7B's linears (q, k, v, out 2560x2560; fc1, fc2 2560x10240) at 1 and 8 rows:
    the server's linears (packed bf16 where the CPU runs bf16 natively, else torch's float32 ``linear``) against
    int8 weights with per-channel scales through ``aten._weight_int8pack_mm``, in the same activation dtype. Eight
    layers hold 1.3 GB in bf16 (2.5 GB in float32), far past the CPU's caches, as the model's do."""
    import torch

    from mcp_server.deviations.onednn_packing import can_pack

    dtype = getattr(torch, dtype_name)
    packs = can_pack("cpu", dtype)
    generator = torch.Generator().manual_seed(0)
    shapes = [(2560, 2560)] * 4 + [(10240, 2560), (2560, 10240)]
    server, quantized = [], []
    for _ in range(layers):
        for out_features, in_features in shapes:
            weight = torch.randn(out_features, in_features, generator=generator).mul_(0.02).to(dtype)
            server.append((in_features, torch.ops.mkldnn._reorder_linear_weight(weight) if packs else weight))
            scales = weight.float().abs().amax(dim=1) / 127
            quantized.append(((weight.float() / scales[:, None]).round().to(torch.int8), scales.to(dtype)))
            del weight
    out: dict = {"layers": layers, "dtype": dtype_name}
    for rows in (1, 8):
        inputs = {k: torch.randn(rows, k, dtype=dtype) for k in (2560, 10240)}

        def linears(x=inputs) -> None:
            for in_features, w in server:
                if packs:
                    torch.ops.mkldnn._linear_pointwise(x[in_features], w, None, "none", [], "")
                else:
                    torch.nn.functional.linear(x[in_features], w)

        def int8(x=inputs) -> None:
            for q, s in quantized:
                torch.ops.aten._weight_int8pack_mm(x[q.shape[1]], q, s)

        times: dict[str, list[float]] = {"server": [], "int8": []}
        for _ in range(rounds):  # alternating, so that the machine's drift hits both
            for name, fn in (("server", linears), ("int8", int8)):
                begin = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - begin)
        out[f"rows_{rows}"] = {name: statistics.median(v) for name, v in times.items()}
    return out


# -- orchestration -------------------------------------------------------------------------------------------------

def in_child(fn, *args):
    """``fn(*args)`` in a fresh process (spawned: no memory shared with this one); its result."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_child, args=(child, fn, args))
    process.start()
    ok, value = parent.recv()
    process.join()
    if not ok:
        raise RuntimeError(value)
    return value


def _child(conn, fn, args) -> None:
    from mcp_server.vision.loading import quiet_libraries

    quiet_libraries()
    try:
        conn.send((True, fn(*args)))
    except Exception as exc:  # reported by the parent, which stops the run
        import traceback

        conn.send((False, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))


def summarize(machine: list[dict], direct: dict, server: dict, int8: dict, concurrency: int) -> dict:
    rows = server["batch_rows"]
    direct_rate = 1 / statistics.median(direct["captions_s"])
    c1_rate = 1 / statistics.median(server["c1_s"])
    round_rates = [len(r["latencies"]) / r["seconds"] for r in server["rounds"]]
    c8_rate = statistics.median(round_rates)
    latencies = [x for r in server["rounds"] for x in r["latencies"]]
    table = []
    for run, rate, times in (("direct generate, fp32, one image at a time", direct_rate, direct["captions_s"]),
                             (f"server, concurrency 1 ({server['dtype']})", c1_rate, server["c1_s"]),
                             (f"server, concurrency {concurrency} ({server['dtype']})", c8_rate, latencies)):
        table.append({"run": run, "images_per_s": rate, "ratio_to_direct": rate / direct_rate,
                      "p50_s": statistics.median(times), "p95_s": percentile(times, 0.95)})
    stream = max(m["stream_gbps"] for m in machine) * 1e9
    peak = max(m["matmul_peak_gflops"][server["dtype"]] for m in machine)
    fp32_peak = max(m["matmul_peak_gflops"]["float32"] for m in machine)
    decoding = {
        "stream_gbps": stream / 1e9,
        "direct": {"rows": 1, "step_s": direct["step_s"], "step_gb": direct["step_bytes"] / 1e9,
                   "bound_s": direct["step_bytes"] / stream},
    }
    for n in (1, rows):
        decoding[f"server_{n}"] = {"rows": n, "step_s": server[f"step_s_{n}"], "step_gb": server[f"step_bytes_{n}"]
                                   / 1e9, "bound_s": server[f"step_bytes_{n}"] / stream}
    for side in decoding.values():
        if isinstance(side, dict):
            side["pct_of_bound"] = 100 * side["bound_s"] / side["step_s"]
    encoder = {
        "gflop_per_image": direct["encoder_gflop"], "matmul_peak_gflops": peak,
        "bound_s_per_image": direct["encoder_gflop"] / peak,
        "server_s_per_image": server["encoder_s_per_image"], "batch": rows,
        "direct_s_per_image": direct["encoder_s_per_image"],
        "direct_matmul_peak_gflops": fp32_peak,
    }
    encoder["pct_of_bound"] = 100 * encoder["bound_s_per_image"] / encoder["server_s_per_image"]
    encoder["direct_pct_of_fp32_bound"] = 100 * direct["encoder_gflop"] / encoder["direct_matmul_peak_gflops"] / \
        direct["encoder_s_per_image"]
    five_direct, five_server = statistics.median(direct["five_questions_s"]), statistics.median(server[
        "five_questions_s"])
    return {
        "captions": table, "concurrent_rounds_images_per_s": round_rates,
        "five_questions": {"direct_s": five_direct, "server_s": five_server, "ratio": five_direct / five_server},
        "decoding": decoding, "encoder": encoder,
        "load": {"direct_s": direct["load_s"], "server_s": server["load_s"],
                 "direct_first_answer_s": direct["first_answer_s"], "server_first_answer_s": server["first_answer_s"]},
        "memory": {"direct": direct["memory"], "server": server["memory"]},
        "int8": int8, "machine_measured": machine,
    }


def main(argv: list[str] | None = None) -> int:
    from mcp_server.vision.loading import quiet_libraries

    quiet_libraries()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--images", type=int, default=4, help="captions per side at concurrency 1")
    parser.add_argument("--concurrency", type=int, default=8, help="callers at once in the concurrent rounds")
    parser.add_argument("--rounds", type=int, default=3, help="concurrent rounds, each of twice --concurrency images")
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--max-batch", type=int, default=8)
    parser.add_argument("--models", type=Path, default=ROOT / ".bench-models", help="where the checkpoints live")
    parser.add_argument("--size", choices=["full", "base"], default="full",
                        help="base: the small BLIP-2 of --size base, to try this script in a minute")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    import torch
    from make_tiny_models import make

    from mcp_server.config import load_settings
    from mcp_server.errors import AiNotesError
    from mcp_server.vision.loading import check_memory, resolve_device, resolve_dtype

    config = make(args.models, args.size)
    try:  # a device this machine lacks, or too little memory for a side, stops the run here in one line
        settings = load_settings(config, environ={"AI_NOTES_MCP_DEVICE": args.device})
        device = resolve_device(settings.device)
        spec = settings.models[MODEL]
        server_dtype = resolve_dtype(settings.dtype, device)
        check_memory(MODEL, spec, device, torch.float32)
        check_memory(MODEL, spec, device, server_dtype)
    except AiNotesError as exc:
        print(f"bench_blip2: {exc}", file=sys.stderr)
        return exc.exit_code

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sets = {"first": make_images(folder, 2, 101), "direct": make_images(folder, args.images, 102),
                "server": make_images(folder, args.images, 103), "questions": make_images(folder, 1, 104),
                "questions_server": make_images(folder, 1, 105), "encoder": make_images(folder, args.max_batch, 106),
                "concurrent": [make_images(folder, 2 * args.concurrency, 110 + r) for r in range(args.rounds)]}
        server_dtype_name = str(server_dtype).removeprefix("torch.")
        dtypes = sorted({"float32", server_dtype_name})
        machine = [in_child(machine_phase, device, dtypes)]
        direct = in_child(direct_phase, spec.source, device, args.tokens, sets)
        server = in_child(server_phase, str(config), device, args.tokens, args.concurrency, args.max_batch, sets)
        int8 = in_child(int8_phase, server_dtype_name) if device == "cpu" else {}
        machine.append(in_child(machine_phase, device, dtypes))
    report = {"machine": {"device": device, "torch": torch.__version__, "threads": torch.get_num_threads(),
                          "cpu_count": os.cpu_count()},
              **summarize(machine, direct, server, int8, args.concurrency), "raw": {"direct": direct, "server": server}}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print_report(report, args)
    return 0


def print_report(report: dict, args) -> None:
    m = report["machine"]
    print(f"device {m['device']}, {m['cpu_count']} cores, torch {m['torch']}; blip2-opt-2.7b architecture, random "
          f"weights; {args.tokens}-token greedy captions\n")
    print(f"| {'run':<44} | images/s | x direct | p50 s | p95 s |")
    print(f"|{'-' * 46}|---------:|---------:|------:|------:|")
    for row in report["captions"]:
        print(f"| {row['run']:<44} | {row['images_per_s']:8.3f} | {row['ratio_to_direct']:8.2f} | "
              f"{row['p50_s']:5.1f} | {row['p95_s']:5.1f} |")
    rounds = ", ".join(f"{rate:.3f}" for rate in report["concurrent_rounds_images_per_s"])
    print(f"\nconcurrency {args.concurrency}, images/s in each round: {rounds}")
    five = report["five_questions"]
    print(f"five questions about one image: direct {five['direct_s']:.1f} s, server {five['server_s']:.1f} s "
          f"({five['ratio']:.1f}x)")
    d = report["decoding"]
    print(f"\ndecoding step (streaming rate {d['stream_gbps']:.1f} GB/s):")
    for name, side in d.items():
        if isinstance(side, dict):
            print(f"  {name:<9} {side['rows']} row(s): {side['step_s'] * 1000:7.0f} ms, reads {side['step_gb']:.2f} GB "
                  f"(bound {side['bound_s'] * 1000:.0f} ms): {side['pct_of_bound']:.0f}% of the bandwidth bound")
    e = report["encoder"]
    print(f"image encoder: {e['gflop_per_image']:.0f} GFLOP per image; matmul peak {e['matmul_peak_gflops']:.0f} "
          f"GFLOP/s, so at least {e['bound_s_per_image']:.2f} s per image; server {e['server_s_per_image']:.2f} s per "
          f"image in a batch of {e['batch']} ({e['pct_of_bound']:.0f}% of the compute bound); direct (fp32, one "
          f"image) {e['direct_s_per_image']:.2f} s ({e['direct_pct_of_fp32_bound']:.0f}% of the fp32 peak, "
          f"{e['direct_matmul_peak_gflops']:.0f} GFLOP/s)")
    load = report["load"]
    print(f"load: direct {load['direct_s']:.0f} s, server {load['server_s']:.0f} s; first answer after load: direct "
          f"{load['direct_first_answer_s']:.0f} s, server {load['server_first_answer_s']:.0f} s")
    mem = report["memory"]
    print(f"peak memory: direct {mem['direct']['peak_anon_gb']:.1f} GB anonymous ({mem['direct']['peak_rss_gb']:.1f} "
          f"GB resident with the weights' file pages), server {mem['server']['peak_anon_gb']:.1f} GB "
          f"({mem['server']['peak_rss_gb']:.1f} GB)")
    if report["int8"]:
        i = report["int8"]
        for rows in (1, 8):
            r = i[f"rows_{rows}"]
            print(f"int8 weights vs the server's {i['dtype']} linears, {i['layers']} OPT-2.7B layers, {rows} row(s): "
                  f"{i['dtype']} {r['server'] * 1000:.0f} ms, int8 {r['int8'] * 1000:.0f} ms "
                  f"({r['server'] / r['int8']:.2f}x)")


if __name__ == "__main__":
    sys.exit(main())
