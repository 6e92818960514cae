"""The install paths MCP users expect, checked with the official tools a user would meet them with.

- an MCP Bundle (.mcpb) for Claude Desktop, validated by the MCPB CLI, whose server runs from the bundle;
- pipx (and uvx, which does the same) from a built wheel, in a clean environment;
- a generic client: the MCP conformance suite against `serve --http`, the MCP Inspector CLI over stdio.

The Node tools (Node 22, @modelcontextprotocol/conformance, @modelcontextprotocol/inspector, @anthropic-ai/mcpb)
are installed by .ci/run, which points AI_NOTES_NODE_TOOLS at their bin folder; CI sets AI_NOTES_REQUIRE_NODE_TOOLS
so that a missing tool fails instead of skipping.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

ROOT = Path(__file__).resolve().parent.parent
TOOLS_BIN = Path(os.environ.get("AI_NOTES_NODE_TOOLS", ROOT / ".cache" / "node-tools" / "node_modules" / ".bin"))
SCENARIOS = ["server-initialize", "ping", "tools-list", "resources-list", "prompts-list", "dns-rebinding-protection"]


def node_tool(name: str) -> str:
    path = TOOLS_BIN / name
    if not path.exists():
        if os.environ.get("AI_NOTES_REQUIRE_NODE_TOOLS"):
            pytest.fail(f"{path} is missing: .ci/run installs the Node tools")
        pytest.skip(f"{name} not installed (see .ci/run)")
    return str(path)


def node_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AI_NOTES_MCP_")}
    env.update(PATH=f"{TOOLS_BIN}{os.pathsep}{env.get('PATH', '')}", HF_HUB_OFFLINE="1")  # Node 22 first
    return env


# --------------------------------------------------------------------------- the MCP bundle


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mcpb") / "ai-notes.mcpb"
    subprocess.run([sys.executable, str(ROOT / "tools" / "build_mcpb.py"), str(out)], check=True,
                   capture_output=True, timeout=300)
    return out


def test_the_bundle_passes_the_official_mcpb_validation(bundle, tmp_path):
    mcpb = node_tool("mcpb")
    unpack = subprocess.run([mcpb, "unpack", str(bundle), str(tmp_path / "unpacked")], env=node_env(),
                            capture_output=True, text=True, timeout=120)  # the official reader opens our zip
    assert unpack.returncode == 0, unpack.stdout + unpack.stderr
    manifest = json.loads((tmp_path / "unpacked" / "manifest.json").read_text())
    assert manifest["server"]["type"] == "uv" and manifest["manifest_version"] == "0.4"
    assert {t["name"] for t in manifest["tools"]} >= {"caption_image", "search_notes"}
    run = subprocess.run([mcpb, "validate", str(tmp_path / "unpacked" / "manifest.json")], env=node_env(),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "passes" in run.stdout, run.stdout + run.stderr


def test_the_bundled_server_runs_from_the_bundle_over_stdio(bundle, tmp_path, tiny_config):
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(tmp_path)
    params = StdioServerParameters(command=sys.executable, args=[str(tmp_path / "server" / "main.py")],
                                   env={**node_env(), "AI_NOTES_MCP_CONFIG": str(tiny_config)}, cwd=str(tmp_path))

    async def go():
        async with Client(params) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            hits = await client.call_tool("search_notes", {"query": "indirect prompt injection"})
            page = await client.read_resource("notes://security.md")
            return names, hits, page

    names, hits, page = asyncio.run(go())
    assert {"caption_image", "search_notes"} <= names
    assert hits.structured_content["hits"][0]["path"] == "security.md"
    assert "prompt injection" in page.contents[0].text.lower()


# --------------------------------------------------------------------------- pipx from a wheel


def test_pipx_installs_the_wheel_in_a_clean_environment_and_it_runs(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(ROOT), "-w", str(wheels)],
                   check=True, capture_output=True, timeout=300)
    wheel = next(wheels.glob("ai_notes_mcp-*.whl"))
    tool_venv = tmp_path / "pipx-venv"
    subprocess.run([sys.executable, "-m", "venv", str(tool_venv)], check=True, timeout=120)
    subprocess.run([tool_venv / "bin" / "pip", "install", "-q", "pipx"], check=True, capture_output=True, timeout=300)
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("torch==2.13.0\n")  # the CPU build these machines carry, not a CUDA download
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AI_NOTES_MCP_", "VIRTUAL_ENV", "PYTHON"))}
    env.update(PIPX_HOME=str(tmp_path / "pipx"), PIPX_BIN_DIR=str(tmp_path / "bin"), PIP_CONSTRAINT=str(constraints),
               HF_HUB_OFFLINE="1")
    install = subprocess.run([tool_venv / "bin" / "pipx", "install", str(wheel)], env=env, capture_output=True,
                             text=True, timeout=900)
    assert install.returncode == 0, install.stdout + install.stderr
    command = tmp_path / "bin" / "ai-notes-mcp"
    search = subprocess.run([command, "notes", "search", "paged attention", "--json"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert search.returncode == 0, search.stderr
    assert json.loads(search.stdout)["hits"][0]["path"] == "infra.md"
    where = subprocess.run([tmp_path / "pipx" / "venvs" / "ai-notes-mcp" / "bin" / "python", "-c",
                            "import mcp_server; print(mcp_server.__file__)"], capture_output=True, text=True, env=env,
                           cwd=tmp_path)
    assert str(tmp_path / "pipx") in where.stdout  # the installed copy, not this checkout


# --------------------------------------------------------------------------- generic clients


@pytest.fixture(scope="module")
def http_server(tiny_config, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("conformance")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp / "server.log"
    env = node_env() | {"XDG_CACHE_HOME": str(tmp / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "mcp_server", "serve", "--http", "--port", str(port), "--config",
                             str(tiny_config)], env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    deadline = time.monotonic() + 180
    while "MCP endpoint" not in log.read_text():
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.3)
    yield f"http://127.0.0.1:{port}/mcp"
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_mcp_conformance_suite_passes_against_serve_http(http_server, scenario, tmp_path):
    conformance = node_tool("conformance")
    run = subprocess.run([conformance, "server", "--url", http_server, "--scenario", scenario, "-o", str(tmp_path)],
                         env=node_env(), capture_output=True, text=True, timeout=180)
    assert run.returncode == 0 and " 0 failed" in run.stdout, run.stdout + run.stderr


def test_the_mcp_inspector_cli_lists_the_tools_and_calls_one_over_stdio(tiny_config):
    inspector = node_tool("mcp-inspector")
    server = shutil.which("ai-notes-mcp", path=str(Path(sys.executable).parent)) or "ai-notes-mcp"
    env = node_env()
    base = [inspector, "--cli", "-e", f"AI_NOTES_MCP_CONFIG={tiny_config}", "-e", "HF_HUB_OFFLINE=1", server, "serve"]
    listed = subprocess.run([*base, "--method", "tools/list"], env=env, capture_output=True, text=True, timeout=180)
    assert listed.returncode == 0, listed.stderr
    assert {t["name"] for t in json.loads(listed.stdout)["tools"]} >= {"caption_image", "search_notes", "find_models"}
    called = subprocess.run([*base, "--method", "tools/call", "--tool-name", "search_notes", "--tool-arg",
                             "query=prompt injection", "--tool-arg", "limit=1"], env=env, capture_output=True,
                            text=True, timeout=180)
    assert called.returncode == 0, called.stderr
    result = json.loads(called.stdout)
    assert result["isError"] is False and result["structuredContent"]["hits"][0]["path"] == "security.md"
