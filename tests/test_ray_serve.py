"""serve --http --ray: the vision models as Ray Serve deployments behind the same MCP front.

On a local 2-CPU Ray instance with the tiny checkpoints. Ray and its replicas are slow to start, so one instance
and one deployment per model serve the whole module (a module-scoped fixture); the test that kills a replica runs
last. CI installs the [ray] extra, and there a missing Ray fails instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from mcp import Client
from test_cli import cli

from mcp_server.config import load_settings
from mcp_server.errors import ConfigError
from mcp_server.server import create_server
from mcp_server.services import Services

MODELS = ["blip-base", "blip-vqa", "blip-itm"]
# Four replicas of half a CPU fit the 2-CPU instance: the three models here and one for the CLI's own server.
RAY_SETTINGS = "{num_cpus: 0.5}"


@pytest.fixture(scope="module")
def ray_instance():
    if os.environ.get("CI"):  # CI installs the [ray] extra: a missing Ray there is a failure, not a skip
        import ray.serve  # noqa: F401
    else:
        pytest.importorskip("ray.serve")
    import ray

    ray.init(num_cpus=2, object_store_memory=256 * 1024**2, logging_level="WARNING", include_dashboard=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def lora(tiny_dir, tmp_path_factory) -> str:
    """A LoRA adapter of blip-base with random (non-zero) weights on the text side: it changes the captions, and
    makes one in a few seconds where training would take longer (training is test_adapters' subject)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import BlipForConditionalGeneration

    from mcp_server.training.targets import target_modules

    torch.manual_seed(0)
    model = BlipForConditionalGeneration.from_pretrained(tiny_dir / "blip-caption")
    config = LoraConfig(r=4, lora_alpha=16, init_lora_weights=False,
                        target_modules=target_modules(model, "blip", "caption", "attention"))
    out = tmp_path_factory.mktemp("lora") / "shapes"
    get_peft_model(model, config).save_pretrained(out)
    return str(out)


@pytest.fixture(scope="module")
def ray_settings(tiny_config, lora, tmp_path_factory):
    # Two adapters on blip-base: one that loads and one whose folder holds none (its own one line, in both servers).
    empty = tmp_path_factory.mktemp("no-adapter")
    adapters = f"{{shapes: {{base: blip-base, path: '{lora}'}}, broken: {{base: blip-base, path: '{empty}'}}}}"
    return load_settings(tiny_config, environ={"AI_NOTES_MCP_DTYPE": "float32", "AI_NOTES_MCP_RAY_SERVE": RAY_SETTINGS,
                                               "AI_NOTES_MCP_ADAPTERS": adapters})


@pytest.fixture(scope="module")
def remote(ray_instance, ray_settings):
    """The services of `serve --http --ray`: the models deployed once, side by side, for the whole module."""
    services = Services(ray_settings, ray_address="")
    asyncio.run(services.vision.preload(MODELS))
    yield services
    services.close()


@pytest.fixture(scope="module")
def local(ray_settings):
    services = Services(ray_settings)
    yield services
    services.close()


def _timeless(value):
    """A structured result without its timings, which differ between any two runs."""
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if k != "elapsed_ms"}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


async def _call(services: Services, calls: list[tuple[str, dict]]) -> list:
    async with Client(create_server(services.settings, services=services)) as client:
        return list(await asyncio.gather(*(client.call_tool(name, arguments) for name, arguments in calls)))


def _outcome(result) -> object:
    """What a tool call answered: its structured content, or its one error line."""
    if result.is_error:
        return ("error", result.content[0].text)
    return _timeless(result.structured_content)


# --------------------------------------------------------------------------- results


def test_mcp_calls_through_ray_equal_the_in_process_server(remote, local, image_paths, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    image = image_paths[0]
    calls = [
        ("caption_image", {"image": image, "max_new_tokens": 8, "num_beams": 1}),
        ("caption_image", {"image": image_paths[1], "max_new_tokens": 8, "num_beams": 3, "num_captions": 2}),
        ("caption_image", {"image": image_paths[2], "prompt": "a picture of", "max_new_tokens": 6}),
        ("caption_images", {"images": [image_paths[3], str(broken), image], "max_new_tokens": 5}),
        ("answer_question", {"image": image_paths[1], "question": "what color is it?", "max_new_tokens": 6}),
        ("score_image_text", {"image": image_paths[2], "texts": ["a red car", "a dog on grass"]}),
        ("score_image_text", {"image": image_paths[3], "texts": ["a red car", "a dog on grass"], "method": "itc"}),
        ("explain_match", {"image": image, "text": "a red square"}),
        ("caption_image", {"image": str(broken)}),
        ("caption_image", {"image": image, "model": "nope"}),
    ]
    before = remote.vision.stats("blip-base")["calls"]
    over_ray = asyncio.run(_call(remote, calls))
    in_process = asyncio.run(_call(local, calls))
    assert [_outcome(r) for r in over_ray] == [_outcome(r) for r in in_process]
    assert over_ray[7].content[0].type == "image"  # explain_match's picture, drawn in the front
    assert over_ray[8].content[0].text == "image broken.png: the PNG data is truncated or damaged; pass a complete " \
        "image file"
    # Two caption_image calls and two good slots of caption_images reached the replica; the broken image twice
    # and the unknown model never left the front.
    assert remote.vision.stats("blip-base")["calls"] - before == 5


def test_16_concurrent_calls_are_all_answered_and_batched(remote, local, image_paths):
    calls = [("caption_image", {"image": image_paths[i % 4], "max_new_tokens": 8, "num_beams": 1})
             for i in range(16)]
    before = remote.vision.stats("blip-base")
    over_ray = asyncio.run(_call(remote, calls))
    after = remote.vision.stats("blip-base")
    in_process = asyncio.run(_call(local, calls[:4]))
    assert [_outcome(r) for r in over_ray] == [_outcome(r) for r in in_process] * 4
    sizes = {size: count - before["batch_sizes"].get(size, 0) for size, count in after["batch_sizes"].items()}
    assert sum(size * count for size, count in sizes.items()) == 16  # every call went through @serve.batch
    assert max(size for size, count in sizes.items() if count) > 1  # they met in Serve's batches (by arrival)
    assert after["engine_batches"] - before["engine_batches"] < 16  # and in the engine's (by backlog)


def test_adapters_are_served_by_name_from_their_base_models_replicas(remote, local, image_paths):
    options = {"max_new_tokens": 8, "num_beams": 1}
    calls = [("caption_image", {"image": image_paths[i % 2], "model": model, **options})
             for i, model in enumerate(["shapes", "blip-base", "shapes", "blip-base", "broken"])]
    before = remote.vision.stats("blip-base")
    over_ray = [_outcome(r) for r in asyncio.run(_call(remote, calls))]
    after = remote.vision.stats("blip-base")
    assert over_ray == [_outcome(r) for r in asyncio.run(_call(local, calls))]
    assert over_ray[0]["model"] == "shapes" and over_ray[0]["captions"] != over_ray[1]["captions"]  # it was applied
    assert over_ray[4] == ("error", f"adapter 'broken' ({local.settings.adapters['broken'].path}) is not an adapter "
                                    "folder (no adapter_config.json); train one with `ai-notes-mcp finetune --model "
                                    f"blip-base --out {local.settings.adapters['broken'].path}` or fix "
                                    "adapters.broken.path")
    assert after["calls"] - before["calls"] == 4  # the broken adapter never left the front
    models = {m.name: m for m in remote.vision.list_models().models}
    assert (models["shapes"].status, models["broken"].status) == ("loaded", "failed")


def test_text_embeddings_for_the_image_index_come_from_the_replica(remote, local):
    texts = ["a red car", "a dog on grass"]
    over_ray = asyncio.run(remote.vision.embed_texts(texts))
    in_process = asyncio.run(local.vision.embed_texts(texts))
    assert over_ray.shape == in_process.shape and (over_ray - in_process).abs().max() < 1e-6


# --------------------------------------------------------------------------- the command line


def test_serve_http_ray_joins_a_cluster_and_answers_as_in_process(ray_instance, remote, local, tiny_config,
                                                                   image_paths, tmp_path):
    import httpx2 as httpx
    from load_test import stop
    from mcp.client.streamable_http import streamable_http_client

    address = ray_instance.get_runtime_context().gcs_address
    env = {k: v for k, v in os.environ.items() if not k.startswith("AI_NOTES_MCP_")}
    env.update(HF_HUB_OFFLINE="1", XDG_CACHE_HOME=str(tmp_path / "cache"), AI_NOTES_MCP_DTYPE="float32",
               AI_NOTES_MCP_IMAGES=f"{{allowed_roots: [{os.path.dirname(image_paths[0])}]}}",
               AI_NOTES_MCP_RAY_SERVE="{num_cpus: 0.5, app_prefix: cli-}")  # its own deployments, beside the module's
    log = tmp_path / "server.log"
    proc = subprocess.Popen([sys.executable, "-m", "mcp_server", "serve", "--http", "--port", "0", "--ray", address,
                             "--config", str(tiny_config)], env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    try:
        deadline = time.monotonic() + 240
        while not (found := re.search(r"MCP endpoint: (\S+)", log.read_text())):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.5)
        call = ("caption_image", {"image": image_paths[1], "max_new_tokens": 8, "num_beams": 1})

        async def go():
            async with httpx.AsyncClient(timeout=240) as http_client, Client(
                    streamable_http_client(found.group(1), http_client=http_client)) as client:
                return await client.call_tool(*call)

        over_http = _outcome(asyncio.run(go()))
        in_process = _outcome(asyncio.run(_call(local, [call]))[0])
        # Over HTTP the citations are the server's own /notes/ URLs, in memory notes:// URIs: the rest is the same.
        assert over_http.pop("citations")[0]["url"].startswith(found.group(1).removesuffix("mcp") + "notes/")
        assert over_http == {k: v for k, v in in_process.items() if k != "citations"}
        assert "cli-blip-base" in _applications()
    finally:
        stop(proc)
    # SIGTERM ends it as it ends `serve --http` without Ray: uvicorn shuts down (the services close), then the
    # signal's default action; Ray's own handler (exit status 15) is not left in its place, nor a SIGKILL needed.
    assert proc.returncode == -signal.SIGTERM, log.read_text()
    assert "cli-blip-base" not in _applications()  # the server deletes what it deployed
    assert "ai-notes-blip-base" in _applications()


def _applications() -> set[str]:
    from ray import serve

    return set(serve.status().applications)


def test_ray_needs_http(tiny_config):
    run = cli("serve", "--ray", config=tiny_config)
    assert (run.returncode, run.stderr) == (2, "ai-notes-mcp: --ray serves over HTTP only: add --http (MCP clients "
                                               "that launch a stdio server can reach the HTTP endpoint instead)\n")


def test_ray_missing_is_one_line_saying_how_to_install_it(tiny_config, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets where Ray is not installed
    monkeypatch.setitem(sys.modules, "ray.serve", None)
    run = cli("serve", "--http", "--port", "0", "--ray", config=tiny_config)
    assert (run.returncode, run.stderr) == (2, "ai-notes-mcp: --ray needs Ray Serve, which is not installed: pip "
                                               "install 'ai-notes-mcp[ray]' (in a checkout: pip install -e '.[ray]')\n")


def test_ray_is_imported_only_with_ray(tiny_config):
    script = (
        "import sys\n"
        "from mcp_server.cli import build_parser\n"
        "from mcp_server.config import load_settings\n"
        "from mcp_server.http import build_app\n"
        f"build_app(load_settings({str(tiny_config)!r}), host='127.0.0.1', port=1, serve_site=False)\n"
        "build_parser().parse_args(['serve', '--http', '--ray', 'auto'])\n"
        "print('ray' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout) == (0, "False\n"), result.stderr


# --------------------------------------------------------------------------- settings


def test_ray_serve_settings_size_each_model_and_refuse_what_cannot_work(tiny_config):
    settings = load_settings(tiny_config, environ={"AI_NOTES_MCP_RAY_SERVE": (
        "{num_cpus: 2, models: {blip2-opt: {num_gpus: 1, autoscaling: {max_replicas: 3}}}}")})
    own, default = settings.ray_serve.sizing("blip2-opt"), settings.ray_serve.sizing("blip-base")
    assert (own.num_cpus, own.num_gpus, own.autoscaling.max_replicas, own.autoscaling.min_replicas) == (2, 1, 3, 1)
    assert (default.num_cpus, default.num_gpus, default.autoscaling, default.replicas) == (2, 0, None, 1)
    for value, message in [
        ("{models: {blip-x: {num_gpus: 1}}}", "ray_serve.models names 'blip-x', which is not in models (blip-base, "
                                              "blip-vqa, blip-itm, blip2-opt, blip2-itm, blip2-mt0)"),
        ("{models: {blip-base: {gpus: 1}}}", "unknown setting 'ray_serve.models.blip-base.gpus'; allowed here: "
                                             "replicas, autoscaling, num_cpus, num_gpus, max_ongoing_requests"),
        ("{max_ongoing_requests: 4}", "ray_serve max_ongoing_requests (4) for model 'blip-base' is below "
                                      "batching.max_batch (8): its replicas could never fill a batch; raise it"),
        ("{autoscaling: {min_replicas: 5, max_replicas: 2}}",
         "bad setting ray_serve.autoscaling: min_replicas (5) must not exceed max_replicas (2)"),
    ]:
        with pytest.raises(ConfigError) as caught:
            load_settings(tiny_config, environ={"AI_NOTES_MCP_RAY_SERVE": value})
        assert str(caught.value) == message


def test_ray_errors_become_one_retryable_line():
    pytest.importorskip("ray.serve")
    from ray import exceptions as ray_errors
    from ray.serve import exceptions as serve_errors

    from mcp_server.errors import BusyError, ReplicaLostError
    from mcp_server.ray_serve.remote import translate

    busy = translate(serve_errors.BackPressureError(num_queued_requests=256, max_queued_requests=256), "blip-base")
    assert isinstance(busy, BusyError) and str(busy) == (
        "busy: model 'blip-base' has as many calls waiting for its replicas as ray_serve.max_queued_requests allows; "
        "retry shortly")
    lost = translate(ray_errors.ActorDiedError(), "blip-base")
    assert isinstance(lost, ReplicaLostError) and str(lost) == (
        "model 'blip-base': the Ray Serve replica holding this call was lost; retry in a moment, Ray Serve starts "
        "another")


# --------------------------------------------------------------------------- a replica lost (last: it kills one)


def test_a_replica_killed_during_a_load_is_replaced_and_its_calls_end_with_one_retryable_line(remote, local,
                                                                                              image_paths):
    before = remote.vision.stats("blip-base")
    # Several batches of 8 beams and 40 tokens: the replica is killed once more than one batch has reached it, so it
    # dies with calls in hand however fast the machine is.
    heavy = {"max_new_tokens": 40, "min_new_tokens": 40, "num_beams": 8}
    calls = [("caption_image", {"image": image_paths[i % 4], **heavy}) for i in range(24)]

    async def load_and_kill():
        async with Client(create_server(remote.settings, services=remote)) as client:
            pending = [asyncio.ensure_future(client.call_tool(*call)) for call in calls]
            while (await asyncio.to_thread(remote.vision.stats, "blip-base"))["calls"] - before["calls"] <= 8:
                await asyncio.sleep(0.05)
            os.kill(before["pid"], signal.SIGKILL)
            return await asyncio.gather(*pending)

    results = asyncio.run(load_and_kill())
    expected = [_outcome(r) for r in asyncio.run(_call(local, calls[:4]))]
    lost_line = ("model 'blip-base': the Ray Serve replica holding this call was lost; retry in a moment, Ray Serve "
                 "starts another")
    for i, result in enumerate(results):
        assert _outcome(result) in (expected[i % 4], ("error", lost_line)), _outcome(result)
    assert sum(r.is_error for r in results) >= 1  # some were in flight on the replica that died

    probe = ("caption_image", {"image": image_paths[0], "max_new_tokens": 8, "num_beams": 1})
    deadline = time.monotonic() + 180
    while isinstance(outcome := _outcome(asyncio.run(_call(remote, [probe]))[0]), tuple):
        assert "retry" in outcome[1] and "\n" not in outcome[1]  # until the new replica serves: retryable lines
        assert time.monotonic() < deadline, "the replica was not replaced"
        time.sleep(1)
    later = asyncio.run(_call(remote, calls[:4]))
    assert [_outcome(r) for r in later] == expected
    assert remote.vision.stats("blip-base")["pid"] != before["pid"]
