"""Shared fixtures: tiny random-weight checkpoints of the real architectures, built once per session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

# Tests never reach the hub: a missing checkpoint must fail fast and clearly.
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    from make_tiny_models import make

    out = tmp_path_factory.mktemp("tiny-models")
    make(out, "tiny")
    return out


@pytest.fixture(scope="session")
def tiny_config(tiny_dir) -> Path:
    return tiny_dir / "config.yaml"


@pytest.fixture(scope="session")
def settings(tiny_config):
    """The tiny models in float32: results are compared with the direct way's, which runs in float32."""
    from mcp_server.config import load_settings

    return load_settings(tiny_config, environ={"AI_NOTES_MCP_DTYPE": "float32"})


@pytest.fixture(scope="session")
def images_dir(tmp_path_factory) -> Path:
    """A few distinct images, so a batch really mixes different inputs."""
    from PIL import Image, ImageDraw

    out = tmp_path_factory.mktemp("images")
    specs = [((255, 0, 0), (40, 30)), ((0, 160, 0), (64, 64)), ((20, 20, 220), (30, 90)), ((250, 250, 0), (128, 40))]
    for i, (colour, size) in enumerate(specs):
        image = Image.new("RGB", size, colour)
        draw = ImageDraw.Draw(image)
        draw.rectangle([2, 2, size[0] // 2, size[1] // 2], fill=(255 - colour[0], 255 - colour[1], 255 - colour[2]))
        image.save(out / f"img{i}.png")
    return out


@pytest.fixture(scope="session")
def image_paths(images_dir) -> list[str]:
    return [str(p) for p in sorted(images_dir.glob("img*.png"))]
