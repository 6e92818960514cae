"""A non-editable install carries everything it needs at run time: the notes, their data, the site sources."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_install_searches_notes_and_builds_the_site(tmp_path, tiny_config):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(ROOT), "-w", str(wheels)],
                   check=True, capture_output=True)
    target = tmp_path / "installed"
    wheel = next(wheels.glob("ai_notes_mcp-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AI_NOTES_MCP_")}
    env.update(PYTHONPATH=str(target), HF_HUB_OFFLINE="1")  # the installed copy wins over the checkout

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)

    where = run("-c", "import mcp_server; print(mcp_server.__file__)")
    assert where.stdout.strip().startswith(str(target))
    search = run("-m", "mcp_server", "notes", "search", "indirect prompt injection", "--json")
    assert search.returncode == 0, search.stderr
    assert json.loads(search.stdout)["hits"][0]["path"] == "security.md"
    caption = run("-m", "mcp_server", "caption", str(tiny_config.parent / "missing.png"), "--config", str(tiny_config))
    assert caption.returncode == 2 and "no such file" in caption.stderr
    site = run("-c", f"from mcp_server.knowledge.site import build_site; build_site({str(tmp_path / 'site')!r})")
    assert site.returncode == 0, site.stderr
    assert (tmp_path / "site" / "catalog" / "models" / "index.html").is_file()
