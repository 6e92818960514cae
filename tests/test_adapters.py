"""LoRA adapters end to end: `finetune` on tiny checkpoints, then the adapters served by name through an MCP client,
mixed in one batch with their base model, each row equal to a lone call and to PEFT's own way.

The data are a handful of synthetic images with distinct captions (and questions with distinct answers); a tiny
checkpoint memorises them in a few seconds of training, which is what the tests check: the adapter writes its
training texts, the base model does not.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import torch
import transformers
import yaml
from mcp import Client
from PIL import Image, ImageDraw
from safetensors.torch import load_file
from test_cli import cli

from mcp_server.config import load_settings
from mcp_server.errors import ModelUnavailableError
from mcp_server.server import create_server
from mcp_server.training import finetune as finetune_module
from mcp_server.vision.options import AnswerOptions, CaptionOptions
from mcp_server.vision.service import VisionService

COLOURS = {"red": (230, 20, 20), "green": (20, 170, 40), "blue": (30, 40, 230), "yellow": (240, 230, 20)}
CAPTIONS = {"red": "a red square on a white table", "green": "two green trees in a field",
            "blue": "a blue boat on the sea", "yellow": "a yellow bus in the city"}
OTHER_CAPTIONS = {"red": "a dog eating pizza", "green": "a man riding a horse", "blue": "a cat under a chair",
                  "yellow": "a child holding a cake"}
ANSWERS = {"red": ("red", "square"), "green": ("green", "tree"), "blue": ("blue", "boat"), "yellow": ("yellow", "bus")}
QUESTIONS = ("what color is it?", "what is in the picture?")
GERMAN = {"red": "rotes Quadrat", "green": "grüner Baum", "blue": "blaues Boot", "yellow": "gelber Bus"}
SPANISH = {"red": "un perro rojo", "green": "un gato verde", "blue": "el cuadrado azul", "yellow": "foto amarillo"}
MEMORISE = ["--epochs", "150", "--batch-size", "8", "--learning-rate", "0.01", "--dropout", "0", "--val-split", "0",
            "--targets", "all", "--rank", "16"]  # full batches: a tiny checkpoint memorises its few texts steadily
GREEDY = CaptionOptions(num_beams=1, max_new_tokens=20)


def _images(folder: Path, captions: dict[str, str] | None = None) -> dict[str, Path]:
    """One synthetic picture per colour (a filled shape on a contrasting ground), with its caption beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for i, (name, colour) in enumerate(COLOURS.items()):
        image = Image.new("RGB", (48, 48), tuple(255 - c for c in colour))
        ImageDraw.Draw(image).ellipse([4 + 3 * i, 4, 40, 30 + 4 * i], fill=colour)
        paths[name] = folder / f"{name}.png"
        image.save(paths[name])
        if captions:
            (folder / f"{name}.txt").write_text(captions[name] + "\n", encoding="utf-8")
    return paths


def _train(config: Path, data: Path, out: Path, *args: str) -> dict:
    run = cli("finetune", "--data", str(data), "--out", str(out), *args, "--json", config=config)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def _settings(tiny_dir: Path, adapters: dict, name: str = "adapters.yaml", **extra):
    config = yaml.safe_load((tiny_dir / "config.yaml").read_text())
    config["adapters"] = adapters
    config.update(extra)
    path = tiny_dir / name
    path.write_text(json.dumps(config))
    return path, load_settings(path, environ={"AI_NOTES_MCP_DTYPE": "float32"})


async def _gather(*coros):
    return await asyncio.gather(*coros)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models gain nothing from a second thread, and on a shared machine a second OpenMP thread that waits for a
    busy core makes each training step tens of times slower; results do not depend on it (both sides of every
    comparison here run alike)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_dir, tiny_config):
    """Two caption adapters of blip-base (the same images, other captions), a VQA adapter of blip-vqa, a German one
    of blip2-opt and a Spanish one of blip2-mt0; and settings that serve all of them by name."""
    root = tmp_path_factory.mktemp("adapters")
    images = _images(root / "shapes", CAPTIONS)
    _images(root / "others", OTHER_CAPTIONS)
    _images(root / "german", GERMAN)
    _images(root / "spanish", SPANISH)
    rows = [{"image": str(images[c]), "question": q, "answer": a}
            for c in COLOURS for q, a in zip(QUESTIONS, ANSWERS[c], strict=True)]
    (root / "qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    results = {
        "shapes": _train(tiny_config, root / "shapes", root / "out-shapes", "--model", "blip-base", *MEMORISE),
        "others": _train(tiny_config, root / "others", root / "out-others", "--model", "blip-base", *MEMORISE),
        "colours": _train(tiny_config, root / "qa.jsonl", root / "out-colours", "--model", "blip-vqa", *MEMORISE),
        "deutsch": _train(tiny_config, root / "german", root / "out-deutsch", "--model", "blip2-opt", *MEMORISE),
        "espanol": _train(tiny_config, root / "spanish", root / "out-espanol", "--model", "blip2-mt0", *MEMORISE),
    }
    bases = {"shapes": "blip-base", "others": "blip-base", "colours": "blip-vqa", "deutsch": "blip2-opt",
             "espanol": "blip2-mt0"}
    config, settings = _settings(tiny_dir, {n: {"base": b, "path": results[n]["out"]} for n, b in bases.items()})
    return {"root": root, "images": {c: str(p) for c, p in images.items()}, "results": results, "config": config,
            "settings": settings}


# -------------------------------------------------------------------------------------- trained, then served


def test_a_caption_adapter_served_by_name_writes_its_training_captions_and_the_base_model_does_not(trained):
    images = trained["images"]

    async def go():
        async with Client(create_server(trained["settings"])) as client:
            calls = {(colour, model): client.call_tool("caption_image", {"image": path, "model": model,
                                                                         "num_beams": 1, "max_new_tokens": 20})
                     for colour, path in images.items() for model in ("shapes", "blip-base")}
            done = dict(zip(calls, await asyncio.gather(*calls.values()), strict=True))
            listed = (await client.call_tool("list_models", {})).structured_content
            return {k: v.structured_content for k, v in done.items()}, listed

    results, listed = asyncio.run(go())
    for colour in COLOURS:
        assert results[colour, "shapes"]["captions"] == [CAPTIONS[colour]]
        assert results[colour, "shapes"]["model"] == "shapes"
        assert results[colour, "blip-base"]["captions"] != [CAPTIONS[colour]]
    rows = {m["name"]: m for m in listed["models"]}
    assert rows["shapes"]["base"] == "blip-base" and rows["shapes"]["status"] == "loaded"
    assert rows["shapes"]["source"] == trained["results"]["shapes"]["out"] and rows["shapes"]["tasks"] == ["caption"]
    assert rows["colours"]["status"] == "available" and rows["blip-base"]["base"] is None


def test_a_vqa_adapter_answers_with_its_training_answers_through_mcp(trained):
    async def go():
        async with Client(create_server(trained["settings"])) as client:
            calls = {(c, q, m): client.call_tool("answer_question", {"image": trained["images"][c], "question": q,
                                                                     "model": m, "num_beams": 1})
                     for c in COLOURS for q in QUESTIONS for m in ("colours", "blip-vqa")}
            done = await asyncio.gather(*calls.values())
            return {k: v.structured_content["answer"] for k, v in zip(calls, done, strict=True)}

    answers = asyncio.run(go())
    for colour in COLOURS:
        for question, answer in zip(QUESTIONS, ANSWERS[colour], strict=True):
            assert answers[colour, question, "colours"] == answer
            assert answers[colour, question, "blip-vqa"] != answer


@pytest.mark.parametrize("adapter, base, captions", [("deutsch", "blip2-opt", GERMAN),
                                                     ("espanol", "blip2-mt0", SPANISH)])
def test_an_adapter_writes_captions_in_another_language(trained, adapter, base, captions):
    """The recipe of the notes (small-models.md#lora-languages): captions in the language, a BLIP-2 base whose
    tokenizer can write it (OPT's byte-level BPE writes any text; mBLIP's mT0 is multilingual)."""
    service = VisionService(trained["settings"])
    results = asyncio.run(_gather(*(service.caption(p, GREEDY, m) for p in trained["images"].values()
                                    for m in (adapter, base))))
    service.close()
    written = dict(zip([(c, m) for c in COLOURS for m in (adapter, base)], [r.captions[0] for r in results],
                       strict=True))
    for colour in COLOURS:
        assert written[colour, adapter] == captions[colour]
        assert written[colour, base] != captions[colour]


# -------------------------------------------------------------------------------------- one batch, many adapters


def test_a_batch_mixing_two_adapters_and_the_base_equals_three_lone_calls_and_peft(trained, tiny_dir):
    images = trained["images"]
    lone_service = VisionService(trained["settings"])
    lone = [asyncio.run(lone_service.caption(images[c], GREEDY, m)).captions
            for c, m in (("red", "shapes"), ("red", "others"), ("red", "blip-base"), ("blue", "shapes"))]
    lone_batches = lone_service.engine("blip-base").batches
    lone_service.close()
    assert lone_batches == 4 and len({tuple(c) for c in lone[:3]}) == 3  # three different rows

    patient = trained["settings"].model_copy(update={"batching": trained["settings"].batching.model_copy(
        update={"max_wait_ms": 500})})
    service = VisionService(patient)
    engine = service.engine("shapes")
    assert engine is service.engine("others") is service.engine("blip-base")  # one base model, one engine
    mixed = asyncio.run(_gather(service.caption(images["red"], GREEDY, "shapes"),
                                service.caption(images["red"], GREEDY, "others"),
                                service.caption(images["red"], GREEDY, "blip-base"),
                                service.caption(images["blue"], GREEDY, "shapes")))
    assert [r.captions for r in mixed] == lone
    assert (engine.batches, engine.encoded_images) == (1, 2)  # one batch; each image encoded once for all rows

    # Explanations run through the adapter too: its own caption is far more probable under it than under the base.
    adapted, base = (asyncio.run(service.explain_caption(images["red"], CAPTIONS["red"], m)).result
                     for m in ("shapes", "blip-base"))
    assert [w.word for w in adapted.words] == CAPTIONS["red"].split() and adapted.model == "shapes"
    assert all(a.probability > 10 * b.probability for a, b in zip(adapted.words, base.words, strict=True))
    service.close()

    # PEFT's own mixed batch on the library's model: the same captions.
    source = trained["settings"].models["blip-base"].source
    from peft import PeftModel

    model = transformers.BlipForConditionalGeneration.from_pretrained(source).eval()
    model = PeftModel.from_pretrained(model, trained["results"]["shapes"]["out"], adapter_name="shapes")
    model.load_adapter(trained["results"]["others"]["out"], adapter_name="others")
    processor = transformers.AutoProcessor.from_pretrained(source)
    pixels = processor(images=[Image.open(images[c]).convert("RGB") for c in ("red", "red", "red", "blue")],
                       return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        out = model.generate(pixel_values=pixels, adapter_names=["shapes", "others", "__base__", "shapes"],
                             max_new_tokens=20, num_beams=1)
    assert [[t.strip()] for t in processor.batch_decode(out, skip_special_tokens=True)] == lone


@pytest.mark.parametrize("num_beams", [1, 3])
def test_mixed_answers_and_beams_equal_lone_calls(trained, num_beams):
    """VQA: the question encoder sees a row per request, the decoder a row per beam; each keeps its adapter."""
    vqa = {"colours": trained["settings"].adapters["colours"]}
    _, settings = _settings(trained["config"].parent, {**{k: v.model_dump() for k, v in vqa.items()}},
                            name="vqa.yaml", batching={"max_batch": 8, "max_wait_ms": 500, "max_queue": 64})
    calls = [(trained["images"][c], q, m) for c in ("red", "green") for q in QUESTIONS for m in ("colours", "blip-vqa")]
    options = AnswerOptions(num_beams=num_beams, max_new_tokens=6)
    service = VisionService(settings)
    lone = [asyncio.run(service.answer(*call[:2], options, call[2])).answer for call in calls]
    service.close()
    service = VisionService(settings)
    mixed = asyncio.run(_gather(*(service.answer(i, q, options, m) for i, q, m in calls)))
    batches = service.engine("blip-vqa").batches
    service.close()
    assert [r.answer for r in mixed] == lone and batches < len(calls)


# -------------------------------------------------------------------------------------- what training touches


def test_the_image_encoder_is_untouched_and_runs_only_to_encode_each_image_once(tiny_config, trained, tmp_path,
                                                                                monkeypatch):
    seen = {}
    real_load = finetune_module._load

    def load_and_watch(settings, name):
        backend = real_load(settings, name)
        seen["backend"] = backend
        seen["before"] = {k: v.clone() for k, v in backend.model.vision_model.state_dict().items()}
        seen["calls"] = 0

        def count(*_):
            seen["calls"] += 1

        backend.model.vision_model.embeddings.register_forward_hook(count)  # what every encoder pass starts with
        return backend

    monkeypatch.setattr(finetune_module, "_load", load_and_watch)
    result = _train(tiny_config, trained["root"] / "shapes", tmp_path / "out", "--epochs", "3", "--batch-size", "1",
                    "--rank", "2")  # a tiny model's layers are 32 wide: rank 8 would be a quarter of each
    vision = seen["backend"].model.vision_model.state_dict()
    assert vision.keys() == seen["before"].keys()
    assert all(torch.equal(vision[k], seen["before"][k]) for k in vision)  # bit-identical
    on_disk = load_file(str(Path(trained["settings"].models["blip-base"].source) / "model.safetensors"))
    assert all(torch.equal(v, on_disk[f"vision_model.{k}"]) for k, v in vision.items())
    assert seen["calls"] == 1  # 4 images in one encoding batch, then 12 training steps without the encoder
    assert 0 < result["trainable_share"] < 0.1
    assert result["trainable_params"] == sum(v.numel() for v in load_file(
        str(tmp_path / "out" / "adapter_model.safetensors")).values())
    assert not any("vision_model" in k for k in load_file(str(tmp_path / "out" / "adapter_model.safetensors")))


def test_the_trainable_share_is_reported_with_validation_loss_per_epoch_and_a_card(tiny_config, trained, tmp_path):
    out = tmp_path / "adapter"
    run = cli("finetune", "--data", str(trained["root"] / "qa.jsonl"), "--out", str(out), "--epochs", "2",
              "--val-split", "0.25", config=tiny_config)
    assert run.returncode == 0, run.stderr
    assert "trainable parameters (" in run.stdout and "% of the model)" in run.stdout
    assert "adapters: {adapter: {base: blip-vqa, path: " in run.stdout
    epochs = [line for line in run.stderr.splitlines() if line.startswith("epoch ")]
    assert len(epochs) == 2 and all("validation loss" in line and "checkpoint" in line for line in epochs)
    card = json.loads((out / "adapter_card.json").read_text())
    assert card["base"]["name"] == "blip-vqa" and card["base"]["architecture"] == "BlipForQuestionAnswering"
    assert card["task"] == "vqa" and card["data"]["images"] == 4 and card["data"]["validation_examples"] == 2
    assert len(card["losses"]["train"]) == len(card["losses"]["validation"]) == 2
    assert card["settings"]["val_split"] == 0.25 and card["date"][:4].isdigit()
    assert "text_encoder" in card["lora"]["target_modules"] and "text_decoder" in card["lora"]["target_modules"]
    readme = (out / "README.md").read_text()
    assert "notes/small-models.md#lora-vision-language" in readme and card["data"]["fingerprint"] in readme
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["epoch-0001", "epoch-0002"]


def test_an_interrupted_run_resumes_from_its_last_checkpoint_and_ends_as_an_uninterrupted_one(
        tiny_config, trained, tmp_path, monkeypatch):
    data = trained["root"] / "shapes"
    args = ["--epochs", "4", "--batch-size", "2", "--dropout", "0.1", "--seed", "7"]
    whole = _train(tiny_config, data, tmp_path / "whole", *args)

    real_checkpoint = finetune_module._checkpoint

    def interrupted_after_epoch_2(out_dir, epoch, *rest):
        saved = real_checkpoint(out_dir, epoch, *rest)
        if epoch == 2:
            raise KeyboardInterrupt  # as a Ctrl-C right after the second checkpoint is written
        return saved

    monkeypatch.setattr(finetune_module, "_checkpoint", interrupted_after_epoch_2)
    stopped = cli("finetune", "--data", str(data), "--out", str(tmp_path / "cut"), *args, config=tiny_config)
    assert stopped.returncode == 130 and "--resume" in stopped.stderr
    assert not (tmp_path / "cut" / "adapter_model.safetensors").exists()
    monkeypatch.undo()

    again = cli("finetune", "--data", str(data), "--out", str(tmp_path / "cut"), *args, config=tiny_config)
    assert again.returncode == 2 and "--resume" in again.stderr  # a run is there: no silent restart
    resumed = _train(tiny_config, data, tmp_path / "cut", *args, "--resume")
    assert resumed["resumed_from"] == 2 and resumed["epochs"] == 4
    assert resumed["train_loss"] == whole["train_loss"]
    first, second = (load_file(str(tmp_path / d / "adapter_model.safetensors")) for d in ("whole", "cut"))
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)

    other = cli("finetune", "--data", str(data), "--out", str(tmp_path / "cut"), *args[:-2], "--seed", "8",
                "--resume", config=tiny_config)
    assert other.returncode == 2 and "other settings" in other.stderr and "seed" in other.stderr
    nothing = cli("finetune", "--data", str(data), "--out", str(tmp_path / "empty"), "--resume", config=tiny_config)
    assert nothing.returncode == 2 and "no checkpoint to resume" in nothing.stderr


# -------------------------------------------------------------------------------------- bad data, one line each


def _bad_data(root: Path, case: str) -> tuple[Path, list[str]]:
    folder = root / case
    if case == "unreadable image":
        _images(folder, CAPTIONS)
        (folder / "green.png").write_bytes(b"not a picture at all")
        return folder, []
    if case == "no sidecar caption":
        _images(folder, CAPTIONS)
        (folder / "blue.txt").unlink()
        return folder, []
    if case == "row without caption":
        images = _images(folder)
        rows = [{"image": str(p), "caption": "a photo"} for p in images.values()]
        rows[2] = {"image": str(images["blue"])}
        (folder / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        return folder / "data.jsonl", []
    if case == "row without answer":
        images = _images(folder)
        lines = ["image,question,answer"] + [f"{p},what is it?,a thing" for p in images.values()]
        lines[3] = f"{images['blue']},what is it?,"
        (folder / "data.csv").write_text("\n".join(lines) + "\n")
        return folder / "data.csv", []
    if case == "empty folder":
        folder.mkdir(parents=True)
        return folder, []
    if case == "tiny set":
        _images(folder, CAPTIONS)
        for name in ("red", "green"):
            (folder / f"{name}.png").unlink()
        return folder, []
    if case == "words BLIP cannot spell":
        _images(folder, {c: "赤い四角と青い空 " + c for c in COLOURS})
        return folder, ["--model", "blip-base"]
    if case == "vqa asked of captions":
        _images(folder, CAPTIONS)
        return folder, ["--task", "vqa"]
    raise AssertionError(case)


@pytest.mark.parametrize("case, message", [
    ("unreadable image", "green.txt: image"),
    ("no sidecar caption", "blue.png has no caption: write it in blue.txt"),
    ("row without caption", "data.jsonl line 3 has no caption"),
    ("row without answer", "data.csv line 4 has no answer"),
    ("empty folder", "holds no images"),
    ("tiny set", "holds only 2 example(s); training needs at least 4"),
    ("words BLIP cannot spell", "are unknown to model 'blip-base''s tokenizer"),
    ("vqa asked of captions", "--task vqa needs question and answer rows"),
])
def test_bad_data_is_one_line_naming_the_problem(tiny_config, tmp_path, case, message):
    data, extra = _bad_data(tmp_path, case)
    run = cli("finetune", "--data", str(data), "--out", str(tmp_path / "out"), *extra, config=tiny_config)
    assert run.returncode == 2, run.stdout
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], run.stderr
    if case == "words BLIP cannot spell":
        assert "English uncased WordPiece" in lines[0] and "BLIP-2" in lines[0] and "#lora-languages" in lines[0]
    assert not (tmp_path / "out").exists()


# -------------------------------------------------------------------------------------- what can go wrong serving


def test_a_missing_corrupt_or_misplaced_adapter_is_one_line_and_the_others_keep_working(trained, tmp_path):
    results = trained["results"]
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    for name in ("adapter_config.json", "adapter_card.json"):
        (corrupt / name).write_text((Path(results["shapes"]["out"]) / name).read_text())
    (corrupt / "adapter_model.safetensors").write_bytes(
        (Path(results["shapes"]["out"]) / "adapter_model.safetensors").read_bytes()[:100])
    adapters = {
        "shapes": {"base": "blip-base", "path": results["shapes"]["out"]},
        "gone": {"base": "blip-base", "path": str(tmp_path / "nowhere")},
        "broken": {"base": "blip-base", "path": str(corrupt)},
        "misplaced": {"base": "blip-base", "path": results["colours"]["out"]},  # trained on blip-vqa
        "stranger": {"base": "blip2-mt0", "path": results["deutsch"]["out"]},  # trained on blip2-opt
    }
    _, settings = _settings(trained["config"].parent, adapters, name="broken.yaml")
    service = VisionService(settings)
    assert {m.name: m.status for m in service.list_models().models}["gone"] == "missing"
    with pytest.raises(ModelUnavailableError, match="cannot be read"):  # the whole call, once, as for a model
        asyncio.run(service.caption_many([trained["images"]["red"]] * 2, GREEDY, "broken"))
    for name, message in [("gone", "is not an adapter folder (no adapter_config.json)"),
                          ("broken", "cannot be read"),
                          ("misplaced", "was trained on 'blip-vqa'"),
                          ("stranger", "was trained on 'blip2-opt'")]:
        with pytest.raises(ModelUnavailableError) as caught:
            asyncio.run(service.caption(trained["images"]["red"], GREEDY, name))
        assert message in str(caught.value) and "\n" not in str(caught.value), str(caught.value)
    assert asyncio.run(service.caption(trained["images"]["red"], GREEDY, "shapes")).captions == [CAPTIONS["red"]]
    assert asyncio.run(service.caption(trained["images"]["red"], GREEDY, "blip-base")).captions
    assert asyncio.run(service.caption(trained["images"]["red"], GREEDY, "blip2-mt0")).captions
    rows = {m.name: m for m in service.list_models().models}
    assert rows["broken"].status == "failed" and "cannot be read" in rows["broken"].hint
    assert rows["shapes"].status == "loaded" and rows["stranger"].status == "failed"
    service.close()

    run = cli("caption", trained["images"]["red"], "--model", "misplaced", config=trained["config"].parent /
              "broken.yaml")
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1
    assert "retrain it with `ai-notes-mcp finetune --model blip-base`" in run.stderr


def test_settings_refuse_an_adapter_named_like_a_model_or_on_an_unknown_base(trained):
    from mcp_server.errors import ConfigError

    for adapters, message in [({"blip-base": {"base": "blip-base", "path": "x"}}, "has the name of a model"),
                              ({"a": {"base": "nope", "path": "x"}}, "adapters.a.base names 'nope'"),
                              ({"a": {"base": "blip-itm", "path": "x"}}, "adapters caption or answer"),
                              ({"a": {"base": "blip-base", "path": "x", "extra": 1}}, "base, path, tasks")]:
        with pytest.raises(ConfigError) as caught:
            _settings(trained["config"].parent, adapters, name="bad.yaml")
        assert message in str(caught.value), str(caught.value)


@pytest.mark.skipif(not __import__("mcp_server.deviations.onednn_packing", fromlist=["can_pack"]).can_pack(
    "cpu", torch.bfloat16), reason="this CPU has no native bf16 oneDNN kernels")
def test_adapters_serve_in_bfloat16_on_packed_linears(trained):
    settings = load_settings(trained["config"], environ={"AI_NOTES_MCP_DTYPE": "bfloat16"})
    service = VisionService(settings)
    captions = asyncio.run(_gather(*(service.caption(trained["images"][c], GREEDY, "shapes") for c in COLOURS)))
    assert [c.captions[0] for c in captions] == list(CAPTIONS.values())
    service.close()


def test_a_qformer_adapter_runs_the_qformer_per_request_on_cached_encoder_output(trained, tiny_dir, tmp_path):
    result = _train(trained["config"].parent / "config.yaml", trained["root"] / "german", tmp_path / "q",
                    "--model", "blip2-opt", "--qformer", *MEMORISE)
    assert "qformer" in json.loads((tmp_path / "q" / "adapter_card.json").read_text())["lora"]["target_modules"]
    _, settings = _settings(tiny_dir, {"q": {"base": "blip2-opt", "path": result["out"]}}, name="q.yaml")
    service = VisionService(settings)
    written = asyncio.run(_gather(*(service.caption(trained["images"][c], GREEDY, m) for c in COLOURS
                                    for m in ("q", "blip2-opt"))))
    engine = service.engine("q")
    assert engine.backend.queries_per_request
    assert engine.encoded_images == len(COLOURS)  # the cached encoder output serves the adapter and the base
    service.close()
    assert [w.captions[0] for w in written[::2]] == list(GERMAN.values())

    plain = VisionService(trained["settings"])  # the same base model, caching the Q-Former's output
    expected = asyncio.run(_gather(*(plain.caption(trained["images"][c], GREEDY, "blip2-opt") for c in COLOURS)))
    plain.close()
    assert [w.captions for w in written[1::2]] == [e.captions for e in expected]
