"""BLIP-2 at its real size: the checkpoint writer that never holds the model, and the memory check before loading."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import torch
import transformers
from mcp import Client
from safetensors import safe_open

from mcp_server.config import load_settings
from mcp_server.errors import ModelUnavailableError
from mcp_server.server import create_server
from mcp_server.vision import memory
from mcp_server.vision.blip import BlipBackend
from mcp_server.vision.service import VisionService


def test_random_weights_written_shard_by_shard_load_as_save_pretrained_would(tiny_dir, tmp_path):
    """The writer behind ``--size full``, run on the tiny BLIP-2 config: several shards, an index, the names and
    shapes ``save_pretrained`` writes (the tied output head once), and every weight loaded, none initialised."""
    from make_tiny_models import write_random_weights

    config = transformers.AutoConfig.from_pretrained(tiny_dir / "blip2-opt")
    written = write_random_weights(transformers.Blip2ForConditionalGeneration, config, tmp_path, "bfloat16",
                                   max_shard_bytes=64 * 1024)
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) > 1 and written["largest_shard_bytes"] <= 64 * 1024 + 2 * config.text_config.vocab_size * 32
    with safe_open(tiny_dir / "blip2-opt" / "model.safetensors", "pt") as reference:
        expected = {key: reference.get_slice(key).get_shape() for key in reference.keys()}  # noqa: SIM118
    found = {}
    for shard in shards:
        with safe_open(tmp_path / shard, "pt") as f:
            found |= {key: f.get_slice(key).get_shape() for key in f.keys()}  # noqa: SIM118
            assert {f.get_slice(key).get_dtype() for key in f.keys()} == {"BF16"}  # noqa: SIM118
    assert found == expected and written["parameters"] == sum(torch.Size(s).numel() for s in expected.values())

    config.save_pretrained(tmp_path)
    model, info = transformers.Blip2ForConditionalGeneration.from_pretrained(
        tmp_path, dtype=torch.bfloat16, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    norm = model.language_model.model.decoder.layers[0].self_attn_layer_norm
    assert torch.equal(norm.weight, torch.ones_like(norm.weight)) and not norm.bias.any()
    weight = model.language_model.model.decoder.layers[0].fc1.weight.detach().float()
    assert 0.015 < float(weight.std()) < 0.025
    assert memory.parameter_count(memory.weight_files(tmp_path)) == written["parameters"]


def test_the_full_size_configuration_is_blip2_opt_2_7b():
    """The architecture ``--size full`` writes, counted on the meta device: blip2-opt-2.7b's 3.74B parameters."""
    from make_tiny_models import BLIP2_OPT_27B

    config = transformers.Blip2Config(**BLIP2_OPT_27B)
    with torch.device("meta"):
        model = transformers.Blip2ForConditionalGeneration(config)
    parts = {name: sum(p.numel() for p in getattr(model, name).parameters())
             for name in ("vision_model", "qformer", "language_model")}
    assert sum(p.numel() for p in model.parameters()) == 3_744_761_856
    assert parts == {"vision_model": 985_952_256, "qformer": 105_137_664, "language_model": 2_651_678_720}
    assert (config.vision_config.num_hidden_layers, config.text_config.num_hidden_layers) == (39, 32)


def _settings(tiny_dir, dtype="float32"):
    return load_settings(tiny_dir / "config.yaml", environ={"AI_NOTES_MCP_DTYPE": dtype})


def test_a_model_that_does_not_fit_is_refused_in_one_line_before_loading(tiny_dir, image_paths, monkeypatch):
    loads = []
    monkeypatch.setattr(BlipBackend, "load", classmethod(lambda cls, *args: loads.append(args)))
    parameters = memory.parameter_count(memory.weight_files(tiny_dir / "blip-caption"))
    fp32, bf16 = memory.needed_bytes(parameters, torch.float32), memory.needed_bytes(parameters, torch.bfloat16)
    monkeypatch.setattr(memory, "available_bytes", lambda device: (fp32 + bf16) // 2)
    settings = _settings(tiny_dir)
    service = VisionService(settings)
    with pytest.raises(ModelUnavailableError) as info:
        asyncio.run(service.caption(image_paths[0]))
    source = settings.models["blip-base"].source
    assert str(info.value) == (
        f"model 'blip-base' ({source}) needs about {memory.gigabytes(fp32)} of memory in float32 "
        f"({parameters / 1e9:.2f}B parameters) but {memory.gigabytes((fp32 + bf16) // 2)} is available on this "
        f"machine; set dtype to bfloat16 (about {memory.gigabytes(bf16)}), or free memory")
    assert loads == []  # refused before from_pretrained

    monkeypatch.setattr(memory, "available_bytes", lambda device: bf16 - 1)

    async def through_a_client() -> str:
        async with Client(create_server(settings)) as client:
            result = await client.call_tool("caption_image", {"image": image_paths[0]})
            assert result.is_error
            return result.content[0].text

    text = asyncio.run(through_a_client())
    assert "\n" not in text and text.endswith("free memory, or configure a smaller checkpoint or a machine with more "
                                              "memory") and loads == []


def test_a_model_that_fits_loads(tiny_dir, image_paths, monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda device: 10**12)
    service = VisionService(_settings(tiny_dir))
    assert asyncio.run(service.caption(image_paths[0])).captions
    service.close()


def test_available_memory_is_the_kernels_estimate():
    available = memory.available_bytes("cpu")
    fields = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    total = int(fields["MemTotal"].split()[0]) * 1024
    assert available is not None and 0 < available <= total
    assert memory.available_bytes("mps") is None
