"""caption-dataset as a user runs it: the CLI over folders of real files, Parquet read back, tiny checkpoints.

The local job's rows equal the direct Hugging Face way (greedy, float32); a rerun skips what OUT holds; a run
killed with SIGKILL (a real process) and rerun gives every image exactly once; hostile files are error rows;
sidecars are written as asked; a bad OUT or a missing model stops at once; the Ray job (a local 2-CPU
instance) writes the same rows as the local one.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq  # the [dev] extra has it
import pytest
import torch
import transformers
from PIL import Image, ImageDraw
from test_cli import _png_claiming, cli

from mcp_server.datasets.tasks import split_tasks, task_specs
from mcp_server.errors import BadInputError
from mcp_server.vision.options import AnswerOptions, CaptionOptions

QUESTION = "what is it, and where?"  # a comma inside a question
GREEDY = ["--beams", "1", "--max-new-tokens", "8", "--vqa-beams", "1", "--vqa-max-new-tokens", "5"]
ALL_TASKS = ["--tasks", f"caption,vqa:{QUESTION},embed"]
FLOAT32 = {"AI_NOTES_MCP_DTYPE": "float32"}  # the direct way's dtype, so results compare exactly


def _picture(path: Path, colour: tuple[int, int, int], size: tuple[int, int]) -> Path:
    image = Image.new("RGB", size, colour)
    ImageDraw.Draw(image).rectangle([1, 1, size[0] // 2, size[1] // 3], fill=tuple(255 - c for c in colour))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


@pytest.fixture
def dataset(tmp_path) -> Path:
    """Six distinct pictures, two of them in a subfolder, and files a folder walk must not take for images."""
    root = tmp_path / "photos"
    colours = [(200, 30, 30), (20, 150, 40), (30, 40, 210), (240, 220, 10), (120, 0, 160), (0, 200, 200)]
    for i, colour in enumerate(colours):
        _picture(root / ("sub" if i >= 4 else "") / f"p{i}.{'jpg' if i == 3 else 'png'}", colour, (40 + 9 * i, 56))
    (root / "notes.md").write_text("not an image, and not named like one")
    (root / ".hidden").mkdir()
    _picture(root / ".hidden" / "skipped.png", (1, 2, 3), (20, 20))
    return root


def _run(*args, config, env=None):
    run = cli("caption-dataset", *args, "--json", config=config, env={**FLOAT32, **(env or {})})
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def _rows(out: Path) -> list[dict]:
    """The dataset's rows as a reader sees them (hidden files, such as a killed run's temporary one, are not part
    of a Parquet dataset)."""
    parts = sorted(p for p in out.glob("*.parquet") if not p.name.startswith("."))
    return [row for part in parts for row in pq.read_table(part).to_pylist()]


def _by_task(rows: list[dict]) -> dict[tuple[str, str], dict]:
    keyed = {(r["path"], r["task"]): r for r in rows}
    assert len(keyed) == len(rows), "a duplicate row"
    return keyed


def _direct_rows(settings, root: Path, paths: list[str]) -> dict[tuple[str, str], object]:
    """What the direct transformers way gives for each image: caption, answer, ITC embedding (float32)."""
    def load(name, cls):
        source = settings.models[name].source
        return (getattr(transformers, cls).from_pretrained(source).eval(),
                transformers.AutoProcessor.from_pretrained(source))

    captioner, caption_processor = load("blip-base", "BlipForConditionalGeneration")
    answerer, vqa_processor = load("blip-vqa", "BlipForQuestionAnswering")
    matcher, itm_processor = load("blip-itm", "BlipForImageTextRetrieval")
    expected = {}
    with torch.no_grad():
        for path in paths:
            image = Image.open(root / path).convert("RGB")
            out = captioner.generate(**caption_processor(images=image, return_tensors="pt"), max_new_tokens=8,
                                     num_beams=1)
            expected[path, "caption"] = caption_processor.decode(out[0], skip_special_tokens=True).strip()
            out = answerer.generate(**vqa_processor(images=image, text=QUESTION, return_tensors="pt"),
                                    max_new_tokens=5, num_beams=1)
            expected[path, "vqa"] = vqa_processor.decode(out[0], skip_special_tokens=True).strip()
            pixels = itm_processor(images=image, return_tensors="pt")["pixel_values"]
            cls = matcher.vision_model(pixel_values=pixels)[0][:, 0, :]
            expected[path, "embed"] = torch.nn.functional.normalize(matcher.vision_proj(cls), dim=-1)[0].tolist()
    return expected


# --------------------------------------------------------------------------- the local job


def test_rows_equal_the_direct_way_and_a_rerun_skips_them(settings, tiny_config, dataset, tmp_path):
    out = tmp_path / "out"
    summary = _run(str(dataset), "--out", str(out), *ALL_TASKS, *GREEDY, "--batch-size", "4", config=tiny_config)
    paths = ["p0.png", "p1.png", "p2.png", "p3.jpg", "sub/p4.png", "sub/p5.png"]
    assert (summary["images"], summary["done"], summary["skipped"], summary["failed"]) == (6, 6, 0, 0)
    assert summary["rows_written"] == 18 and summary["mode"] == "local"

    rows = _by_task(_rows(out))
    assert sorted({path for path, _ in rows}) == paths  # relative to SRC; notes.md and .hidden/ not taken
    expected = _direct_rows(settings, dataset, paths)
    assert len({expected[p, "caption"] for p in paths}) > 1, "the tiny model must tell the pictures apart"
    for path in paths:
        data = (dataset / path).read_bytes()
        for task in ("caption", "vqa", "embed"):
            row = rows[path, task]
            assert row["sha256"] == hashlib.sha256(data).hexdigest() and row["error"] is None
            assert (row["width"], row["height"]) == Image.open(dataset / path).size
        assert rows[path, "caption"]["captions"] == [expected[path, "caption"]]
        assert rows[path, "vqa"]["answer"] == expected[path, "vqa"]
        assert rows[path, "vqa"]["question"] == QUESTION
        assert rows[path, "embed"]["embedding"] == pytest.approx(expected[path, "embed"], abs=1e-5)
    assert {(r["model"], json.loads(r["options"]).get("num_beams")) for r in rows.values()} == {
        ("blip-base", 1), ("blip-vqa", 1), ("blip-itm", None)}
    schema = pq.read_schema(next(out.glob("*.parquet")))
    assert schema.metadata[b"format"] == b"ai-notes-mcp caption-dataset 2"

    again = _run(str(dataset), "--out", str(out), *ALL_TASKS, *GREEDY, config=tiny_config)
    assert (again["done"], again["skipped"], again["rows_written"], again["parts_written"]) == (0, 6, 0, 0)
    # Another option is another row: only the caption is redone, with four tokens.
    other = _run(str(dataset), "--out", str(out), *ALL_TASKS, *GREEDY, "--max-new-tokens", "4", config=tiny_config)
    assert (other["done"], other["rows_written"]) == (6, 6)
    assert len(_rows(out)) == 24


def test_an_adapter_captions_through_its_base_model_as_the_server_does(tiny_dir, tiny_config, dataset, tmp_path):
    """--model ADAPTER: rows name the base model and the adapter, and equal the server's caption_image with that
    adapter; the base model's rows are other rows (the adapter is part of a row's key)."""
    import asyncio

    import yaml
    from mcp import Client

    from mcp_server.config import load_settings
    from mcp_server.server import create_server

    data = tmp_path / "train"
    data.mkdir()
    for i, picture in enumerate(sorted(dataset.glob("[!.]*/*.*")) + sorted(dataset.glob("*.*g"))):
        (data / picture.name).write_bytes(picture.read_bytes())
        (data / picture.name).with_suffix(".txt").write_text(f"a picture number {i}\n")
    trained = cli("finetune", "--data", str(data), "--out", str(tmp_path / "adapter"), "--model", "blip-base",
                  "--epochs", "2", "--val-split", "0", "--learning-rate", "0.01", "--json", config=tiny_config)
    assert trained.returncode == 0, trained.stderr
    config = yaml.safe_load(tiny_config.read_text())
    config["adapters"] = {"numbers": {"base": "blip-base", "path": str(tmp_path / "adapter")}}
    with_adapter = tiny_dir / "datasets-adapter.yaml"  # beside the checkpoints its paths are relative to
    with_adapter.write_text(yaml.safe_dump(config))

    out = tmp_path / "out"
    summary = _run(str(dataset), "--out", str(out), "--model", "numbers", *GREEDY, config=with_adapter)
    assert (summary["done"], summary["rows_written"]) == (6, 6) and summary["tasks"] == ["caption (numbers)"]
    rows = _rows(out)
    assert {(r["model"], r["adapter"]) for r in rows} == {("blip-base", "numbers")}

    async def served():
        settings = load_settings(with_adapter, environ=FLOAT32)
        async with Client(create_server(settings)) as client:
            calls = [client.call_tool("caption_image", {"image": str(dataset / r["path"]), "model": "numbers",
                                                        "num_beams": 1, "max_new_tokens": 8}) for r in rows]
            return [c.structured_content["captions"][0] for c in await asyncio.gather(*calls)]

    assert [r["captions"][0] for r in rows] == asyncio.run(served())
    base = _run(str(dataset), "--out", str(out), *GREEDY, config=with_adapter)
    assert (base["done"], base["skipped"]) == (6, 0)  # the base model's rows are not the adapter's
    assert {(r["model"], r["adapter"]) for r in _rows(out)} == {("blip-base", "numbers"), ("blip-base", None)}


def test_hostile_files_become_error_rows_and_the_job_goes_on(tiny_config, dataset, tmp_path):
    good = (dataset / "p0.png").read_bytes()
    hostile = {
        "truncated.png": good[: len(good) // 2],
        "text.jpg": b"just some words, not a picture",
        "bomb.png": _png_claiming(100_000, 100_000),  # 10 gigapixels in a 60-byte header
        "empty.png": b"",
        "drawing.png": b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>',
    }
    for name, data in hostile.items():
        (dataset / name).write_bytes(data)
    out = tmp_path / "out"
    summary = _run(str(dataset), "--out", str(out), *GREEDY, config=tiny_config)
    assert (summary["images"], summary["done"], summary["failed"]) == (11, 6, 5)
    rows = _by_task(_rows(out))
    errors = {path: row["error"] for (path, _), row in rows.items() if row["error"]}
    assert errors == {
        "truncated.png": "image truncated.png: the PNG data is truncated or damaged; pass a complete image file",
        "text.jpg": "image text.jpg: not a recognised image; use JPEG, PNG, GIF, WEBP, BMP or TIFF",
        "bomb.png": "image bomb.png: 100000x100000 pixels is more than the limit of 40,000,000 (images.max_pixels); "
                    "pass a smaller image",
        "empty.png": "image empty.png: the file is empty; pass an image file",
        "drawing.png": "image drawing.png: SVG is not a supported image format; use JPEG, PNG, GIF, WEBP, BMP or TIFF",
    }
    assert {f["path"]: f["error"] for f in summary["failures"]} == errors
    assert all(rows[p, "caption"]["captions"] is None for p in errors)
    assert rows["truncated.png", "caption"]["sha256"] == hashlib.sha256(hostile["truncated.png"]).hexdigest()
    # An error row is an answer too: a rerun does not try the same bytes again.
    again = _run(str(dataset), "--out", str(out), *GREEDY, config=tiny_config)
    assert (again["skipped"], again["rows_written"]) == (11, 0)


def test_sidecars_as_training_tools_read_them_and_kept_unless_asked(tiny_config, dataset, tmp_path):
    (dataset / "p1.txt").write_text("my own caption\n")
    out = tmp_path / "out"
    flags = ["--sidecars", "--prefix", "photo of sks, ", "--suffix", ", high quality"]
    summary = _run(str(dataset), "--out", str(out), *GREEDY, *flags, config=tiny_config)
    assert (summary["sidecars_written"], summary["sidecars_kept"]) == (5, 1)
    captions = {path: row["captions"][0] for (path, _), row in _by_task(_rows(out)).items()}
    for path, caption in captions.items():
        if path != "p1.png":
            sidecar = (dataset / path).with_suffix(".txt")
            assert sidecar.read_text(encoding="utf-8") == f"photo of sks, {caption}, high quality\n"
    assert (dataset / "p1.txt").read_text() == "my own caption\n"
    assert not (dataset / "notes.txt").exists() and not list(dataset.rglob(".*.tmp"))

    # A rerun does no model work; it writes a sidecar that went missing from the caption OUT holds, and
    # replaces the others only when asked.
    (dataset / "sub" / "p4.txt").unlink()
    again = _run(str(dataset), "--out", str(out), *GREEDY, *flags, config=tiny_config)
    assert (again["skipped"], again["sidecars_written"], again["sidecars_kept"]) == (6, 1, 5)
    assert (dataset / "sub" / "p4.txt").read_text() == f"photo of sks, {captions['sub/p4.png']}, high quality\n"
    forced = _run(str(dataset), "--out", str(out), *GREEDY, "--sidecars", "--sidecar-ext", ".caption",
                  "--overwrite-sidecars", config=tiny_config)
    assert forced["sidecars_written"] == 6
    assert (dataset / "p1.caption").read_text() == captions["p1.png"] + "\n"


def test_sidecar_flags_without_sidecars_or_captions_are_one_line(tiny_config, dataset, tmp_path):
    run = cli("caption-dataset", str(dataset), "--out", str(tmp_path / "o"), "--prefix", "x", config=tiny_config)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "add --sidecars" in run.stderr
    run = cli("caption-dataset", str(dataset), "--out", str(tmp_path / "o"), "--tasks", "embed", "--sidecars",
              config=tiny_config)
    assert run.returncode == 2 and "add caption to --tasks" in run.stderr
    assert not (tmp_path / "o").exists()


def test_a_run_killed_with_sigkill_and_rerun_gives_every_image_exactly_once(tiny_config, tmp_path):
    """A real process, killed while it writes parts; the rerun completes the job without a duplicate."""
    import numpy as np

    source = tmp_path / "many"
    source.mkdir()
    rng = np.random.default_rng(0)
    for i in range(120):  # enough pictures that the kill lands mid-run
        Image.fromarray(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)).save(source / f"n{i:03d}.png")
    out = tmp_path / "out"
    flags = ["--tasks", "caption,embed", "--part-rows", "4", "--batch-size", "2", "--readers", "1", *GREEDY]
    args = ["caption-dataset", str(source), "--out", str(out), *flags, "--config", str(tiny_config)]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AI_NOTES_MCP_")}, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen([sys.executable, "-m", "mcp_server", *args], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(list(out.glob("*.parquet"))) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()[-500:]

    first = _rows(out)  # every part the killed run left is whole and readable (pyarrow raises on a torn one)
    assert 0 < len(first) < 240, "the kill must land while the job runs"
    assert len({(r["path"], r["task"]) for r in first}) == len(first)

    summary = _run(str(source), "--out", str(out), *flags, config=tiny_config, env={"AI_NOTES_MCP_DTYPE": "auto"})
    by_task = [{r["path"] for r in first if r["task"] == task} for task in ("caption", "embed")]
    done_before = by_task[0] & by_task[1]
    assert summary["skipped"] == len(done_before) and summary["done"] == 120 - len(done_before)
    rows = _rows(out)
    assert len(rows) == 240 and len(_by_task(rows)) == 240  # every image once per task, no duplicate
    assert sorted({r["path"] for r in rows}) == [f"n{i:03d}.png" for i in range(120)]
    assert all(r["error"] is None for r in rows)
    assert not [p.name for p in out.iterdir() if p.name.startswith(".tmp-")]  # what the kill left was cleared


def test_a_second_job_on_the_same_out_is_refused(tiny_config, dataset, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    holder = os.open(out / ".lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        run = cli("caption-dataset", str(dataset), "--out", str(out), config=tiny_config)
    finally:
        os.close(holder)
    assert run.returncode == 2
    assert "another caption-dataset job is writing there" in run.stderr and run.stderr.count("\n") == 1


def test_progress_shows_images_per_second_and_eta_on_a_terminal_and_every_few_seconds_in_a_log(monkeypatch):
    import io

    from mcp_server.datasets import progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    clock = iter([100.0, 102.0, 104.0, 110.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    screen = Terminal()
    bar = progress.Progress(10, screen)
    bar.update(done=4)  # 2 s in: 2 images/s, 6 left -> 3 s
    bar.update(skipped=2, failed=1)  # 4 s in: 5 worked, 1.25 images/s, 3 left -> 2 s
    bar.close()
    frames = screen.getvalue().split("\r\x1b[K")[1:]
    assert frames[0] == "[#########...............] 4/10 images (40%) | 2.00 images/s | ETA 3s | 0 skipped, 0 failed"
    assert frames[1] == ("[################........] 7/10 images (70%) | 1.25 images/s | ETA 2s | 2 skipped, "
                         "1 failed")
    assert frames[2].startswith("[################........] 7/10") and frames[2].endswith("failed\n")

    clock = iter([0.0, 1.0, 12.0, 13.0])
    log = io.StringIO()
    lines = progress.Progress(100, log)
    lines.update(done=1)  # 1 s in: not yet
    lines.update(done=1)  # 12 s in: a line
    lines.close()
    assert log.getvalue().splitlines() == [
        "[........................] 2/100 images (2%) | 0.17 images/s | ETA 9m48s | 0 skipped, 0 failed",
        "[........................] 2/100 images (2%) | 0.15 images/s | ETA 10m37s | 0 skipped, 0 failed"]


# --------------------------------------------------------------------------- stopping before any work


@pytest.mark.parametrize("case", ["out is a file", "out under a file", "missing model", "out before model"])
def test_a_bad_out_or_a_missing_model_stops_at_once_in_one_line(tiny_config, dataset, tmp_path, case):
    config = tiny_config
    if case in ("missing model", "out before model"):
        config = tmp_path / "c.yaml"
        text = tiny_config.read_text().replace('"./blip-caption"', json.dumps(str(tmp_path / "gone")))
        config.write_text(text.replace("./", str(tiny_config.parent) + "/"))
    (tmp_path / "file").write_text("x")
    out = {"out is a file": tmp_path / "file", "out under a file": tmp_path / "file" / "out",
           "missing model": tmp_path / "out", "out before model": tmp_path / "file"}[case]
    started = time.monotonic()
    run = cli("caption-dataset", str(dataset), "--out", str(out), config=config)
    assert run.returncode == 2 and run.stdout == "" and run.stderr.count("\n") == 1, run.stderr
    expected = {
        "out is a file": f"--out {str(out)!r} is a file, not a folder",
        "out under a file": f"{str(tmp_path / 'file')!r} is a file, not a folder",
        "missing model": f"model 'blip-base' ({tmp_path / 'gone'}) is not available",
        "out before model": "is a file, not a folder",  # OUT is checked before any model is touched
    }[case]
    assert expected in run.stderr
    assert not (tmp_path / "out").exists()  # nothing created
    assert time.monotonic() - started < 30


def test_a_missing_source_and_an_empty_one_are_one_line(tiny_config, tmp_path):
    run = cli("caption-dataset", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o"), config=tiny_config)
    assert run.returncode == 2 and "does not exist" in run.stderr
    (tmp_path / "empty").mkdir()
    run = cli("caption-dataset", str(tmp_path / "empty"), "--out", str(tmp_path / "o"), config=tiny_config)
    assert run.returncode == 2 and "holds no images" in run.stderr
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------- sources and tasks


def test_every_kind_of_source_gives_the_same_captions(tiny_config, dataset, tmp_path):
    import pyarrow as pa

    files = ["p0.png", "p3.jpg", "sub/p5.png"]
    lists = tmp_path / "lists"
    lists.mkdir()
    relative = [os.path.relpath(dataset / f, lists) for f in files]
    (lists / "paths.txt").write_text("# my images\n" + "\n".join(relative) + "\n\n")
    lines = [json.dumps({"file_name": p, "n": i}) for i, p in enumerate(relative)] + [json.dumps({"file_name": None})]
    (lists / "rows.jsonl").write_text("\n".join(lines) + "\n")
    pq.write_table(pa.table({"image": [{"bytes": (dataset / f).read_bytes(), "path": f} for f in files],
                             "label": [1, 2, 3]}), lists / "hf.parquet")
    pq.write_table(pa.table({"img": [(dataset / f).read_bytes() for f in files]}), lists / "bytes.parquet")

    def captions(src: str, *extra: str) -> dict[str, list[str] | None]:
        out = tmp_path / f"out-{len(list(tmp_path.iterdir()))}"
        _run(src, "--out", str(out), *GREEDY, *extra, config=tiny_config)
        return {row["path"]: row["captions"] or row["error"] for row in _rows(out)}

    folder = captions(str(dataset))
    want = {f: folder[f] for f in files}
    assert len({str(c) for c in want.values()}) == 3
    by_glob = captions(str(dataset / "**" / "p[035].*"))
    assert by_glob == {str(dataset / f): c for f, c in want.items()}  # paths as the glob gives them
    assert captions(str(lists / "paths.txt")) == {r: want[f] for r, f in zip(relative, files, strict=True)}
    rows = captions(str(lists / "rows.jsonl"))
    assert rows == {**{r: want[f] for r, f in zip(relative, files, strict=True)},
                    "rows.jsonl#3": "row 3 of rows.jsonl has no image (its image column is empty or not a path)"}
    assert captions(str(lists / "hf.parquet")) == want
    assert captions(str(lists / "bytes.parquet"), "--image-column", "img") == {
        f"bytes.parquet#{i}": want[f] for i, f in enumerate(files)}
    run = cli("caption-dataset", str(lists / "bytes.parquet"), "--out", str(tmp_path / "o"), config=tiny_config)
    assert run.returncode == 2 and run.stderr == (
        "ai-notes-mcp: source 'bytes.parquet' has no image column (none of image, image_path, path, file_name, "
        "filename, file); its columns are img; name the right one with --image-column\n")


def test_tasks_parse_with_commas_in_questions_and_refuse_mistakes(settings):
    assert split_tasks(["caption,vqa:is it red, or blue?", "embed"]) == ["caption", "vqa:is it red, or blue?", "embed"]
    assert split_tasks(["vqa:a, caption or not?,caption"]) == ["vqa:a, caption or not?", "caption"]
    options = {"caption": CaptionOptions(), "answer": AnswerOptions()}
    specs = task_specs(["caption", "vqa:what?", "embed"], settings, **options)
    assert [(s.kind, s.model) for s in specs] == [("caption", "blip-base"), ("vqa", "blip-vqa"), ("embed", "blip-itm")]
    for words, message in [(["describe"], "unknown task 'describe'"), (["caption", "caption"], "listed twice"),
                           (["vqa:   "], "question"), (["embed"], "does not do match")]:
        with pytest.raises(BadInputError, match=message):
            task_specs(words, settings, **options, embed_model="blip-base")


def test_the_jobs_flags_are_the_tools_options_with_their_bounds(tiny_config, dataset, tmp_path):
    from test_layout import _flag_help

    data, caption, ask = _flag_help(["caption-dataset"]), _flag_help(["caption"]), _flag_help(["ask"])
    for flag in ("--prompt", "--num-captions", "--max-new-tokens", "--beams", "--sample", "--repetition-penalty"):
        assert data[flag] == caption[flag]
    assert (data["--vqa-beams"], data["--vqa-max-new-tokens"]) == (ask["--beams"], ask["--max-new-tokens"])
    assert "(1 to 256)" in data["--batch-size"] and "default 256" in data["--part-rows"]
    run = cli("caption-dataset", str(dataset), "--out", str(tmp_path / "o"), "--vqa-beams", "99", config=tiny_config)
    assert (run.returncode, run.stderr) == (
        2, "ai-notes-mcp: bad argument --vqa-beams: Input should be less than or equal to 8 (got 99)\n")


# --------------------------------------------------------------------------- Ray


@pytest.fixture(scope="module")
def ray_instance():
    if os.environ.get("CI"):  # CI installs the [ray] extra: a missing Ray there is a failure, not a skip
        import ray
    else:
        ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, object_store_memory=256 * 1024**2, logging_level="WARNING")
    yield ray
    ray.shutdown()


def test_the_ray_job_writes_the_local_jobs_rows(ray_instance, tiny_config, dataset, tmp_path):
    (dataset / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    local = _run(str(dataset), "--out", str(tmp_path / "local"), *ALL_TASKS, *GREEDY, config=tiny_config)
    on_ray = _run(str(dataset), "--out", str(tmp_path / "ray"), *ALL_TASKS, *GREEDY, "--ray", "--batch-size", "2",
                  config=tiny_config)
    assert on_ray["mode"] == "ray"
    for key in ("images", "done", "failed", "rows_written"):
        assert on_ray[key] == local[key], key
    local_rows, ray_rows = _by_task(_rows(tmp_path / "local")), _by_task(_rows(tmp_path / "ray"))
    assert local_rows.keys() == ray_rows.keys() and len(local_rows) == 7 * 3
    for key, row in local_rows.items():
        other = ray_rows[key]
        for column in ("sha256", "width", "height", "model", "question", "options", "captions", "answer", "error"):
            assert other[column] == row[column], (key, column)
        if row["embedding"] is not None:
            assert other["embedding"] == pytest.approx(row["embedding"], abs=1e-5)
    assert pq.read_schema(next((tmp_path / "ray").glob("*.parquet"))) == pq.read_schema(
        next((tmp_path / "local").glob("*.parquet")))
    again = _run(str(dataset), "--out", str(tmp_path / "ray"), *ALL_TASKS, *GREEDY, "--ray", config=tiny_config)
    assert (again["skipped"], again["rows_written"]) == (7, 0)


def test_pyarrow_missing_is_one_line_saying_how_to_install_it(tiny_config, dataset, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    run = cli("caption-dataset", str(dataset), "--out", str(tmp_path / "o"), config=tiny_config)
    assert run.returncode == 2 and not (tmp_path / "o").exists()
    assert run.stderr == ("ai-notes-mcp: caption-dataset writes Parquet with pyarrow, which is not installed: "
                          "pip install 'ai-notes-mcp[datasets]' (in a checkout: pip install -e '.[datasets]')\n")


def test_ray_missing_is_one_line_saying_how_to_install_it(tiny_config, dataset, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets where Ray is not installed
    import mcp_server.datasets

    monkeypatch.delitem(sys.modules, "mcp_server.datasets.on_ray", raising=False)  # imported anew, as on first use
    monkeypatch.delattr(mcp_server.datasets, "on_ray", raising=False)
    run = cli("caption-dataset", str(dataset), "--out", str(tmp_path / "o"), "--ray", config=tiny_config)
    assert run.returncode == 2
    assert run.stderr == ("ai-notes-mcp: --ray needs Ray, which is not installed: pip install 'ai-notes-mcp[ray]' "
                          "(in a checkout: pip install -e '.[ray]')\n")
