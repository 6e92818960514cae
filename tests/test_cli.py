"""The CLI as a user runs it: tiny checkpoints, exit codes and one-line errors.

Most cases call ``cli.main`` in this process (what is tested is the command, not the interpreter's start-up,
which costs 3-8 s a run for importing torch); a few smoke tests run the real ``python -m mcp_server``.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

from mcp_server.cli import main


def cli(*args: str, config=None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``ai-notes-mcp ARGS`` in this process: exit code, stdout and stderr as a subprocess would give them."""
    argv = [*args, *(["--config", str(config)] if config is not None else [])]
    saved = dict(os.environ)
    out, err = io.StringIO(), io.StringIO()
    try:
        for key in [k for k in os.environ if k.startswith("AI_NOTES_MCP_")]:
            del os.environ[key]
        os.environ.update(HF_HUB_OFFLINE="1", **(env or {}))
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exit_:  # argparse's errors
                code = exit_.code
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def cli_process(*args: str, config=None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The real thing: ``python -m mcp_server ARGS`` in a fresh process."""
    command = [sys.executable, "-m", "mcp_server", *args]
    if config is not None:
        command += ["--config", str(config)]
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AI_NOTES_MCP_")}
    full_env.update(HF_HUB_OFFLINE="1", **(env or {}))
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=full_env)


def _png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 10)) + chunk(
        b"IEND", b"")


@pytest.fixture(scope="module")
def oddities(tmp_path_factory) -> dict[str, str]:
    """Valid but unusual images, each must be accepted."""
    out = tmp_path_factory.mktemp("odd")
    files = {}

    def save(name, image, **kw):
        path = out / name
        image.save(path, **kw)
        files[name] = str(path)

    save("cmyk.jpg", Image.new("CMYK", (20, 10), (0, 100, 200, 0)))
    save("sixteen.png", Image.new("I;16", (20, 10), 40000))
    palette = Image.new("P", (20, 10), 1)
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    save("palette.png", palette, transparency=0)
    frames = [Image.new("RGB", (20, 10), c) for c in [(255, 0, 0), (0, 255, 0)]]
    frames[0].save(out / "anim.gif", save_all=True, append_images=frames[1:], duration=50)
    files["anim.gif"] = str(out / "anim.gif")
    rotated = Image.new("RGB", (30, 10), (10, 20, 30))
    exif = rotated.getexif()
    exif[0x0112] = 6
    save("rotated.jpg", rotated, exif=exif)
    save("image.webp", Image.new("RGB", (20, 10), (1, 2, 3)))
    save("image.bmp", Image.new("RGB", (20, 10), (1, 2, 3)))
    save("image.tiff", Image.new("RGB", (20, 10), (1, 2, 3)))
    save("one.png", Image.new("RGB", (1, 1), (9, 9, 9)))
    save("tall.png", Image.new("RGB", (1, 5000), (9, 9, 9)))
    return files


def test_a_real_process_captions_and_refuses_bad_input_in_one_line(tiny_config, image_paths, tmp_path):
    caption = cli_process("caption", image_paths[0], "--max-new-tokens", "3", "--json", config=tiny_config)
    assert caption.returncode == 0, caption.stderr
    assert json.loads(caption.stdout)["model"] == "blip-base" and caption.stderr == ""
    (tmp_path / "bad.png").write_text("plain text")
    bad = cli_process("caption", str(tmp_path / "bad.png"), config=tiny_config)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "not a recognised image" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_caption_ask_match_with_blip(tiny_config, image_paths):
    caption = cli("caption", image_paths[0], "--max-new-tokens", "5", "--json", config=tiny_config)
    assert caption.returncode == 0, caption.stderr
    result = json.loads(caption.stdout)
    assert set(result) == {"captions", "model", "image", "elapsed_ms", "citations"}
    assert result["model"] == "blip-base" and result["image"]["width"] == 40 and len(result["captions"]) == 1

    ask = cli("ask", image_paths[1], "what colour is it?", "--json", config=tiny_config)
    assert ask.returncode == 0, ask.stderr
    assert json.loads(ask.stdout)["model"] == "blip-vqa"

    match = cli("match", image_paths[2], "a blue sky", "a red car", "--method", "itc", "--json", config=tiny_config)
    assert match.returncode == 0, match.stderr
    scores = json.loads(match.stdout)["scores"]
    assert [s["text"] for s in scores] == ["a blue sky", "a red car"]

    human = cli("match", image_paths[2], "a blue sky", "a red car", config=tiny_config)
    assert human.returncode == 0 and len(human.stdout.strip().splitlines()) == 2


def test_caption_and_ask_with_blip2(tiny_config, image_paths):
    caption = cli("caption", image_paths[0], "--model", "blip2-opt", "--max-new-tokens", "4", "--min-new-tokens",
                  "2", "--json", config=tiny_config)
    assert caption.returncode == 0, caption.stderr
    assert json.loads(caption.stdout)["model"] == "blip2-opt"
    ask = cli("ask", image_paths[0], "what is it?", "--model", "blip2-opt", "--json", config=tiny_config)
    assert ask.returncode == 0, ask.stderr
    assert json.loads(ask.stdout)["citations"][0]["uri"] == "notes://vision-language.md#blip-2"


def test_several_images_one_bad_yields_an_error_for_that_image_only(tiny_config, image_paths, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("plain text")
    run = cli("caption", image_paths[0], str(bad), image_paths[1], "--max-new-tokens", "3", "--json",
              config=tiny_config)
    assert run.returncode == 2
    rows = json.loads(run.stdout)["results"]  # the caption_images result, as the tool returns it
    assert [row["error"] is not None for row in rows] == [False, True, False]
    assert rows[0]["captions"] and rows[2]["info"]["width"] == 64
    assert run.stderr.count("\n") == 1 and "bad.png" in run.stderr


BAD_INPUTS = {
    "missing file": (["caption", "/no/such.png"], "no such file"),
    "a directory": (["caption", "DIR"], "is a directory"),
    "empty file": (["caption", "EMPTY"], "empty"),
    "text file named .png": (["caption", "TEXT"], "not a recognised image"),
    "truncated PNG": (["caption", "TRUNC_PNG"], "truncated or damaged"),
    "truncated JPEG": (["caption", "TRUNC_JPG"], "truncated or damaged"),
    "huge header": (["caption", "HUGE"], "pixels"),
    "SVG": (["caption", "SVG"], "SVG"),
    "invalid base64": (["caption", "data:image/png;base64,@@@notbase64@@@"], "base64"),
    "data URI of the wrong type": (["caption", "data:text/plain;base64,aGVsbG8="], "not an image"),
    "URL while URLs are off": (["caption", "http://example.com/cat.png"], "allow_urls"),
    "unknown model": (["caption", "GOOD", "--model", "nope"], "unknown model 'nope'"),
    "empty list of texts": (["match", "GOOD", ""], "bad argument texts.0: must not be empty"),
    "blank text": (["match", "GOOD", "  "], "bad argument texts.0: must not be blank"),
    "over-long list of texts": (["match", "GOOD", *[f"t{i}" for i in range(101)]],
                                "bad argument texts: List should have at most 100 items after validation, not 101"),
    "beams 0": (["caption", "GOOD", "--beams", "0"],
                "bad argument --beams: Input should be greater than or equal to 1 (got 0)"),
    "bad option type": (["caption", "GOOD", "--beams", "three"], "invalid int value"),
}


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory, image_paths) -> dict[str, str]:
    out = tmp_path_factory.mktemp("bad")
    png = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(png, "PNG")
    jpg = io.BytesIO()
    Image.effect_noise((64, 64), 50).convert("RGB").save(jpg, "JPEG")
    files = {
        "EMPTY": b"",
        "TEXT": b"hello, I am text\n",
        "TRUNC_PNG": png.getvalue()[: len(png.getvalue()) // 2],
        "TRUNC_JPG": jpg.getvalue()[: len(jpg.getvalue()) // 2],
        "HUGE": _png_claiming(100000, 100000),
        "SVG": b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>',
    }
    paths = {"DIR": str(out), "GOOD": image_paths[0]}
    for name, data in files.items():
        suffix = ".svg" if name == "SVG" else (".jpg" if name == "TRUNC_JPG" else ".png")
        path = out / f"{name.lower()}{suffix}"
        path.write_bytes(data)
        paths[name] = str(path)
    return paths


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_exits_2_with_one_line(tiny_config, bad_files, case):
    args, expected = BAD_INPUTS[case]
    args = [bad_files.get(a, a) for a in args]
    run = cli(*args, config=tiny_config)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1, run.stderr
    assert expected in run.stderr and "Traceback" not in run.stderr


def test_valid_oddities_are_accepted(tiny_config, oddities):
    run = cli("caption", *oddities.values(), "--max-new-tokens", "2", "--beams", "1", "--json", config=tiny_config)
    assert run.returncode == 0, run.stderr
    rows = dict(zip(oddities, json.loads(run.stdout)["results"], strict=True))
    assert rows["rotated.jpg"]["info"]["width"] == 10 and rows["rotated.jpg"]["info"]["height"] == 30
    assert rows["tall.png"]["info"]["height"] == 5000
    assert all(row["captions"] for row in rows.values())


def test_image_as_data_uri_and_bare_base64(tiny_config, image_paths):
    with open(image_paths[0], "rb") as file:
        data = base64.b64encode(file.read()).decode()
    for ref in (f"data:image/png;base64,{data}", data):
        run = cli("caption", ref, "--max-new-tokens", "2", "--json", config=tiny_config)
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["image"]["width"] == 40


def test_missing_checkpoint_gives_the_fix(tmp_path, image_paths):
    config = tmp_path / "c.yaml"
    config.write_text("models:\n  blip-base: {source: Salesforce/blip-image-captioning-base, tasks: [caption]}\n"
                      "  blip-vqa: {source: Salesforce/blip-vqa-base, tasks: [vqa]}\n"
                      "  blip-itm: {source: Salesforce/blip-itm-base-coco, tasks: [match]}\n")
    # A process of its own: the hub library reads HF_HOME when it is imported.
    run = cli_process("caption", image_paths[0], config=config, env={"HF_HOME": str(tmp_path / "hf")})
    assert run.returncode == 2
    hf = str(Path(sys.executable).parent / "hf")  # the hint names the hf beside this Python, runnable as printed
    assert run.stderr == ("ai-notes-mcp: model 'blip-base' (Salesforce/blip-image-captioning-base) is not available: "
                          f"fetch it with `{hf} download Salesforce/blip-image-captioning-base` (needs the network "
                          "once), or set its source to a local folder\n")
    assert subprocess.run([hf, "download", "--help"], capture_output=True).returncode == 0
    models = cli_process("models", "--json", config=config, env={"HF_HOME": str(tmp_path / "hf")})
    assert models.returncode == 0
    assert {m["status"] for m in json.loads(models.stdout)["models"]} == {"missing"}


def test_a_device_this_machine_lacks_is_one_line_with_the_fix(tiny_config, image_paths):
    # cuda:64 is missing on any machine: either torch has no CUDA or it has fewer devices.
    run = cli("caption", image_paths[0], config=tiny_config, env={"AI_NOTES_MCP_DEVICE": "cuda:64"})
    assert run.returncode == 2
    assert run.stderr.startswith("ai-notes-mcp: bad setting device: 'cuda:64', but ") and run.stderr.count("\n") == 1
    assert "set device to auto or cpu" in run.stderr or "use cuda:0" in run.stderr
    assert "checkpoint" not in run.stderr  # the checkpoint is fine; the old message sent users to rebuild it


def test_models_lists_configured_checkpoints(tiny_config):
    run = cli("models", "--json", config=tiny_config)
    assert run.returncode == 0
    rows = {m["name"]: m for m in json.loads(run.stdout)["models"]}
    assert rows["blip2-opt"]["family"] == "blip-2" and rows["blip-itm"]["family"] == "blip"
    assert all(m["status"] == "available" for m in rows.values())


def test_bad_config_is_one_line(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("batching: {max_batch: 0}\n")
    run = cli("models", config=config)
    assert run.returncode == 2
    assert run.stderr == ("ai-notes-mcp: bad setting batching.max_batch: Input should be greater than or equal to 1 "
                          "(got 0)\n")


def test_notes_search_and_read(tiny_config):
    search = cli("notes", "search", "indirect prompt injection", "--json", config=tiny_config)
    assert search.returncode == 0, search.stderr
    hits = json.loads(search.stdout)["hits"]
    assert hits and hits[0]["path"] == "security.md"
    read = cli("notes", "read", "vision-language.md#blip-2", config=tiny_config)
    assert read.returncode == 0 and "Q-Former" in read.stdout
    missing = cli("notes", "read", "nope.md", config=tiny_config)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
