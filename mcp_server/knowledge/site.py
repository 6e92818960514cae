"""Build the notes site (MkDocs) when it is missing or out of date, for `serve --http` at /notes/.

The build runs `mkdocs build --strict` in a subprocess, so mkdocs and its plugins stay out of the
server's process, and a broken page fails the same way it does in the test suite.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from mcp_server.errors import AiNotesError

# A source checkout builds from its own mkdocs.yml; a wheel from the copy pyproject ships in mcp_server/_site.
_CHECKOUT = Path(__file__).resolve().parents[2]
REPO = _CHECKOUT if (_CHECKOUT / "mkdocs.yml").is_file() else Path(__file__).resolve().parents[1] / "_site"
CONFIG_FILE = REPO / "mkdocs.yml"
# Besides the notes themselves, what a build reads: the config and the hooks that generate pages.
BUILD_INPUTS = (CONFIG_FILE, *(REPO / "tools" / name for name in (
    "site_hooks.py", "check_notes.py", "site_news.py", "site_catalog.py", "site_llms.py")))


def site_needs_build(site_dir: Path, notes_dir: Path) -> bool:
    """True when the built site is missing, older than any input, or built on an earlier day
    (the "possibly stale" marks depend on the build date)."""
    index = Path(site_dir) / "index.html"
    if not index.is_file():
        return True
    built = index.stat().st_mtime
    if date.fromtimestamp(built) < date.today():
        return True
    inputs = [p for p in Path(notes_dir).rglob("*") if p.is_file()]
    inputs += [p for p in BUILD_INPUTS if p.is_file()]
    return any(p.stat().st_mtime > built for p in inputs)


def build_site(site_dir: Path, site_url: str | None = None, config_file: Path = CONFIG_FILE) -> Path:
    """Build the site into site_dir (strict) and return it; AiNotesError with one line on failure."""
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        raise AiNotesError("Building the notes site needs MkDocs: pip install 'ai-notes-mcp[site]'.")
    if not Path(config_file).is_file():
        raise AiNotesError(f"Cannot build the notes site: {config_file} not found (a source checkout has it).")
    site_dir = Path(site_dir).resolve()
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")  # Material's end-of-life banner is not a build problem
    if site_url:
        env["AI_NOTES_SITE_URL"] = site_url
    # Not --quiet: it would hide the warnings that --strict turns into a failure.
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config_file), "-d", str(site_dir)]
    result = subprocess.run(command, check=False, capture_output=True, text=True, env=env, cwd=Path(config_file).parent)
    if result.returncode != 0:
        output = (result.stderr + result.stdout).splitlines()
        details = [line.strip() for line in output if line.strip() and not line.startswith(("INFO", "DEBUG"))]
        raise AiNotesError(
            f"The notes site did not build: {' / '.join(details)[:800]} (see: mkdocs build --strict -f {config_file})"
        )
    return site_dir
