"""BLIP-2 with a multilingual encoder-decoder language model (mBLIP's layout: an mT0 / mT5 language model) loads and
runs as an ordinary BLIP-2 model: captions, instructions and questions through the engine equal the direct
Hugging Face way, batched or alone."""

from __future__ import annotations

import asyncio
import json

import pytest
import torch
import transformers
from PIL import Image
from test_cli import cli

from mcp_server.vision.options import AnswerOptions, CaptionOptions
from mcp_server.vision.service import VisionService


@pytest.fixture(scope="module")
def direct(settings):
    source = settings.models["blip2-mt0"].source
    model = transformers.Blip2ForConditionalGeneration.from_pretrained(source).eval()
    return model, transformers.AutoProcessor.from_pretrained(source)


def _generate(direct, image_path: str, text: str, **kwargs) -> str:
    model, processor = direct
    inputs = processor(images=Image.open(image_path).convert("RGB"), text=text, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**inputs, **kwargs)
    return processor.decode(out[0], skip_special_tokens=True).strip()


async def _gather(*coros):
    return await asyncio.gather(*coros)


def test_the_checkpoint_is_an_encoder_decoder_blip2_with_a_multilingual_vocabulary(settings, direct):
    model, processor = direct
    assert model.config.text_config.model_type == "mt5" and model.config.text_config.is_encoder_decoder
    tokens = processor.tokenizer.tokenize("Ein roter Hund, un chien rouge, 赤い犬")
    assert processor.tokenizer.unk_token not in tokens


@pytest.mark.parametrize("num_beams", [1, 3])
def test_captions_and_answers_batched_equal_direct_generate(settings, direct, image_paths, num_beams):
    questions = ["was ist das?", "quelle couleur est le carré sur la photo?", "qué?", "何色ですか"]
    instruction = "Describe the image in German."
    expected_captions = [_generate(direct, p, "", max_new_tokens=6, num_beams=num_beams) for p in image_paths]
    expected_described = [_generate(direct, p, instruction, max_new_tokens=6, num_beams=num_beams)
                          for p in image_paths]
    expected_answers = [_generate(direct, p, q, max_new_tokens=6, num_beams=num_beams)
                        for p, q in zip(image_paths, questions, strict=True)]
    assert len(set(expected_captions)) > 1 and len(set(expected_answers)) > 1, "the tiny model must tell inputs apart"

    service = VisionService(settings)
    options = CaptionOptions(max_new_tokens=6, num_beams=num_beams)
    described = CaptionOptions(prompt=instruction, max_new_tokens=6, num_beams=num_beams)
    answer = AnswerOptions(max_new_tokens=6, num_beams=num_beams)
    captions, descriptions, answers = asyncio.run(_gather(
        _gather(*(service.caption(p, options, "blip2-mt0") for p in image_paths)),
        _gather(*(service.caption(p, described, "blip2-mt0") for p in image_paths)),
        _gather(*(service.answer(p, q, answer, "blip2-mt0") for p, q in zip(image_paths, questions, strict=True))),
    ))
    engine = service._engines["blip2-mt0"]
    service.close()
    assert [c.captions[0] for c in captions] == expected_captions
    assert [c.captions[0] for c in descriptions] == expected_described  # an instruction is not echoed back
    assert [a.answer for a in answers] == expected_answers
    assert engine.batches < 3 * len(image_paths) and engine.encoded_images == len(image_paths)


def test_the_cli_captions_and_answers_with_it(tiny_config, image_paths):
    caption = cli("caption", image_paths[1], "--model", "blip2-mt0", "--max-new-tokens", "5", "--json",
                  config=tiny_config)
    assert caption.returncode == 0, caption.stderr
    result = json.loads(caption.stdout)
    assert result["model"] == "blip2-mt0" and result["captions"][0]
    ask = cli("ask", image_paths[1], "welche farbe?", "--model", "blip2-mt0", config=tiny_config)
    assert ask.returncode == 0 and ask.stdout.strip(), ask.stderr
    models = cli("models", "--json", config=tiny_config)
    row = {m["name"]: m for m in json.loads(models.stdout)["models"]}["blip2-mt0"]
    assert row["family"] == "blip-2" and row["status"] == "available"
