"""Grounding maps (explain_match, explain_caption): equal to an independent Grad-CAM from transformers' own
outputs, right on a planted signal, small pictures, both tools through an MCP client, one-line errors."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import math

import numpy as np
import pytest
import torch
from mcp import Client
from PIL import Image

from mcp_server.config import load_settings
from mcp_server.errors import BadInputError
from mcp_server.server import create_server
from mcp_server.vision import grounding
from mcp_server.vision.service import VisionService


def _run(coro):
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def service(settings):
    service = VisionService(settings)
    yield service
    service.close()


def _features(backend, image: Image.Image) -> torch.Tensor:
    with torch.inference_mode():
        features = backend.encode(backend.preprocess(image)[None])
    return features.clone()


def _lavis_gradcam(probs: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
    """LAVIS's compute_gradcam, written out again: drop the image CLS column, probs x relu(grads), mean of heads."""
    side = math.isqrt(probs.shape[-1] - 1)
    cams = probs[:, :, :, 1:].reshape(*probs.shape[:3], side, side)
    grads = grads[:, :, :, 1:].clamp(0).reshape(*probs.shape[:3], side, side)
    return (cams * grads).mean(dim=1)


# --------------------------------------------------------------------------- the maps equal an independent computation


def test_match_maps_equal_gradcam_from_transformers_outputs(settings, service, image_paths):
    backend = service.engine("blip-itm").backend
    features = _features(backend, Image.open(image_paths[1]).convert("RGB"))
    ours = backend.explain_match(features, ["a green square"], settings.grounding.layer)[0]

    model = backend.model
    text = backend.tokenizer(["a green square"], return_tensors="pt")
    with torch.enable_grad():
        out = model.text_encoder(input_ids=text["input_ids"], attention_mask=text["attention_mask"],
                                 encoder_hidden_states=features, output_attentions=True,
                                 encoder_attention_mask=torch.ones(features.shape[:-1], dtype=torch.long))
        probs = out.cross_attentions[settings.grounding.layer]
        logits = model.itm_head(out.last_hidden_state[:, 0, :])
        (grads,) = torch.autograd.grad(logits[:, 1].sum(), probs)
    expected = _lavis_gradcam(probs.detach(), grads)[0]
    assert ours.tokens == backend.tokenizer.convert_ids_to_tokens(text["input_ids"][0].tolist())
    torch.testing.assert_close(ours.maps, expected, rtol=1e-5, atol=1e-7)
    assert ours.probability == pytest.approx(float(logits.detach().softmax(-1)[0, 1]), abs=1e-6)
    assert float(expected.abs().sum()) > 0  # the comparison is not between two empty maps


def test_caption_maps_equal_per_token_gradcam_from_transformers_outputs(settings, service, image_paths):
    backend = service.engine("blip-base").backend
    features = _features(backend, Image.open(image_paths[2]).convert("RGB"))
    ours = backend.explain_caption(features, ["a blue thing"], settings.grounding.layer)[0]

    model = backend.model
    ids = backend.tokenizer("a blue thing", return_tensors="pt")["input_ids"]
    ids[:, 0] = model.config.text_config.bos_token_id
    expected, logprobs = [], []
    for i in range(ids.shape[1] - 1):
        with torch.enable_grad():
            out = model.text_decoder(input_ids=ids, attention_mask=torch.ones_like(ids), output_attentions=True,
                                     encoder_hidden_states=features,
                                     encoder_attention_mask=torch.ones(features.shape[:-1], dtype=torch.long))
            probs = out.cross_attentions[settings.grounding.layer]
            logprob = out.logits[0, i].log_softmax(-1)[ids[0, i + 1]]
            (grads,) = torch.autograd.grad(logprob, probs)
        expected.append(_lavis_gradcam(probs.detach()[:, :, i:i + 1], grads[:, :, i:i + 1])[0, 0])
        logprobs.append(float(logprob.detach()))
    torch.testing.assert_close(ours.maps, torch.stack(expected), rtol=1e-5, atol=1e-7)
    assert ours.logprobs == pytest.approx(logprobs, abs=1e-5)
    assert ours.tokens == backend.tokenizer.convert_ids_to_tokens(ids[0, 1:].tolist())
    assert ours.tokens[0] == "a" and ours.tokens[-1] == "[SEP]"


def test_wordpieces_merge_into_words_and_special_tokens_drop():
    maps = np.arange(6 * 4, dtype=float).reshape(6, 2, 2)
    words = grounding.words(["[CLS]", "un", "##believ", "##able", "dog", "[SEP]"], maps, [0, -1, -2, -3, -4, -5])
    assert [w.text for w in words] == ["unbelievable", "dog"]
    np.testing.assert_allclose(words[0].map, maps[1:4].mean(axis=0))
    assert words[0].logprob == -6 and words[1].logprob == -4


# --------------------------------------------------------------------------- a planted signal


PATCH = (1, 2)  # row, column of the tiny model's 4 x 4 patch grid
WIDE = (300, 120)  # a non-square image: the processor stretches it to a square


@pytest.fixture(scope="module")
def planted(tiny_dir, tmp_path_factory, images_dir):
    """The tiny ITM checkpoint with weights edited so that every text token's cross-attention (in the layer the
    maps read) goes to one patch (tools/make_tiny_models.py, plant_grounding_signal)."""
    from make_tiny_models import plant_grounding_signal

    out = tmp_path_factory.mktemp("planted")
    image = Image.new("RGB", WIDE, (90, 140, 60))
    image.save(images_dir / "wide.png")
    config = out / "config.yaml"
    config.write_text(json.dumps({
        "models": {"blip-itm": {"source": str(out / "blip-itm"), "tasks": ["match"]},
                   "blip-base": {"source": str(tiny_dir / "blip-caption"), "tasks": ["caption"]},
                   "blip-vqa": {"source": str(tiny_dir / "blip-vqa"), "tasks": ["vqa"]}},
        "device": "cpu", "dtype": "float32", "grounding": {"layer": 0}}))
    side = 4
    for flip in (False, True):  # Grad-CAM keeps positive evidence: take the sign under which the patch helps
        plant_grounding_signal(tiny_dir / "blip-itm", out / "blip-itm", image, PATCH, flip=flip)
        service = VisionService(load_settings(config, environ={}))
        grid = _run(service.explain_match(str(images_dir / "wide.png"), "a patch")).result.grounding.grid
        service.close()
        if grid[PATCH[0]][PATCH[1]] == 1.0:
            break
    return config, images_dir / "wide.png", side


def test_a_planted_patch_gets_the_maximum_and_the_top_box_in_original_pixels(planted):
    config, image, side = planted
    service = VisionService(load_settings(config, environ={}))
    explained = _run(service.explain_match(str(image), "a green patch"))
    service.close()
    result = explained.result
    width, height = WIDE
    expected = {"x0": math.floor(PATCH[1] * width / side), "y0": math.floor(PATCH[0] * height / side),
                "x1": math.ceil((PATCH[1] + 1) * width / side), "y1": math.ceil((PATCH[0] + 1) * height / side)}
    assert expected == {"x0": 150, "y0": 30, "x1": 225, "y1": 60}  # in the 300 x 120 image, not the square
    top = result.grounding.regions[0]
    assert {k: getattr(top, k) for k in expected} == expected and top.score > 0.9
    grid = np.array(result.grounding.grid)
    assert np.unravel_index(grid.argmax(), grid.shape) == PATCH and grid.max() == 1.0
    for word in result.words:
        assert {k: getattr(word.regions[0], k) for k in expected} == expected


# --------------------------------------------------------------------------- pictures


def test_pictures_stay_small_whatever_the_image_and_the_number_of_words(service, tmp_path):
    noisy = tmp_path / "noisy.png"
    Image.frombytes("RGB", (1600, 1200), np.random.default_rng(0).integers(0, 255, 1600 * 1200 * 3,
                                                                            dtype=np.uint8).tobytes()).save(noisy)
    text = " ".join(["word"] * 30)
    for explained in (_run(service.explain_match(str(noisy), text)),
                      _run(service.explain_caption(str(noisy), text))):
        picture = Image.open(io.BytesIO(explained.png))
        assert picture.format == "PNG" and max(picture.size) <= 512
        assert len(explained.png) < 200_000
        assert len(explained.result.words) == 30


# --------------------------------------------------------------------------- through an MCP client


def test_both_tools_answer_with_an_image_block_and_structured_content(settings, image_paths):
    async def go():
        async with Client(create_server(settings)) as client:
            listed = {t.name: t for t in (await client.list_tools()).tools}
            match = await client.call_tool("explain_match", {"image": image_paths[0], "text": "a red box"})
            caption = await client.call_tool("explain_caption", {"image": image_paths[0]})
            return listed, match, caption

    listed, match, caption = _run(go())
    assert set(listed["explain_match"].output_schema["properties"]) >= {"probability", "grounding", "words"}
    for result in (match, caption):
        assert not result.is_error
        kinds = [block.type for block in result.content]
        assert kinds[0] == "image" and result.content[0].mime_type == "image/png"
        assert Image.open(io.BytesIO(base64.b64decode(result.content[0].data))).format == "PNG"
        assert "iVBOR" not in json.dumps(result.structured_content)  # numbers and boxes, never the PNG
    assert [w["word"] for w in match.structured_content["words"]] == ["a", "red", "box"]
    assert 0 <= match.structured_content["probability"] <= 1
    assert caption.structured_content["generated"] is True and caption.structured_content["caption"]
    assert all(w["probability"] is not None for w in caption.structured_content["words"])
    uris = [c["uri"] for c in match.structured_content["citations"]]
    assert "notes://vision-language.md#grounding" in uris


@pytest.mark.parametrize(("call", "message"), [
    (lambda s, img: s.explain_match(img, ""), "bad argument text: must not be empty"),
    (lambda s, img: s.explain_match(img, "x" * 201), "bad argument text: String should have at most 200 characters"),
    (lambda s, img: s.explain_match(img, "a", model="blip-base"), "model 'blip-base' does not do match"),
    (lambda s, img: s.explain_caption(img, model="blip2-opt"), "model 'blip2-opt' (blip-2) cannot be explained"),
    (lambda s, img: s.explain_caption(img, caption="   "), "bad argument caption: must not be blank"),
])
def test_bad_input_is_one_line(service, image_paths, call, message):
    with pytest.raises(BadInputError) as caught:
        _run(call(service, image_paths[0]))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_cli_explain_writes_the_picture_and_prints_what_the_tool_returns(tiny_config, image_paths, tmp_path):
    from test_cli import cli

    out = tmp_path / "heat.png"
    run = cli("explain", image_paths[3], "a yellow box", "--out", str(out), "--json", config=tiny_config)
    assert run.returncode == 0, run.stderr
    assert Image.open(out).format == "PNG"
    assert [w["word"] for w in json.loads(run.stdout)["words"]] == ["a", "yellow", "box"]
    sheet = tmp_path / "sheet.png"
    run = cli("explain-caption", image_paths[3], "--caption", "a box", "--out", str(sheet), config=tiny_config)
    assert run.returncode == 0 and run.stdout.startswith("a box\n") and sheet.is_file()


def test_explanations_run_in_bfloat16_with_packed_linears(tiny_config, image_paths):
    """bf16 (oneDNN-packed linears on CPUs with native bf16): the text side keeps plain weights for the backward."""
    from mcp_server.deviations.onednn_packing import PackedLinear

    service = VisionService(load_settings(tiny_config, environ={"AI_NOTES_MCP_DTYPE": "bfloat16"}))
    explained = _run(service.explain_match(image_paths[0], "a red box"))
    caption = _run(service.explain_caption(image_paths[0], "a red box"))
    backend = service.engine("blip-itm").backend
    packed = [m for m in backend.model.text_encoder.modules() if isinstance(m, PackedLinear)]
    service.close()
    assert all(m.plain is not None for m in packed)  # empty where this CPU does not pack (nothing to keep)
    assert 0 <= explained.result.probability <= 1 and len(caption.result.words) == 3
