"""What a newcomer meets on the first run: each case failed on an earlier main, as a new user found it."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import pty
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2 as httpx
import pytest
from mcp import Client
from PIL import Image

from mcp_server.config import load_settings
from mcp_server.http import body_limit
from mcp_server.server import create_server

TOKEN = "first-run-token"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AI_NOTES_MCP_")}
    env.update(HF_HUB_OFFLINE="1", **extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(buffer, "PNG")  # noise: no compression
    return buffer.getvalue()


# --------------------------------------------------------------------------- 1. a busy port


def test_a_busy_port_is_one_line_naming_the_port_and_the_flag_and_no_urls(tiny_config):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        run = subprocess.run([sys.executable, "-m", "mcp_server", "serve", "--http", "--port", str(port),
                              "--config", str(tiny_config)], env=_env(), capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr == (f"ai-notes-mcp: port {port} on 127.0.0.1 is already in use (another server?); "
                          "stop it or pick another with --port\n")
    assert "MCP endpoint" not in run.stdout + run.stderr


# --------------------------------------------------------------------------- 2. missing weights, no HF_HUB_OFFLINE


@pytest.fixture
def silent_hub():
    """An endpoint that accepts connections and never answers, like a network that swallows packets."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(timeout=5)
    for conn in held:
        conn.close()
    server.close()


def _missing_model_config(tmp_path: Path) -> Path:
    config = tmp_path / "c.yaml"
    config.write_text("models:\n  blip-base: {source: Salesforce/blip-image-captioning-base, tasks: [caption]}\n"
                      "  blip-vqa: {source: Salesforce/blip-vqa-base, tasks: [vqa]}\n"
                      "  blip-itm: {source: Salesforce/blip-itm-base-coco, tasks: [match]}\n")
    return config


def test_a_missing_model_without_hub_access_fails_fast_in_one_line(tmp_path, image_paths, silent_hub):
    env = {k: v for k, v in _env(HF_HOME=str(tmp_path / "hf"), HF_ENDPOINT=silent_hub).items()
           if k != "HF_HUB_OFFLINE"}
    start = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "mcp_server", "caption", image_paths[0], "--config",
                          str(_missing_model_config(tmp_path))], env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - start
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr and "warn" not in run.stderr.lower()
    assert run.stderr.startswith("ai-notes-mcp: model 'blip-base' (Salesforce/blip-image-captioning-base) is not on "
                                 "this machine and the Hugging Face hub (127.0.0.1) cannot be reached: fetch it with")
    assert elapsed < 20, elapsed  # start-up plus one 3 s probe; the hub client's retries took 23-29 s


def test_an_unreachable_hub_is_remembered_so_later_calls_fail_at_once(tmp_path, image_paths, silent_hub,
                                                                         monkeypatch):
    from mcp_server.errors import ModelUnavailableError
    from mcp_server.vision import hub
    from mcp_server.vision.service import VisionService

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", silent_hub)
    monkeypatch.setattr(hub, "_down_until", {})
    service = VisionService(load_settings(_missing_model_config(tmp_path), environ={}))
    timings = []
    for _ in range(3):
        start = time.monotonic()
        with pytest.raises(ModelUnavailableError, match="cannot be reached"):
            asyncio.run(service.caption(image_paths[0]))
        timings.append(time.monotonic() - start)
    assert timings[0] < 10 and max(timings[1:]) < 1.0, timings
    service.close()


# --------------------------------------------------------------------------- 4. a closed pipe


def test_a_closed_pipe_ends_the_command_quietly(tiny_config):
    proc = subprocess.Popen([sys.executable, "-m", "mcp_server", "notes", "read", "security.md", "--config",
                             str(tiny_config)], env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()  # `| head -1`: read a line, then go away
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert stderr == "" and proc.returncode in (0, 141)


# --------------------------------------------------------------------------- 5-7 and friction, over HTTP


@pytest.fixture(scope="module")
def http_server(tiny_config, images_dir, tmp_path_factory):
    """`serve --http` with a token and a small byte limit, as a user starts it."""
    tmp = tmp_path_factory.mktemp("http")
    port = _free_port()
    log = tmp / "server.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcp_server", "serve", "--http", "--port", str(port), "--config", str(tiny_config)],
        env=_env(AI_NOTES_MCP_TOKEN=TOKEN, XDG_CACHE_HOME=str(tmp / "cache"),
                 AI_NOTES_MCP_IMAGES=f"{{max_bytes: 200000, allowed_roots: [{images_dir}]}}"),
        stdout=subprocess.DEVNULL, stderr=log.open("w"))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while "Add it to a client" not in log.read_text():
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "server did not start: " + log.read_text()
        time.sleep(0.3)
    yield base, log
    _stop(proc)


def _call(base: str, name: str, arguments: dict):
    async def go():
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(headers=headers, timeout=120) as http_client:
            from mcp.client.streamable_http import streamable_http_client

            async with Client(streamable_http_client(base + "/mcp", http_client=http_client)) as client:
                return await client.call_tool(name, arguments)

    return asyncio.run(go())


def test_the_urls_are_printed_once_listening_with_each_clients_configuration(http_server):
    base, log = http_server
    printed = log.read_text()
    assert f"MCP endpoint: {base}/mcp" in printed and f"Notes site:   {base}/notes/" in printed
    assert f"claude mcp add --transport http ai-notes {base}/mcp --header" in printed
    assert '{"servers": {"ai-notes": {"type": "http", "url": "' + base + '/mcp"' in printed  # VS Code
    assert '{"mcpServers": {"ai-notes": {"type": "http", "url": "' + base + '/mcp"' in printed


def test_the_site_is_public_the_mcp_endpoint_needs_the_token_and_slash_leads_to_the_notes(http_server):
    base, _ = http_server
    assert httpx.get(base + "/mcp").status_code == 401
    page = httpx.get(base + "/notes/security/")
    assert page.status_code == 200 and "<html" in page.text.lower()
    home = httpx.get(base + "/", follow_redirects=False)
    assert home.status_code == 307 and home.headers["location"] == "/notes/"
    assert httpx.get(base + "/", follow_redirects=True).url.path == "/notes/"


def test_the_site_is_served_compressed(http_server):
    base, _ = http_server
    page = httpx.get(base + "/notes/security/", headers={"Accept-Encoding": "gzip"})
    assert page.headers.get("content-encoding") == "gzip" and "<html" in page.text.lower()
    raw = httpx.get(base + "/notes/security/", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers and raw.text == page.text


def test_an_image_over_the_byte_limit_sent_as_base64_is_a_tool_error_with_the_fix(http_server):
    base, _ = http_server
    big = base64.b64encode(_png(480, 480)).decode()  # about 480 kB: the request is over the body limit
    assert len(big) > 300_000
    result = _call(base, "caption_image", {"image": big})
    assert result.is_error
    limit = body_limit(load_settings(environ={"AI_NOTES_MCP_IMAGES": "{max_bytes: 200000}"}))
    assert result.content[0].text == ("image: larger than 200,000 bytes (images.max_bytes): this request was over "
                                      f"{limit:,} bytes; pass a smaller image")
    slightly = base64.b64encode(_png(300, 300)).decode()  # over max_bytes, under the body limit
    result = _call(base, "caption_image", {"image": slightly})
    assert result.is_error and "larger than 200,000 bytes (images.max_bytes)" in result.content[0].text
    ok = _call(base, "caption_image", {"image": base64.b64encode(_png(40, 30)).decode(), "max_new_tokens": 2})
    assert not ok.is_error  # and the server goes on serving


def test_bare_base64_of_something_else_or_plain_words_are_not_taken_for_paths_over_http(http_server):
    base, _ = http_server
    text = _call(base, "caption_image", {"image": base64.b64encode(b"hello world, not an image").decode()})
    assert text.is_error and text.content[0].text.startswith("image base64 input: not a recognised image")
    words = _call(base, "caption_image", {"image": "hello world"})
    assert words.is_error and "pass base64 instead" not in words.content[0].text
    assert words.content[0].text.startswith("image: not an image reference") and "hello" not in words.content[0].text


# --------------------------------------------------------------------------- friction, in memory


def test_unknown_tool_arguments_are_refused_naming_the_closest_valid_one(settings, image_paths):
    async def go():
        async with Client(create_server(settings)) as client:
            return await client.call_tool("caption_image", {"image": image_paths[0], "num_beam": 1000})

    result = asyncio.run(go())
    assert result.is_error
    assert result.content[0].text == "unknown argument 'num_beam' for caption_image; did you mean 'num_beams'?"


def test_tool_descriptions_carry_no_source_indentation(settings):
    async def go():
        async with Client(create_server(settings)) as client:
            return (await client.list_tools()).tools

    for tool in asyncio.run(go()):
        assert not [line for line in tool.description.splitlines() if line.startswith(" ")], tool.name


@pytest.mark.parametrize(("site_url", "prefix"), [(None, "notes://vision-language.md#"),
                                                   ("https://notes.example/ai/", "https://notes.example/ai/")])
def test_stdio_citations_open_without_a_running_site(tiny_config, image_paths, site_url, prefix):
    environ = {"AI_NOTES_MCP_NOTES": f"{{site_url: {site_url}}}"} if site_url else {}
    settings = load_settings(tiny_config, environ={"AI_NOTES_MCP_DTYPE": "float32", **environ})

    async def go():
        async with Client(create_server(settings)) as client:
            caption = await client.call_tool("caption_image", {"image": image_paths[0], "max_new_tokens": 2})
            hits = await client.call_tool("search_notes", {"query": "prompt injection"})
            return caption.structured_content, hits.structured_content

    caption, hits = asyncio.run(go())
    assert caption["citations"] and all(c["url"].startswith(prefix) for c in caption["citations"])
    assert all(h["url"].startswith(prefix.split("vision")[0]) for h in hits["hits"])
    assert "127.0.0.1" not in str(caption) + str(hits)


def test_serve_typed_in_a_terminal_says_it_waits_for_a_client(tiny_config):
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "mcp_server", "serve", "--config", str(tiny_config)], env=_env(),
                            stdin=follower, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = proc.stderr.readline().decode()
    finally:
        proc.kill()
        proc.wait(timeout=10)
        os.close(leader)
        os.close(follower)
    assert first.startswith("ai-notes-mcp is waiting for an MCP client on stdin/stdout")


def test_notes_search_takes_tags_before_the_query(tiny_config):
    from test_cli import cli

    run = cli("notes", "search", "--tags", "small-models", "quantization", "--json", config=tiny_config)
    assert run.returncode == 0, run.stderr
    hits = json.loads(run.stdout)["hits"]
    assert hits and all("small-models" in h["tags"] for h in hits)
