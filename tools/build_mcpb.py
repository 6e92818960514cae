#!/usr/bin/env python3
"""Build an MCP Bundle (.mcpb) of the server for one-click install in Claude Desktop.

    python tools/build_mcpb.py [OUT.mcpb]        default: dist/ai-notes-mcp-<version>.mcpb

The bundle uses MCPB's `uv` server type (manifest 0.4): the host installs Python and the dependencies listed
in the bundle's pyproject.toml on the user's machine, so nothing compiled travels in the bundle. The package
itself travels as the wheel's contents unpacked under server/lib/ (the notes and the site sources included,
as in any wheel install), and server/main.py runs `ai-notes-mcp serve` over stdio from there.
Validate with the official CLI: `npx @anthropic-ai/mcpb validate manifest.json` (tests/test_install.py does).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ENTRY_POINT = '''\
"""Entry point of the ai-notes MCP bundle: the packaged server over stdio."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from mcp_server.cli import main  # noqa: E402

sys.exit(main(["serve", *sys.argv[1:]]))
'''


def manifest(project: dict, tools: list[dict]) -> dict:
    return {
        "manifest_version": "0.4",
        "name": project["name"],
        "display_name": "AI notes",
        "version": project["version"],
        "description": project["description"],
        "long_description": (
            "Local BLIP / BLIP-2 models caption images, answer questions about them and score image-text matches, "
            "and a curated, sourced knowledge base of the AI field is searched and cited. Models load from the "
            "Hugging Face cache (they download on first use when online)."),
        "author": {"name": "ai-notes-mcp developers"},
        "license": project.get("license", "Apache-2.0"),
        "server": {
            "type": "uv",
            "entry_point": "server/main.py",
            "mcp_config": {
                "command": "uv",
                "args": ["run", "--directory", "${__dirname}", "server/main.py"],
                "env": {"AI_NOTES_MCP_DEVICE": "${user_config.device}",
                        "AI_NOTES_MCP_IMAGES": "{allowed_roots: [${user_config.image_folder}]}"},
            },
        },
        "tools": tools,
        "user_config": {
            "device": {"type": "string", "title": "Device", "default": "auto", "required": False,
                       "description": "Where models run: auto, cpu, cuda, cuda:N or mps."},
            "image_folder": {"type": "directory", "title": "Image folder", "required": False, "default": "${HOME}",
                             "description": "Only images under this folder may be read by path."},
        },
        "compatibility": {"platforms": ["darwin", "linux", "win32"], "runtimes": {"python": ">=3.11"}},
        "keywords": ["vision", "blip", "captioning", "knowledge-base", "ai-notes"],
    }


def bundle_pyproject(project: dict) -> str:
    deps = ",\n".join(f"    {json.dumps(d)}" for d in project["dependencies"])
    return (f'[project]\nname = "{project["name"]}-bundle"\nversion = "{project["version"]}"\n'
            f'requires-python = "{project["requires-python"]}"\ndependencies = [\n{deps},\n]\n')


def tool_list() -> list[dict]:
    from gen_reference import list_tools

    return [{"name": t.name, "description": t.description.strip().splitlines()[0]} for t in list_tools()]


def build(out: Path) -> Path:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    with tempfile.TemporaryDirectory() as tmp:
        wheels = Path(tmp) / "wheels"
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(ROOT), "-w", str(wheels)],
                       check=True, capture_output=True)
        wheel = next(wheels.glob("*.whl"))
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle, zipfile.ZipFile(wheel) as package:
            bundle.writestr("manifest.json", json.dumps(manifest(project, tool_list()), indent=2) + "\n")
            bundle.writestr("pyproject.toml", bundle_pyproject(project))
            bundle.writestr("server/main.py", ENTRY_POINT)
            for item in package.infolist():
                if not item.filename.startswith(("mcp_server/", "ai_notes_mcp-")) or item.is_dir():
                    continue
                if ".dist-info/" in item.filename:
                    continue
                bundle.writestr("server/lib/" + item.filename, package.read(item))
    return out


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from mcp_server.vision.loading import quiet_libraries

    quiet_libraries()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", type=Path,
                        default=ROOT / "dist" / f"ai-notes-mcp-{project['version']}.mcpb")
    print(build(parser.parse_args(argv).out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
