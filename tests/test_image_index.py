"""The image index (index_images, search_images, find_duplicates, index_status), image_to_prompt, and BLIP-2
retrieval checkpoints: exact against transformers' own outputs, incremental, consistent when killed, safe."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers
from mcp import Client
from PIL import Image

from mcp_server.config import load_settings
from mcp_server.errors import BadInputError
from mcp_server.server import create_server
from mcp_server.services import Services


def _run(coro):
    return asyncio.run(coro)


def _settings(tiny_config, tmp_path, **extra):
    environ = {"AI_NOTES_MCP_DTYPE": "float32", "AI_NOTES_MCP_INDEX": json.dumps(
        {"path": str(tmp_path / "index.sqlite"), **extra.pop("index", {})})}
    environ.update(extra)
    return load_settings(tiny_config, environ=environ)


def _gallery(folder: Path) -> dict[str, Path]:
    """Distinct images, a byte copy, a re-encoded copy and a resized copy."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sub").mkdir(exist_ok=True)
    files = {"noise": folder / "noise.png", "red": folder / "red.png", "blue": folder / "blue.png",
             "grad": folder / "sub" / "grad.png"}
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(files["noise"])
    Image.new("RGB", (64, 48), (250, 10, 10)).save(files["red"])
    Image.new("RGB", (48, 64), (10, 10, 250)).save(files["blue"])
    gradient = np.tile(np.linspace(0, 255, 64, dtype=np.uint8)[None, :, None], (64, 1, 3))
    Image.fromarray(gradient).save(files["grad"])
    return files


@pytest.fixture
def services(tiny_config, tmp_path):
    services = Services(_settings(tiny_config, tmp_path))
    yield services
    services.close()


# --------------------------------------------------------------------------- exact against transformers


def test_search_scores_equal_cosines_from_transformers_in_the_same_order(services, tiny_dir, tmp_path):
    files = _gallery(tmp_path / "gallery")
    report = _run(services.images.index(str(tmp_path / "gallery")))
    assert (report.added, report.failed, report.complete) == (4, 0, True)
    found = _run(services.images.search("a red square", k=10)).hits

    model = transformers.BlipForImageTextRetrieval.from_pretrained(tiny_dir / "blip-itm").eval()
    processor = transformers.AutoProcessor.from_pretrained(tiny_dir / "blip-itm")
    with torch.no_grad():
        text = processor.tokenizer(["a red square"], return_tensors="pt")
        text_feat = torch.nn.functional.normalize(model.text_proj(model.text_encoder(
            input_ids=text["input_ids"], attention_mask=text["attention_mask"]).last_hidden_state[:, 0]), dim=-1)
        expected = {}
        for path in files.values():
            pixels = processor.image_processor(images=Image.open(path).convert("RGB"), return_tensors="pt")
            states = model.vision_model(pixels["pixel_values"]).last_hidden_state
            image_feat = torch.nn.functional.normalize(model.vision_proj(states[:, 0]), dim=-1)
            expected[str(path)] = float(image_feat @ text_feat.T)
    assert [h.path for h in found.hits] == sorted(expected, key=lambda p: -expected[p])
    for hit in found.hits:
        assert hit.score == pytest.approx(expected[hit.path], abs=1e-5)


def test_an_image_query_finds_that_image_first(services, tmp_path):
    files = _gallery(tmp_path / "gallery")
    _run(services.images.index(str(tmp_path / "gallery")))
    for path in files.values():
        found = _run(services.images.search(image=str(path), k=2))
        assert found.hits.hits[0].path == str(path) and found.hits.hits[0].score == pytest.approx(1.0, abs=1e-5)
        assert found.thumbnails and Image.open(__import__("io").BytesIO(found.thumbnails[0])).format == "JPEG"


# --------------------------------------------------------------------------- incremental


def test_add_modify_delete_and_rename_give_exact_counts(services, tmp_path):
    folder = tmp_path / "gallery"
    files = _gallery(folder)
    first = _run(services.images.index(str(folder)))
    assert (first.added, first.updated, first.renamed, first.removed, first.unchanged) == (4, 0, 0, 0, 0)
    again = _run(services.images.index(str(folder)))
    assert (again.added, again.updated, again.renamed, again.removed, again.unchanged) == (0, 0, 0, 0, 4)

    Image.new("RGB", (40, 40), (0, 200, 0)).save(folder / "green.png")  # added
    Image.new("RGB", (64, 48), (200, 200, 10)).save(files["red"])  # modified
    files["blue"].unlink()  # deleted
    files["grad"].rename(folder / "sub" / "renamed.png")  # renamed
    os.utime(files["noise"], ns=(1, 1))  # touched, same bytes
    report = _run(services.images.index(str(folder)))
    assert (report.added, report.updated, report.renamed, report.removed, report.unchanged) == (1, 1, 1, 1, 1)
    status = services.images.status()
    assert status.images == 4
    paths = {h.path for h in _run(services.images.search("anything", k=10)).hits.hits}
    assert paths == {str(folder / n) for n in ("noise.png", "red.png", "green.png", "sub/renamed.png")}


def test_bad_files_are_counted_with_their_reason_and_the_rest_indexed(services, tmp_path):
    folder = tmp_path / "gallery"
    _gallery(folder)
    (folder / "broken.png").write_bytes(b"not an image at all")
    (folder / "notes.txt").write_text("not even an image name")
    report = _run(services.images.index(str(folder)))
    assert (report.added, report.failed) == (4, 1)
    assert report.failures[0].path.endswith("broken.png") and "not a recognised image" in report.failures[0].error


def test_a_run_killed_midway_leaves_a_consistent_index_that_the_next_run_completes(tiny_config, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(160):
        Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(folder / f"{i:03d}.png")
    database = tmp_path / "index.sqlite"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AI_NOTES_MCP_")}
    env.update(HF_HUB_OFFLINE="1", AI_NOTES_MCP_INDEX=json.dumps({"path": str(database)}),
               AI_NOTES_MCP_BATCHING="{max_batch: 4}")
    proc = subprocess.Popen([sys.executable, "-m", "mcp_server", "index", str(folder), "--config", str(tiny_config)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def count() -> int:
        try:
            with sqlite3.connect(database, timeout=5) as db:
                return db.execute("SELECT COUNT(*) FROM images").fetchone()[0]
        except sqlite3.Error:
            return 0

    deadline = time.monotonic() + 120
    while count() < 32 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    partial = count()
    assert 0 < partial < 160, partial  # killed in the middle, after some batches were committed
    services = Services(load_settings(tiny_config, environ={"AI_NOTES_MCP_INDEX": json.dumps({"path": str(database)})}))
    report = _run(services.images.index(str(folder)))
    services.close()
    assert report.added == 160 - partial and report.unchanged == partial and report.complete
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT path) FROM images").fetchone() == (160, 160)


# --------------------------------------------------------------------------- duplicates


def test_byte_copies_and_reencoded_copies_are_grouped(services, tmp_path):
    folder = tmp_path / "gallery"
    files = _gallery(folder)
    shutil.copyfile(files["red"], folder / "red-copy.png")
    Image.open(files["noise"]).save(folder / "noise-reencoded.jpg", quality=95)
    Image.open(files["grad"]).resize((48, 48)).save(folder / "grad-smaller.png")
    _run(services.images.index(str(folder)))
    result = _run(services.images.duplicates(str(folder), threshold=0.99))
    groups = {(g.kind, frozenset(Path(p).name for p in g.paths)) for g in result.groups}
    assert ("exact", frozenset({"red.png", "red-copy.png"})) in groups
    assert ("similar", frozenset({"noise.png", "noise-reencoded.jpg"})) in groups
    assert ("similar", frozenset({"grad.png", "grad-smaller.png"})) in groups
    assert all(len(g.paths) == 2 for g in result.groups)  # unrelated images stay out


# --------------------------------------------------------------------------- image to prompt


def test_image_to_prompt_ranks_as_a_direct_computation_and_cites_sections_that_exist(services, tiny_dir, tmp_path):
    files = _gallery(tmp_path / "gallery")
    result = _run(services.prompts.image_to_prompt(str(files["red"]), "fast"))
    rows = services.prompts.modifiers()
    model = transformers.BlipForImageTextRetrieval.from_pretrained(tiny_dir / "blip-itm").eval()
    processor = transformers.AutoProcessor.from_pretrained(tiny_dir / "blip-itm")
    with torch.no_grad():
        pixels = processor.image_processor(images=Image.open(files["red"]).convert("RGB"), return_tensors="pt")
        image_feat = torch.nn.functional.normalize(model.vision_proj(
            model.vision_model(pixels["pixel_values"]).last_hidden_state[:, 0]), dim=-1)[0]
        usable = [r for r in rows if r["category"] not in ("subject", "negative")]
        text = processor.tokenizer([r["term"] for r in usable], padding=True, return_tensors="pt")
        text_feat = torch.nn.functional.normalize(model.text_proj(model.text_encoder(
            input_ids=text["input_ids"], attention_mask=text["attention_mask"]).last_hidden_state[:, 0]), dim=-1)
        itc = (text_feat @ image_feat).tolist()
    expected = [usable[i]["term"] for i in sorted(range(len(usable)), key=lambda i: -itc[i])[:8]]
    assert [m.term for m in result.modifiers] == expected
    assert result.prompt == ", ".join([result.caption, *expected])
    for chosen in result.modifiers:
        assert chosen.itc == pytest.approx(itc[[r["term"] for r in usable].index(chosen.term)], abs=1e-5)
    # Every citation names a section that exists (the site build checks the anchors; see test_knowledge).
    for citation in [m.citation for m in result.modifiers] + result.citations:
        page, _, anchor = citation.uri.removeprefix("notes://").partition("#")
        assert services.notes.read(f"{page}#{anchor}").markdown
    negative = _run(services.prompts.image_to_prompt(str(files["red"]), "negative"))
    assert negative.modifiers and all(m.category == "negative" for m in negative.modifiers)
    assert [m.itc for m in negative.modifiers] == sorted(m.itc for m in negative.modifiers)  # least like first
    classic = _run(services.prompts.image_to_prompt(str(files["red"]), "classic"))
    assert len({m.category for m in classic.modifiers}) == len(classic.modifiers) and classic.modifiers[0].itm


def test_modifier_embeddings_are_cached_on_disk(services, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    rows = services.prompts.modifiers()
    first = _run(services.prompts.term_embeddings(rows, "blip-itm"))
    cached = list((tmp_path / "cache").rglob("*.npy"))
    assert len(cached) == 1
    calls = []
    monkeypatch.setattr(services.vision, "embed_texts", lambda *a, **k: calls.append(a))
    again = _run(services.prompts.term_embeddings(rows, "blip-itm"))
    assert not calls and np.array_equal(first, again)


# --------------------------------------------------------------------------- BLIP-2 retrieval checkpoints


@pytest.mark.parametrize("method", ["itm", "itc"])
def test_blip2_retrieval_scores_equal_the_direct_way(services, tiny_dir, image_paths, method):
    texts = ["a red thing", "two dogs on grass"]
    result = _run(services.vision.match(image_paths[0], texts, method, "blip2-itm"))
    model = transformers.Blip2ForImageTextRetrieval.from_pretrained(tiny_dir / "blip2-itm").eval()
    processor = transformers.AutoProcessor.from_pretrained(tiny_dir / "blip2-itm")
    with torch.no_grad():
        pixels = processor.image_processor(images=Image.open(image_paths[0]).convert("RGB"), return_tensors="pt")
        expected = []
        for text in texts:
            tokens = processor.tokenizer([text], return_tensors="pt")
            out = model(pixel_values=pixels["pixel_values"], input_ids=tokens["input_ids"],
                        attention_mask=tokens["attention_mask"], use_image_text_matching_head=method == "itm")
            expected.append(float(out.logits_per_image.softmax(-1)[0, 1]) if method == "itm"
                            else float(out.logits_per_image[0, 0]))
    assert [s.score for s in result.scores] == pytest.approx(expected, abs=1e-5)


def test_a_blip2_retrieval_model_can_serve_as_the_index_model(tiny_config, tmp_path):
    services = Services(_settings(tiny_config, tmp_path, index={"model": "blip2-itm"}))
    files = _gallery(tmp_path / "gallery")
    report = _run(services.images.index(str(tmp_path / "gallery")))
    found = _run(services.images.search(image=str(files["grad"]), k=1))
    services.close()
    assert report.model == "blip2-itm" and report.added == 4
    assert found.hits.hits[0].path == str(files["grad"]) and found.hits.model == "blip2-itm"


# --------------------------------------------------------------------------- safety


def test_the_index_file_is_private_to_the_user(services, tmp_path):
    _gallery(tmp_path / "gallery")
    _run(services.images.index(str(tmp_path / "gallery")))
    assert stat.S_IMODE((tmp_path / "index.sqlite").stat().st_mode) == 0o600


def test_folders_over_http_only_under_allowed_roots_and_links_never_lead_out(tiny_config, tmp_path):
    inside, outside = tmp_path / "root" / "photos", tmp_path / "elsewhere"
    _gallery(inside)
    _gallery(outside)
    (inside / "escape.png").symlink_to(outside / "red.png")
    (inside / "escape-dir").symlink_to(outside, target_is_directory=True)
    over_http = Services(_settings(tiny_config, tmp_path), local_paths=False)
    with pytest.raises(BadInputError, match="not readable over HTTP unless images.allowed_roots is set"):
        _run(over_http.images.index(str(inside)))
    over_http.close()
    rooted = Services(_settings(tiny_config, tmp_path, AI_NOTES_MCP_IMAGES=json.dumps(
        {"allowed_roots": [str(tmp_path / "root")]})), local_paths=False)
    with pytest.raises(BadInputError, match="outside images.allowed_roots"):
        _run(rooted.images.index(str(outside)))
    report = _run(rooted.images.index(str(inside)))
    rooted.close()
    assert report.added == 4  # neither the linked file nor the linked folder from outside the root


# --------------------------------------------------------------------------- through an MCP client


def test_the_tools_answer_through_an_mcp_client_with_progress_and_thumbnails(tiny_config, tmp_path):
    files = _gallery(tmp_path / "gallery")
    settings = _settings(tiny_config, tmp_path)
    progress = []

    async def go():
        async with Client(create_server(settings)) as client:
            async def on_progress(done, total, message):
                progress.append((done, total))

            indexed = await client.call_tool("index_images", {"folder": str(tmp_path / "gallery")},
                                             progress_callback=on_progress)
            found = await client.call_tool("search_images", {"text": "a blue square", "k": 3})
            dupes = await client.call_tool("find_duplicates", {"folder": str(tmp_path / "gallery")})
            status = await client.call_tool("index_status", {})
            prompt = await client.call_tool("image_to_prompt", {"image": str(files["blue"]), "mode": "fast"})
            return indexed, found, dupes, status, prompt

    indexed, found, dupes, status, prompt = _run(go())
    assert not any(r.is_error for r in (indexed, found, dupes, status, prompt))
    assert indexed.structured_content["added"] == 4 and progress and progress[-1] == (4, 4)
    assert [b.type for b in found.content][:3] == ["image"] * 3 and len(found.structured_content["hits"]) == 3
    assert status.structured_content["images"] == 4
    assert prompt.structured_content["prompt"].startswith(prompt.structured_content["caption"])
