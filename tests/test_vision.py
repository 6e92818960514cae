"""The vision service against the direct Hugging Face way, with tiny real-architecture checkpoints."""

from __future__ import annotations

import asyncio
import copy
import threading
import time

import pytest
import torch
import transformers
from PIL import Image

from mcp_server.deviations.onednn_packing import MIN_FP32_WEIGHTS, PackedLinear, can_pack, pack_linears
from mcp_server.errors import BadInputError, BusyError, ModelUnavailableError
from mcp_server.vision import hub
from mcp_server.vision.blip import BlipBackend
from mcp_server.vision.blip2 import Blip2Backend
from mcp_server.vision.options import AnswerOptions, CaptionOptions
from mcp_server.vision.service import VisionService


@pytest.fixture
def service(settings):
    svc = VisionService(settings)
    yield svc
    svc.close()


def _direct(settings, name: str, cls: str):
    source = settings.models[name].source
    return getattr(transformers, cls).from_pretrained(source).eval(), transformers.AutoProcessor.from_pretrained(source)


def _run(coro):
    return asyncio.run(coro)


async def _gather(*coros):
    return await asyncio.gather(*coros)


@pytest.mark.parametrize("num_beams", [1, 3])
def test_blip_captions_batched_equal_direct_generate(settings, service, image_paths, num_beams):
    model, processor = _direct(settings, "blip-base", "BlipForConditionalGeneration")
    direct = []
    for path in image_paths:
        inputs = processor(images=Image.open(path).convert("RGB"), return_tensors="pt")
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=12, num_beams=num_beams, do_sample=False)
        direct.append(processor.decode(out[0], skip_special_tokens=True).strip())
    assert len(set(direct)) > 1, "the tiny model must tell the test images apart for this test to mean anything"

    options = CaptionOptions(max_new_tokens=12, num_beams=num_beams)
    results = _run(_gather(*(service.caption(p, options) for p in image_paths)))
    assert [r.captions[0] for r in results] == direct
    assert service._engines["blip-base"].batches < len(image_paths)  # they really were batched


def test_blip_caption_prompt_continues_the_prompt(settings, service, image_paths):
    model, processor = _direct(settings, "blip-base", "BlipForConditionalGeneration")
    inputs = processor(images=Image.open(image_paths[0]).convert("RGB"), text="a picture of", return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=8, num_beams=1)
    expected = processor.decode(out[0], skip_special_tokens=True).strip()
    result = _run(service.caption(image_paths[0], CaptionOptions(prompt="a picture of", max_new_tokens=8, num_beams=1)))
    assert result.captions == [expected]
    assert expected.startswith("a picture of")


def test_blip_answers_batched_equal_direct_generate(settings, service, image_paths):
    model, processor = _direct(settings, "blip-vqa", "BlipForQuestionAnswering")
    questions = ["what color is it?", "is there a dog in the picture?", "how many?", "what is the man holding?"]
    direct = []
    for path, question in zip(image_paths, questions, strict=True):
        inputs = processor(images=Image.open(path).convert("RGB"), text=question, return_tensors="pt")
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=6, num_beams=1)
        direct.append(processor.decode(out[0], skip_special_tokens=True).strip())
    options = AnswerOptions(max_new_tokens=6, num_beams=1)
    results = _run(_gather(*(service.answer(p, q, options) for p, q in zip(image_paths, questions, strict=True))))
    assert [r.answer for r in results] == direct


@pytest.mark.parametrize("num_beams", [1, 3])
def test_questions_of_any_length_share_one_batch_and_equal_lone_answers(settings, image_paths, num_beams):
    model, processor = _direct(settings, "blip-vqa", "BlipForQuestionAnswering")
    questions = ["what?", "what color is it?", "is there a dog in the picture on the left?", "how many?", "why?"]
    assert len({len(processor.tokenizer(q)["input_ids"]) for q in questions}) > 2  # the batch needs padding
    image = Image.open(image_paths[2]).convert("RGB")
    direct = []
    for question in questions:
        inputs = processor(images=image, text=question, return_tensors="pt")
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=6, num_beams=num_beams)
        direct.append(processor.decode(out[0], skip_special_tokens=True).strip())
    assert len(set(direct)) > 1, "the tiny model must tell the questions apart for this test to mean anything"

    patient = settings.model_copy(update={"batching": settings.batching.model_copy(update={"max_wait_ms": 500})})
    service = VisionService(patient)
    engine = service.engine("blip-vqa")
    options = AnswerOptions(max_new_tokens=6, num_beams=num_beams)
    results = _run(_gather(*(service.answer(image_paths[2], q, options) for q in questions)))
    assert [r.answer for r in results] == direct
    assert (engine.batches, engine.encoded_images) == (1, 1)
    service.close()


@pytest.mark.parametrize("method", ["itm", "itc"])
def test_blip_match_scores_equal_direct_forward(settings, service, image_paths, method):
    model, processor = _direct(settings, "blip-itm", "BlipForImageTextRetrieval")
    texts = ["a red square", "a green field with a small box", "nothing"]
    image = Image.open(image_paths[0]).convert("RGB")
    expected = []
    for text in texts:
        inputs = processor(images=image, text=text, return_tensors="pt")
        with torch.no_grad():
            score = model(**inputs, use_itm_head=method == "itm").itm_score
        expected.append(score.softmax(-1)[0, 1].item() if method == "itm" else score[0, 0].item())
    result = _run(service.match(image_paths[0], texts, method))
    assert [s.text for s in result.scores] == texts
    assert [s.score for s in result.scores] == pytest.approx(expected, abs=1e-5)
    assert result.best == texts[max(range(len(texts)), key=expected.__getitem__)]
    if method == "itm":
        assert all(0.0 <= s.score <= 1.0 for s in result.scores)


def test_blip2_batched_equal_direct_generate(settings, service, image_paths):
    model, processor = _direct(settings, "blip2-opt", "Blip2ForConditionalGeneration")
    processor.tokenizer.padding_side = "left"
    questions = ["what is it?", "what color is the big thing on the left?", "why?", "is it day or night?"]
    direct_answers, direct_captions = [], []
    for path, question in zip(image_paths, questions, strict=True):
        image = Image.open(path).convert("RGB")
        inputs = processor(images=image, text=f"Question: {question} Answer:", return_tensors="pt")
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=5, num_beams=1)
        new = out[0, inputs["input_ids"].shape[1] :]
        direct_answers.append(processor.decode(new, skip_special_tokens=True).strip())
        inputs = processor(images=image, return_tensors="pt")
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=5, min_new_tokens=3, num_beams=1)
        direct_captions.append(processor.decode(out[0], skip_special_tokens=True).strip())
    answers = _run(
        _gather(
            *(
                service.answer(p, q, AnswerOptions(max_new_tokens=5, num_beams=1), model="blip2-opt")
                for p, q in zip(image_paths, questions, strict=True)
            )
        )
    )
    assert [a.answer for a in answers] == direct_answers
    assert len(set(direct_captions)) > 1
    options = CaptionOptions(max_new_tokens=5, min_new_tokens=3, num_beams=1)
    captions = _run(_gather(*(service.caption(p, options, model="blip2-opt") for p in image_paths)))
    assert [c.captions[0] for c in captions] == direct_captions


def test_second_question_on_same_image_skips_the_vision_encoder(service, image_paths):
    _run(service.answer(image_paths[0], "what is it?"))
    engine = service._engines["blip-vqa"]
    assert engine.encoded_images == 1
    _run(_gather(*(service.answer(image_paths[0], q) for q in ["what color?", "is it big?", "where?"])))
    assert engine.encoded_images == 1
    assert engine.cache.get(next(iter(engine.cache._items))) is not None
    _run(service.answer(image_paths[1], "what is it?"))
    assert engine.encoded_images == 2


def test_caption_results_carry_image_info_and_model(service, image_paths):
    result = _run(service.caption(image_paths[1], CaptionOptions(num_captions=2, num_beams=2, max_new_tokens=5)))
    assert len(result.captions) == 2
    assert (result.image.width, result.image.height) == (64, 64)
    assert len(result.image.sha256) == 64 and result.model == "blip-base"


def test_one_bad_image_fails_only_its_own_slot(service, image_paths, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    result = _run(service.caption_many([image_paths[0], str(bad), image_paths[1]], CaptionOptions(max_new_tokens=4)))
    assert [item.error is None for item in result.results] == [True, False, True]
    assert "bad.png" in result.results[1].error and "\n" not in result.results[1].error
    assert all(item.captions for i, item in enumerate(result.results) if i != 1)


def test_unknown_model_and_wrong_task_are_clear(service, image_paths):
    with pytest.raises(BadInputError, match="unknown model 'nope'; choose one of"):
        _run(service.caption(image_paths[0], model="nope"))
    with pytest.raises(BadInputError, match="'blip-itm' does not do caption"):
        _run(service.caption(image_paths[0], model="blip-itm"))


def test_missing_checkpoint_names_the_fix_and_others_keep_working(tmp_path, tiny_dir, image_paths, monkeypatch):
    from mcp_server.config import load_settings

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    config = tmp_path / "config.yaml"
    config.write_text(
        "models:\n"
        "  blip-base: {source: Salesforce/blip-image-captioning-base, tasks: [caption]}\n"
        f"  blip-vqa: {{source: {tiny_dir / 'blip-vqa'}, tasks: [vqa]}}\n"
        f"  blip-itm: {{source: {tiny_dir / 'blip-itm'}, tasks: [match]}}\n"
        "device: cpu\n"
    )
    service = VisionService(load_settings(config, environ={}))
    with pytest.raises(ModelUnavailableError) as info:
        _run(service.caption(image_paths[0]))
    assert str(info.value) == (
        "model 'blip-base' (Salesforce/blip-image-captioning-base) is not available: fetch it "
        f"with `{hub.hf_command()} download Salesforce/blip-image-captioning-base` (needs the network once), "
        "or set its source to a local folder"
    )
    assert _run(service.answer(image_paths[0], "what?")).model == "blip-vqa"
    listed = {m.name: m for m in service.list_models().models}
    assert listed["blip-base"].status == "missing" and f"{hub.hf_command()} download" in listed["blip-base"].hint
    assert listed["blip-vqa"].status == "loaded"
    service.close()


def test_corrupt_weights_fail_that_model_only(tmp_path, tiny_dir, image_paths):
    import shutil

    from mcp_server.config import load_settings

    broken = tmp_path / "broken"
    shutil.copytree(tiny_dir / "blip-caption", broken)
    (broken / "model.safetensors").write_bytes(b"\x00" * 100)
    config = tmp_path / "config.yaml"
    config.write_text(
        f"models:\n  blip-base: {{source: {broken}, tasks: [caption]}}\n"
        f"  blip-vqa: {{source: {tiny_dir / 'blip-vqa'}, tasks: [vqa]}}\n"
        f"  blip-itm: {{source: {tiny_dir / 'blip-itm'}, tasks: [match]}}\n"
    )
    service = VisionService(load_settings(config, environ={}))
    with pytest.raises(ModelUnavailableError, match="model 'blip-base' .* could not be loaded .*re-download"):
        _run(service.caption(image_paths[0]))
    assert _run(service.answer(image_paths[0], "what?")).answer is not None
    service.close()


def test_queue_past_max_queue_refuses_at_once(settings, image_paths):
    from mcp_server.vision.engine import Engine, Request

    class SlowModel:
        family, tasks = "blip", frozenset({"vqa"})
        release = None

        def encode(self, pixels):

            SlowModel.release.wait(10)
            return pixels

    import threading

    SlowModel.release = threading.Event()
    engine = Engine(SlowModel(), max_batch=1, max_wait_ms=0, max_queue=2, cache_size=0, name="slow")
    pixels = torch.zeros(3, 4, 4)
    first = engine.submit(Request("vqa", "k", "d0", pixels=pixels))
    import time

    deadline = time.monotonic() + 5
    while engine.queued() and time.monotonic() < deadline:  # the worker has taken the first one
        time.sleep(0.01)
    engine.submit(Request("vqa", "k", "d1", pixels=pixels))
    engine.submit(Request("vqa", "k", "d2", pixels=pixels))
    with pytest.raises(BusyError, match="busy: 2 requests are queued for model 'slow'; retry shortly"):
        engine.submit(Request("vqa", "k", "d3", pixels=pixels))
    SlowModel.release.set()
    first.exception(timeout=10)  # the fake model has no text side: the batch fails, only its own requests
    engine.close()


def test_cancelled_request_is_dropped_before_running(settings, image_paths):
    import threading

    from mcp_server.vision.engine import Engine, Request

    ran = []
    gate = threading.Event()

    class Model:
        family, tasks = "blip", frozenset({"match"})

        def encode(self, pixels):
            gate.wait(10)
            return pixels

        def match(self, features, texts, method):
            ran.extend(t for group in texts for t in group)
            return [[1.0] for _ in texts]

    engine = Engine(Model(), max_batch=1, max_wait_ms=0, max_queue=10, cache_size=0, name="m")
    pixels = torch.zeros(3, 2, 2)
    first = engine.submit(Request("match", "itm", "a", pixels=pixels, payload=["first"]))
    import time

    while engine.queued():
        time.sleep(0.01)
    second = engine.submit(Request("match", "itm", "b", pixels=pixels, payload=["second"]))
    assert second.cancel()
    gate.set()
    assert first.result(timeout=10) == [1.0]
    engine.close()
    assert ran == ["first"]


def test_failed_batch_fails_only_its_requests_and_engine_keeps_serving(service, image_paths, monkeypatch):
    _run(service.caption(image_paths[0], CaptionOptions(max_new_tokens=3)))
    engine = service._engines["blip-base"]
    original = engine.backend.caption_ids
    calls = {"n": 0}

    def flaky(features, options):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom")
        return original(features, options)

    monkeypatch.setattr(engine.backend, "caption_ids", flaky)
    with pytest.raises(Exception, match="failed on this request \\(RuntimeError: boom\\); other requests"):
        _run(service.caption(image_paths[1], CaptionOptions(max_new_tokens=3)))
    assert _run(service.caption(image_paths[2], CaptionOptions(max_new_tokens=3))).captions


def test_cached_features_give_the_same_results_as_fresh_ones(settings, service, image_paths):
    options = CaptionOptions(max_new_tokens=6, num_beams=2)
    first = _run(service.caption(image_paths[3], options))
    assert service._engines["blip-base"].encoded_images == 1
    again = _run(service.caption(image_paths[3], options))  # from the cache
    assert service._engines["blip-base"].encoded_images == 1
    fresh = VisionService(settings)
    assert first.captions == again.captions == _run(fresh.caption(image_paths[3], options)).captions
    fresh.close()


@pytest.mark.parametrize("device, native_bf16, expected", [
    ("cuda", False, torch.bfloat16), ("cpu", True, torch.bfloat16), ("cpu", False, torch.float32),
    ("mps", False, torch.float32),
])
def test_dtype_auto(monkeypatch, device, native_bf16, expected):
    from mcp_server.vision import loading

    monkeypatch.setattr(loading, "cpu_has_native_bf16", lambda: native_bf16)
    assert loading.resolve_dtype("auto", device) == expected
    assert loading.resolve_dtype("float32", device) == torch.float32


def _fake_devices(monkeypatch, cuda_devices: int, mps: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda_devices > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda_devices)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


@pytest.mark.parametrize("setting, cuda_devices, mps, message", [
    ("cuda", 0, False, "bad setting device: 'cuda', but torch .* (has no CUDA support|finds no CUDA device)"),
    ("cuda:2", 2, False, r"'cuda:2', but this machine has 2 CUDA device\(s\); use cuda:0 ... cuda:1"),
    ("mps", 0, False, "bad setting device: 'mps', but torch finds no Apple GPU here"),
])
def test_a_missing_device_is_refused(monkeypatch, setting, cuda_devices, mps, message):
    from mcp_server.errors import ConfigError
    from mcp_server.vision.loading import resolve_device

    _fake_devices(monkeypatch, cuda_devices, mps)
    with pytest.raises(ConfigError, match=message):
        resolve_device(setting)


@pytest.mark.parametrize("setting, cuda_devices, mps, expected", [
    ("auto", 1, False, "cuda"), ("auto", 0, True, "mps"), ("auto", 0, False, "cpu"), ("cpu", 1, True, "cpu"),
    ("cuda:1", 2, False, "cuda:1"), ("mps", 0, True, "mps"),
])
def test_devices_that_exist_are_used(monkeypatch, setting, cuda_devices, mps, expected):
    from mcp_server.vision.loading import resolve_device

    _fake_devices(monkeypatch, cuda_devices, mps)
    assert resolve_device(setting) == expected


def test_float16_on_cpu_is_refused():
    from mcp_server.errors import ConfigError
    from mcp_server.vision.loading import resolve_dtype

    with pytest.raises(ConfigError, match="bad setting dtype: float16 is not supported on the CPU"):
        resolve_dtype("float16", "cpu")


def test_loading_one_model_does_not_block_the_others(service, image_paths, monkeypatch):
    import threading

    from mcp_server.vision import loading

    _run(service.answer(image_paths[0], "what?"))  # blip-vqa is loaded
    gate, started = threading.Event(), threading.Event()
    real_load = loading.load_model

    def slow_load(*args, **kwargs):
        started.set()
        gate.wait(30)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(loading, "load_model", slow_load)
    loader = threading.Thread(target=service.engine, args=("blip-base",))
    loader.start()
    assert started.wait(10)
    try:
        assert _run(asyncio.wait_for(service.answer(image_paths[1], "what?"), timeout=20)).model == "blip-vqa"
    finally:
        gate.set()
        loader.join(30)
    assert "blip-base" in service._engines


@pytest.mark.parametrize("name, cls", [("blip-base", "BlipForConditionalGeneration"),
                                       ("blip-vqa", "BlipForQuestionAnswering"),
                                       ("blip-itm", "BlipForImageTextRetrieval")])
def test_blip_fused_attention_encoder_equals_the_library_vision_model(settings, image_paths, name, cls):
    from mcp_server.deviations.blip_sdpa import vision_features

    model, processor = _direct(settings, name, cls)
    images = [Image.open(p).convert("RGB") for p in image_paths]
    pixels = processor(images=images, return_tensors="pt")["pixel_values"]
    with torch.inference_mode():
        expected = model.vision_model(pixel_values=pixels).last_hidden_state
        torch.testing.assert_close(vision_features(model.vision_model, pixels), expected, rtol=1e-5, atol=1e-5)


def test_requests_queued_while_a_batch_encodes_join_it(settings, service, image_paths):
    options = CaptionOptions(max_new_tokens=6, num_beams=1)
    alone = VisionService(settings)
    expected = [_run(alone.caption(p, options)).captions for p in image_paths]
    alone.close()

    engine = service.engine("blip-base")
    original, calls = engine.backend.encode, []

    def encode(pixels):  # the first image's encoding lasts until the three others are queued
        calls.append(pixels.shape[0])
        deadline = time.monotonic() + 10
        while len(calls) == 1 and engine.queued() < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        return original(pixels)

    async def first_then_three():
        first = asyncio.create_task(service.caption(image_paths[0], options))
        while not calls:  # the worker is encoding the first image
            await asyncio.sleep(0.01)
        rest = asyncio.gather(*(service.caption(p, options) for p in image_paths[1:]))
        return [await first, *await rest]

    engine.backend.encode = encode
    results = _run(first_then_three())
    assert [r.captions for r in results] == expected
    assert calls == [1, 3]  # the three were encoded once they had queued...
    assert engine.batches == 1  # ...and joined the first one's text side


def test_bfloat16_runs_every_task(settings, image_paths):
    service = VisionService(settings.model_copy(update={"dtype": "bfloat16"}))
    caption = _run(service.caption(image_paths[0], CaptionOptions(max_new_tokens=5)))
    answer = _run(service.answer(image_paths[0], "what is it?"))
    match = _run(service.match(image_paths[0], ["a red square", "a dog"]))
    assert caption.captions[0] and answer.answer is not None and 0.0 <= match.scores[0].score <= 1.0
    assert {service._engines[n].backend.dtype for n in ("blip-base", "blip-vqa", "blip-itm")} == {torch.bfloat16}
    packed = any(isinstance(m, PackedLinear) for m in service._engines["blip-base"].backend.model.modules())
    assert packed == can_pack("cpu", torch.bfloat16)
    assert service.list_models().dtype == "bfloat16"
    service.close()


@pytest.mark.parametrize("dtype", [
    pytest.param(torch.bfloat16, marks=pytest.mark.skipif(not can_pack("cpu", torch.bfloat16),
                                                          reason="this CPU has no native bf16 oneDNN kernels")),
    pytest.param(torch.float32, marks=pytest.mark.skipif(not can_pack("cpu", torch.float32),
                                                         reason="this torch has no oneDNN")),
])
@pytest.mark.parametrize("name, cls", [("blip-base", "BlipForConditionalGeneration"),
                                       ("blip-vqa", "BlipForQuestionAnswering"),
                                       ("blip-itm", "BlipForImageTextRetrieval"),
                                       ("blip2-opt", "Blip2ForConditionalGeneration"),
                                       ("blip2-mt0", "Blip2ForConditionalGeneration")])
def test_packed_linears_give_the_plain_layers_results(settings, image_paths, name, cls, dtype):
    """bf16: the plain layers' results to the bit. float32: oneDNN's packed kernel sums in another order than
    torch's own, so features and scores within float32 rounding, generated ids equal."""
    exact = dtype == torch.bfloat16
    source = settings.models[name].source
    plain = getattr(transformers, cls).from_pretrained(source, dtype=dtype).eval()
    with torch.no_grad():  # the tiny checkpoints' biases are zeros; give them values that show
        for layer in plain.modules():
            if isinstance(layer, torch.nn.Linear) and layer.bias is not None:
                layer.bias.normal_(0, 0.5)
    packed = copy.deepcopy(plain)
    assert pack_linears(packed, min_fp32_weights=0) > 0  # the tiny layers too, to compare every packed path
    assert not any(type(m) is torch.nn.Linear for m in packed.modules())
    processor = transformers.AutoProcessor.from_pretrained(source)
    family = Blip2Backend if name.startswith("blip2") else BlipBackend
    ours, theirs = family(packed, processor), family(plain, processor)
    pixels = torch.stack([ours.preprocess(Image.open(p).convert("RGB")) for p in image_paths])
    with torch.inference_mode():
        features, expected = ours.encode(pixels), theirs.encode(pixels)
        if exact:
            assert torch.equal(features, expected)
        else:
            torch.testing.assert_close(features, expected, rtol=1e-4, atol=1e-5)
        task = {"BlipForQuestionAnswering": "vqa", "BlipForImageTextRetrieval": "match"}.get(cls, "caption")
        if task == "caption":
            options = CaptionOptions(max_new_tokens=6, num_beams=2)
            assert torch.equal(ours.caption_ids(features, options), theirs.caption_ids(features, options))
        elif task == "vqa":
            questions = ["what?", "what colour is the square?", "is it red", "why"]
            options = AnswerOptions(max_new_tokens=5)
            assert torch.equal(ours.answer_ids(features, questions, options),
                               theirs.answer_ids(features, questions, options))
        else:
            texts = [["a red square", "a dog"]] * len(image_paths)
            for method in ("itm", "itc"):
                scores, expected_scores = ours.match(features, texts, method), theirs.match(features, texts, method)
                if exact:
                    assert scores == expected_scores
                else:
                    torch.testing.assert_close(torch.tensor(scores), torch.tensor(expected_scores), rtol=1e-4,
                                               atol=1e-5)


def test_linears_are_packed_for_inference_on_the_cpu_only_where_it_pays(settings):
    service = VisionService(settings)  # the tiny checkpoints' float32 layers are too small to repay oneDNN's call
    assert not any(isinstance(m, PackedLinear) for m in service.engine("blip-base").backend.model.modules())
    service.close()
    small, large = torch.nn.Linear(64, 64), torch.nn.Linear(2048, MIN_FP32_WEIGHTS // 2048)
    model = torch.nn.Sequential(small, large).eval()
    assert pack_linears(model) == int(can_pack("cpu", torch.float32))
    assert model[0] is small and isinstance(model[1], PackedLinear) == can_pack("cpu", torch.float32)
    if can_pack("cpu", torch.float32):
        x = torch.randn(8, 2048)
        with torch.inference_mode():
            torch.testing.assert_close(model[1](x), large(x), rtol=1e-4, atol=1e-5)
    assert not can_pack("cuda", torch.float32) and not can_pack("cuda", torch.bfloat16)
    assert not can_pack("cpu", torch.float16)


def test_every_batch_runs_on_the_one_compute_thread_and_loads_on_passing_threads(settings, image_paths, monkeypatch):
    from mcp_server.vision import loading

    seen = []

    def recorded(fn):
        def wrapper(*args, **kwargs):
            seen.append((fn.__name__, threading.current_thread().name))
            return fn(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(loading, "load_model", recorded(loading.load_model))
    for method in ("encode", "caption_ids", "answer_ids", "match"):
        monkeypatch.setattr(BlipBackend, method, recorded(getattr(BlipBackend, method)))
    service = VisionService(settings)
    _run(_gather(*(service.caption(p, CaptionOptions(max_new_tokens=4)) for p in image_paths[:2]),
                 *(service.answer(p, "what?") for p in image_paths[2:]),
                 service.match(image_paths[0], ["a red square"])))
    service.close()
    assert {name for name, _ in seen} == {"load_model", "encode", "caption_ids", "answer_ids", "match"}
    # One OpenMP team for all batches, and none left by the loads (see compute.py).
    assert {thread for name, thread in seen if name != "load_model"} == {"torch-compute"}
    assert {thread for name, thread in seen if name == "load_model"} == {"torch-load"}
    assert not any(t.name == "torch-load" for t in threading.enumerate())
