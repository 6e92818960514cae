"""The MCP server as agents reach it: the SDK's in-memory client, a real stdio subprocess, and HTTP."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time

import anyio
import httpx2 as httpx
import pytest
from mcp import Client, StdioServerParameters

from mcp_server.server import create_server

VISION_TOOLS = {"caption_image", "caption_images", "answer_question", "score_image_text", "list_models",
                "explain_match", "explain_caption"}
NOTES_TOOLS = {"search_notes", "read_note", "find_models"}
IMAGE_INDEX_TOOLS = {"index_images", "search_images", "find_duplicates", "index_status", "image_to_prompt"}


@pytest.fixture(scope="module")
def server(settings):
    return create_server(settings)


def run(coro):
    return anyio.run(lambda: coro)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AI_NOTES_MCP_")}
    env.update(HF_HUB_OFFLINE="1", **extra)
    return env


async def _call_each_tool(client: Client, image: str) -> dict[str, object]:
    out = {}
    out["caption_image"] = await client.call_tool("caption_image", {"image": image, "max_new_tokens": 5})
    out["caption_images"] = await client.call_tool("caption_images", {"images": [image, image], "max_new_tokens": 5})
    out["answer_question"] = await client.call_tool("answer_question", {"image": image, "question": "what is it?"})
    out["score_image_text"] = await client.call_tool("score_image_text", {"image": image, "texts": ["a", "b c"]})
    out["list_models"] = await client.call_tool("list_models", {})
    out["search_notes"] = await client.call_tool("search_notes", {"query": "Q-Former"})
    out["read_note"] = await client.call_tool("read_note", {"ref": "vision-language.md#blip-2"})
    out["find_models"] = await client.call_tool("find_models", {"capability": "captioning"})
    return out


def test_tools_are_listed_with_schemas_and_read_only_annotations(server):
    async def go():
        async with Client(server) as client:
            return (await client.list_tools()).tools

    tools = {tool.name: tool for tool in run(go())}
    assert set(tools) == VISION_TOOLS | NOTES_TOOLS | IMAGE_INDEX_TOOLS
    for tool in tools.values():
        assert tool.annotations.read_only_hint is True and tool.annotations.open_world_hint is False
        assert tool.output_schema and tool.output_schema["type"] == "object"
        assert len(tool.description) > 80
    caption = tools["caption_image"].input_schema["properties"]
    assert caption["num_beams"]["minimum"] == 1 and caption["num_beams"]["maximum"] == 8
    assert caption["num_beams"]["default"] == 3 and caption["max_new_tokens"]["default"] == 30
    assert tools["caption_images"].input_schema["properties"]["images"]["maxItems"] == 64
    assert tools["score_image_text"].input_schema["properties"]["texts"]["maxItems"] == 100
    assert set(tools["caption_image"].output_schema["properties"]) == {
        "captions", "model", "image", "elapsed_ms", "citations"}


def test_every_tool_answers_in_memory(server, image_paths):
    async def go():
        async with Client(server) as client:
            return await _call_each_tool(client, image_paths[0])

    results = run(go())
    assert not [name for name, r in results.items() if r.is_error]
    caption = results["caption_image"].structured_content
    assert caption["model"] == "blip-base" and len(caption["captions"]) == 1
    assert caption["image"]["width"] == 40 and caption["image"]["height"] == 30
    assert [c["uri"] for c in caption["citations"]] == [
        "notes://vision-language.md#blip", "notes://vision-language.md#captioning",
        "notes://vision-language.md#captioning-failure-modes"]
    assert [s["text"] for s in results["score_image_text"].structured_content["scores"]] == ["a", "b c"]
    assert results["answer_question"].structured_content["model"] == "blip-vqa"
    statuses = {m["name"]: m["status"] for m in results["list_models"].structured_content["models"]}
    assert statuses["blip-base"] == "loaded" and statuses["blip2-opt"] in {"available", "loaded"}
    assert results["read_note"].structured_content["uri"] == "notes://vision-language.md#blip-2"
    assert all("captioning" in m["capabilities"] for m in results["find_models"].structured_content["models"])


@pytest.mark.parametrize("arguments, message", [
    ({"image": "/no/such/file.png"}, "image file.png: no such file '/no/such/file.png'; check the path"),
    ({"image": "data:text/plain;base64,aGVsbG8="},
     "image data URI: type 'text/plain' is not an image; pass data:image/png;base64,<data>"),
    ({"image": "IMG", "num_beams": 0}, "bad argument num_beams: Input should be greater than or equal to 1 (got 0)"),
    ({"image": "IMG", "num_captions": 4, "num_beams": 2}, "num_captions (4) must not exceed num_beams (2)"),
    ({"image": "IMG", "model": "nope"}, "unknown model 'nope'; choose one of: blip-base, blip-vqa, blip-itm"),
])
def test_bad_input_is_one_line_tool_error_and_the_next_call_succeeds(server, image_paths, arguments, message):
    arguments = {k: (image_paths[0] if v == "IMG" else v) for k, v in arguments.items()}

    async def go():
        async with Client(server) as client:
            bad = await client.call_tool("caption_image", arguments)
            good = await client.call_tool("caption_image", {"image": image_paths[1], "max_new_tokens": 3})
            return bad, good

    bad, good = run(go())
    assert bad.is_error
    text = bad.content[0].text
    assert message in text and "\n" not in text and "Traceback" not in text
    assert not good.is_error and good.structured_content["captions"]


def test_caption_images_reports_progress_and_isolates_a_bad_image(server, image_paths, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    progress = []

    async def on_progress(done, total, message):
        progress.append((done, total))

    async def go():
        async with Client(server) as client:
            return await client.call_tool(
                "caption_images", {"images": [image_paths[0], str(bad), image_paths[2]], "max_new_tokens": 3},
                progress_callback=on_progress)

    result = run(go())
    assert not result.is_error
    slots = result.structured_content["results"]
    assert [s["error"] is None for s in slots] == [True, False, True]
    assert "broken.jpg" in slots[1]["error"]
    assert sorted(progress) == [(1, 3), (2, 3), (3, 3)]


def test_resources_list_pages_and_catalog(server):
    async def go():
        async with Client(server) as client:
            listed = (await client.list_resources()).resources
            page = await client.read_resource("notes://vision-language.md")
            catalog = await client.read_resource("notes://catalog/models")
            return listed, page, catalog

    listed, page, catalog = run(go())
    uris = {str(r.uri) for r in listed}
    assert {"notes://vision-language.md", "notes://security.md", "notes://catalog/models"} <= uris
    assert all(r.description for r in listed)
    assert "Q-Former" in page.contents[0].text
    import json

    assert len(json.loads(catalog.contents[0].text)["models"]) >= 80


def test_stdio_subprocess_serves_tools_and_16_concurrent_calls(tiny_config, image_paths):
    params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_server", "serve", "--config",
                                                                 str(tiny_config)], env=_env())

    async def go():
        async with Client(params) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            bad = await client.call_tool("answer_question", {"image": "/missing.png", "question": "what?"})
            questions = [f"what is in picture {i}?" for i in range(16)]
            calls = [client.call_tool("answer_question", {"image": image_paths[i % 4], "question": q})
                     for i, q in enumerate(questions)]
            answers = await asyncio.gather(*calls)
            each = await _call_each_tool(client, image_paths[1])
            return names, bad, answers, each

    names, bad, answers, each = asyncio.run(go())
    assert names == VISION_TOOLS | NOTES_TOOLS | IMAGE_INDEX_TOOLS
    assert bad.is_error and bad.content[0].text == "image missing.png: no such file '/missing.png'; check the path"
    assert all(not a.is_error for a in answers)
    digests = [a.structured_content["image"]["sha256"] for a in answers]
    assert len(set(digests)) == 4 and digests[:4] == digests[4:8]  # each answer is about its own image
    assert not [name for name, r in each.items() if r.is_error]


@pytest.mark.parametrize("device", ["cpu", "cuda:64"])  # cuda:64 is missing on any machine
def test_preload_loads_the_default_models_at_start_and_a_bad_device_stays_one_line(tiny_config, tmp_path, device,
                                                                                    image_paths):
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_server", "serve", "--preload",
                                                                 "--config", str(tiny_config)],
                                   env=_env(AI_NOTES_MCP_DEVICE=device))
    log = tmp_path / "server.log"

    async def go():
        with log.open("w") as errlog:
            async with Client(stdio_client(params, errlog=errlog)) as client:
                deadline = time.monotonic() + 120
                while True:  # no tool has asked for a model: only the preload can load them
                    models = (await client.call_tool("list_models", {})).structured_content["models"]
                    loaded = {m["name"] for m in models if m["status"] == "loaded"}
                    if loaded or device != "cpu" or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.2)
                caption = await client.call_tool("caption_image", {"image": image_paths[0], "max_new_tokens": 3})
                hits = await client.call_tool("search_notes", {"query": "prompt injection"})
                return loaded, caption, hits

    loaded, caption, hits = asyncio.run(go())
    assert not hits.is_error
    if device == "cpu":
        assert loaded <= {"blip-base", "blip-vqa", "blip-itm"} and "blip-base" in loaded
        assert not caption.is_error
    else:
        assert loaded == set() and caption.is_error
        assert caption.content[0].text.startswith("bad setting device: 'cuda:64', but ")
    assert "Traceback" not in log.read_text()  # a failed preload is reported by the calls, not on stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_http_with_token(tiny_config, image_paths, tmp_path):
    port = _free_port()
    token = "s3cret-token"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcp_server", "serve", "--http", "--port", str(port), "--config", str(tiny_config)],
        env=_env(AI_NOTES_MCP_TOKEN=token, XDG_CACHE_HOME=str(tmp_path / "cache"), AI_NOTES_MCP_IMAGES=(
            f"{{allowed_roots: [{os.path.dirname(image_paths[0])}]}}")),
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "server.log").open("w"))
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                status = httpx.get(url, timeout=2).status_code
                break
            except httpx.TransportError:
                assert proc.poll() is None, (tmp_path / "server.log").read_text()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.3)
        assert status == 401
        assert httpx.post(url, json={}, headers={"Authorization": "Bearer wrong"}).status_code == 401

        async def go():
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(headers=headers, timeout=60) as http_client:
                from mcp.client.streamable_http import streamable_http_client

                async with Client(streamable_http_client(url, http_client=http_client)) as client:
                    caption = await client.call_tool("caption_image", {"image": image_paths[0],
                                                                       "max_new_tokens": 3})
                    hits = await client.call_tool("search_notes", {"query": "prompt injection"})
                    return caption, hits

        caption, hits = asyncio.run(go())
        assert not caption.is_error and caption.structured_content["captions"]
        hit_url = hits.structured_content["hits"][0]["url"]
        assert hit_url.startswith(f"http://127.0.0.1:{port}/notes/")
        page = httpx.get(hit_url.split("#")[0], headers={"Authorization": f"Bearer {token}"})
        assert page.status_code == 200 and "<html" in page.text.lower()
    finally:
        from load_test import stop

        stop(proc)


def test_public_bind_without_token_refuses_to_start(tiny_config):
    result = subprocess.run(
        [sys.executable, "-m", "mcp_server", "serve", "--http", "--host", "0.0.0.0", "--port", "1",
         "--config", str(tiny_config)], env=_env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "ai-notes-mcp: refusing to bind 0.0.0.0: a non-loopback address needs a bearer token; set http.token in the "
        "config or AI_NOTES_MCP_TOKEN")


def test_start_up_answers_tools_list_without_importing_torch(tiny_config):
    script = (
        "import asyncio, sys\n"
        "from mcp import Client\n"
        "from mcp_server.config import load_settings\n"
        "from mcp_server.server import create_server\n"
        f"server = create_server(load_settings({str(tiny_config)!r}))\n"
        "async def go():\n"
        "    async with Client(server) as client:\n"
        "        return len((await client.list_tools()).tools)\n"
        "print(asyncio.run(go()), 'torch' in sys.modules, 'transformers' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=_env(), timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["15", "False", "False"]


def test_prompts_guide_an_agent_through_the_tools(server):
    async def go():
        async with Client(server) as client:
            listed = {p.name for p in (await client.list_prompts()).prompts}
            prompt = await client.get_prompt("describe_image", {"image": "/tmp/cat.jpg"})
            return listed, prompt

    listed, prompt = run(go())
    assert listed == {"describe_image", "explain_from_notes"}
    text = prompt.messages[0].content.text
    assert "'/tmp/cat.jpg'" in text and "caption_image" in text and "score_image_text" in text


def test_image_tools_are_open_world_only_when_urls_are_allowed(tiny_config):
    from mcp_server.config import load_settings

    async def hints(settings):
        async with Client(create_server(settings)) as client:
            return {t.name: t.annotations.open_world_hint for t in (await client.list_tools()).tools}

    closed = run(hints(load_settings(tiny_config, environ={})))
    opened = run(hints(load_settings(tiny_config, environ={"AI_NOTES_MCP_IMAGES": "{allow_urls: true}"})))
    image_tools = {"caption_image", "caption_images", "answer_question", "score_image_text", "explain_match",
                   "explain_caption", "search_images", "image_to_prompt"}
    assert not any(closed.values())
    assert {name for name, hint in opened.items() if hint} == image_tools
