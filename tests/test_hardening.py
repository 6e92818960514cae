"""Load, faults and timeouts: the server answers every call, refuses cleanly, and keeps serving."""

from __future__ import annotations

import asyncio

import anyio
import pytest
from mcp import Client

from mcp_server.config import load_settings
from mcp_server.server import create_server


def test_200_calls_from_20_http_clients_all_answered_against_their_own_image():
    from load_test import run

    report = run(calls=200, clients=20, max_queue=4)
    assert report["server_alive"]
    assert report["answered"] == 200
    assert report["errors"] == [] and report["wrong_image"] == 0
    assert report["ok"] + report["busy"] == 200 and report["ok"] > 0
    assert report["peak_rss_mib"] < 3000  # bounded: tiny models, bounded queue and cache


def test_request_timeout_ends_a_long_call_and_the_server_keeps_serving(tiny_config, image_paths):
    settings = load_settings(tiny_config, environ={"AI_NOTES_MCP_REQUEST_TIMEOUT_S": "0.001"})
    server = create_server(settings)

    async def go():
        async with Client(server) as client:
            slow = await client.call_tool("caption_image", {"image": image_paths[0], "num_beams": 8,
                                                            "num_captions": 5, "max_new_tokens": 100})
            notes = await client.call_tool("search_notes", {"query": "reranking"})
            return slow, notes

    slow, notes = anyio.run(go)
    assert slow.is_error
    assert slow.content[0].text == ("the call took longer than request_timeout_s (0.001 s) and was stopped; retry, "
                                    "or ask for fewer tokens or beams")
    assert not notes.is_error


def test_a_client_that_goes_away_mid_call_leaves_the_server_healthy(settings, image_paths):
    server = create_server(settings)

    async def go():
        async with Client(server) as client:
            await client.call_tool("caption_image", {"image": image_paths[0], "max_new_tokens": 2})  # load
            with anyio.move_on_after(0.05):  # the caller gives up mid-call: the request is cancelled
                await client.call_tool("caption_image", {"image": image_paths[1], "num_beams": 8,
                                                         "num_captions": 5, "max_new_tokens": 100})
            await asyncio.sleep(0.2)
        async with Client(server) as client:  # a new client is served normally
            return await client.call_tool("caption_image", {"image": image_paths[2], "max_new_tokens": 3})

    result = anyio.run(go)
    assert not result.is_error and result.structured_content["captions"]


@pytest.mark.parametrize("texts, message", [
    ([], "bad argument texts: List should have at least 1 item after validation, not 0"),
    (["x"] * 101, "bad argument texts: List should have at most 100 items after validation, not 101"),
    (["y" * 501], "bad argument texts.0: String should have at most 500 characters"),
])
def test_list_and_text_bounds_are_enforced_by_the_tool_schema(settings, image_paths, texts, message):
    async def go():
        async with Client(create_server(settings)) as client:
            return await client.call_tool("score_image_text", {"image": image_paths[0], "texts": texts})

    result = anyio.run(go)
    assert result.is_error and result.content[0].text.startswith(message)
    assert "\n" not in result.content[0].text


def test_local_paths_are_refused_over_http_unless_roots_are_set(settings, image_paths):
    async def go():
        async with Client(create_server(settings, local_paths=False)) as client:
            return await client.call_tool("caption_image", {"image": image_paths[0]})

    result = anyio.run(go)
    assert result.is_error and "allowed_roots" in result.content[0].text
    assert "\n" not in result.content[0].text
