#!/usr/bin/env python3
"""Draw the README's picture of explain_match: what the tool returns when a word is grounded.

    python tools/readme_figures.py [--models DIR] [--out notes/assets/readme/explain-match-planted.png]

No real checkpoint can be downloaded here, and a random-weight model's maps are noise, so the picture uses the
blip-base-sized random ITM checkpoint (tools/make_tiny_models.py --size base) with one patch planted under the
red ball (make_tiny_models.plant_grounding_signal): it shows the tool's real output format, overlay and boxes,
for a model whose attention is known. The figure says so in its caption in the README.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))


def scene():
    """A drawn landscape, 640 x 400: sky, hills, a tree and a red ball."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 400), (150, 200, 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 250, 640, 400], fill=(90, 160, 70))
    draw.ellipse([-100, 200, 300, 330], fill=(80, 145, 60))
    draw.rectangle([480, 150, 500, 260], fill=(110, 80, 50))
    draw.ellipse([430, 80, 550, 190], fill=(40, 120, 50))
    draw.ellipse([370, 255, 450, 335], fill=(220, 40, 40))
    return image


def main(argv: list[str] | None = None) -> int:
    from make_tiny_models import make, plant_grounding_signal

    from mcp_server.config import load_settings
    from mcp_server.vision.loading import quiet_libraries
    from mcp_server.vision.service import VisionService

    quiet_libraries()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=ROOT / ".bench-models")
    parser.add_argument("--out", type=Path, default=ROOT / "notes" / "assets" / "readme" / "explain-match-planted.png")
    args = parser.parse_args(argv)
    config = make(args.models, "base")
    base = load_settings(config, environ={})
    image = scene()
    side = 24
    patch = (int(295 / 400 * side), int(410 / 640 * side))  # the ball's centre on the 24 x 24 grid
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        image.save(tmp / "scene.png")
        for flip in (False, True):  # Grad-CAM keeps positive evidence: take the sign under which the patch helps
            plant_grounding_signal(Path(base.models["blip-itm"].source), tmp / "itm", image, patch, flip=flip)
            settings = load_settings(environ={"AI_NOTES_MCP_MODELS": json.dumps({
                **{n: s.model_dump() for n, s in base.models.items()}, "blip-itm": {"source": str(tmp / "itm"),
                                                                                   "tasks": ["match"]}}),
                "AI_NOTES_MCP_GROUNDING": "{layer: 0}", "AI_NOTES_MCP_DTYPE": "float32"})
            service = VisionService(settings)
            explained = asyncio.run(service.explain_match(str(tmp / "scene.png"), "a red ball on the grass"))
            service.close()
            grid = explained.result.grounding.grid
            if max(max(row) for row in grid) == 1.0 and explained.result.grounding.regions:
                break
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(explained.png)
    print(args.out, len(explained.png), "bytes;", explained.result.grounding.regions[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
