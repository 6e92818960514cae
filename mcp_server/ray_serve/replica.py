"""One model's Ray Serve deployment: the model's Engine inside every replica, fed by ``@serve.batch``.

    RemoteEngine.submit --handle--> VisionReplica.run --@serve.batch--> Engine.submit_many --> the compute thread

Serve gathers the calls that reach a replica within ``batching.max_wait_ms`` (up to ``batching.max_batch``), from
every caller, into one list; the replica queues the list on its engine at once, and the engine runs its queue as it
does in one process (grouped by task and options, up to ``max_batch``, through the feature cache, on the one
compute thread), so results are the same; the calls that arrive while a batch runs, in whatever Serve batch, meet
in the next. The engine's own wait is 0 here: Serve has waited already. Results and errors travel back as values,
``(result, None)`` or ``(None, error)``: an ``AiNotesError`` line the front raises as it is.

Loading follows ``VisionService.engine`` (device and dtype resolved on the replica's node, so a replica given a GPU
uses it), with the LoRA adapters declared on the model: every replica holds them all, so calls naming different
adapters (or none) still meet in one batch, each row through its own, as in one process. (Serve's
``@serve.multiplexed`` would route by adapter but split batches by it; adapters are small enough to load everywhere.)

A checkpoint that cannot be loaded does not fail the replica (Serve would restart it over and over): every call
answers with that one line, as the server does in one process, and the front redeploys on the next try.

The batch sizes that Serve formed, the engine's batches and the replica's process id are in ``stats``.
"""

from __future__ import annotations

import asyncio
import collections
import os
import time
from dataclasses import dataclass, fields
from typing import Any

from ray import serve

from ..config import Settings
from ..errors import AiNotesError, ModelUnavailableError, ServerError
from ..vision.adapters import Adapters
from ..vision.engine import Request
from ..vision.service import VisionService

# What the front runs of a backend (preprocess, decode) and reads of it (family, tasks, text layers, whether a
# BLIP-2 language model is an encoder-decoder, which decode needs); its adapters travel as ``AdaptersSide``.
CALLERS_SIDE = ("processor", "tokenizer", "tasks", "text_layers", "encoder_decoder")
Outcome = tuple[Any, AiNotesError | None]


@dataclass(frozen=True)
class Described:
    """What a replica tells the front once: the backend's callers' side, where it runs, or why it cannot."""

    backend: Any
    device: str
    dtype: str
    failure: AiNotesError | None = None


@dataclass(frozen=True)
class AdaptersSide:
    """What the front reads of the adapters loaded in a replica (``vision/adapters.py``): which were loaded, and the
    one line of each that failed, which a call naming it answers (``check``, the same code) and list_models shows."""

    loaded: list[str]
    failed: dict[str, str]

    check = Adapters.check


def callers_side(backend: Any) -> Any:
    """The backend without its weights: the same class and code, holding only the processor's files, so that the
    front prepares pixels and decodes ids exactly as the replica would. Calling the model on it fails."""
    side = object.__new__(type(backend))
    for name in CALLERS_SIDE:
        if name in vars(backend):
            setattr(side, name, vars(backend)[name])
    adapters = vars(backend).get("adapters")
    if adapters is not None:
        side.adapters = AdaptersSide(list(adapters.loaded), dict(adapters.failed))
    return side


def wire(request: Request) -> dict[str, Any]:
    """A request as it travels: every field but its future (and features, which stay on the replicas)."""
    return {f.name: getattr(request, f.name) for f in fields(request) if f.name not in ("future", "features")}


@serve.deployment
class VisionReplica:
    def __init__(self, settings: Settings, name: str) -> None:
        self.name = name
        self.batch_sizes: collections.Counter[int] = collections.Counter()  # Serve's batches: size -> count
        self.calls = 0
        self.started = time.time()
        self._batched.set_max_batch_size(settings.batching.max_batch)
        self._batched.set_batch_wait_timeout_s(settings.batching.max_wait_ms / 1000)
        unwaited = settings.batching.model_copy(update={"max_wait_ms": 0})
        self.service = VisionService(settings.model_copy(update={"batching": unwaited}))
        try:
            self.engine = self.service.engine(name)
            self.failure: AiNotesError | None = None
        except AiNotesError as exc:
            self.engine, self.failure = None, exc

    def describe(self) -> Described:
        if self.engine is None:
            return Described(None, "", "", self.failure)
        backend = self.engine.backend
        return Described(callers_side(backend), str(backend.device), str(backend.dtype).removeprefix("torch."))

    async def run(self, fields_: dict[str, Any]) -> Outcome:
        self.calls += 1
        if self.engine is None:
            return None, self.failure
        future = await self._batched(fields_)  # queued on the engine with the calls that arrived alongside
        try:
            return await future, None
        except AiNotesError as exc:
            return None, exc

    @serve.batch  # sized from the settings in __init__
    async def _batched(self, batch: list[dict[str, Any]]) -> list[asyncio.Future]:
        """Queue Serve's batch on the engine at once and hand back each call's future, without waiting for the
        results: Serve forms batches by arrival (within ``max_wait_ms``) and runs one at a time, so a handler that
        waited would keep the calls arriving meanwhile in batches of their own; queued at once, they meet the
        engine's backlog, which runs as in one process (everything queued that agrees, up to ``max_batch``)."""
        self.batch_sizes[len(batch)] += 1
        futures = self.engine.submit_many([Request(**fields_) for fields_ in batch])
        return [asyncio.wrap_future(future) for future in futures]

    async def embed_texts(self, texts: list[str]) -> Outcome:
        """Text embeddings for the image index: no image, so no batch; the service runs them on the compute thread."""
        if self.engine is None:
            return None, self.failure
        try:
            return await self.service.embed_texts(texts, self.name), None
        except AiNotesError as exc:
            return None, exc

    def stats(self) -> dict[str, Any]:
        engine = self.engine
        return {"pid": os.getpid(), "calls": self.calls, "batch_sizes": dict(self.batch_sizes),
                "engine_batches": engine.batches if engine else 0,
                "encoded_images": engine.encoded_images if engine else 0, "started": self.started}

    def __del__(self) -> None:
        self.service.close()


def deploy(settings: Settings, name: str):
    """Deploy (or update) the model's application and wait, up to ``start_timeout_s``, until its replicas run;
    the deployment's handle. Serve's own reason, in one line, when they cannot start."""
    config = settings.ray_serve
    sizing = config.sizing(name)
    options: dict[str, Any] = {
        "name": name,
        "ray_actor_options": {"num_cpus": sizing.num_cpus, "num_gpus": sizing.num_gpus},
        "max_ongoing_requests": sizing.max_ongoing_requests,
        "max_queued_requests": config.max_queued_requests,
        "logging_config": {"log_level": "WARNING", "enable_access_log": False},
    }
    if sizing.autoscaling is None:
        options["num_replicas"] = sizing.replicas
    else:
        options["autoscaling_config"] = sizing.autoscaling.model_dump()
    app = config.app_prefix + name
    target = serve.RunTarget(VisionReplica.options(**options).bind(settings, name), name=app, route_prefix=None)
    [handle] = serve.run_many([target], wait_for_applications_running=False)
    deadline = time.monotonic() + config.start_timeout_s
    while True:
        status = serve.status().applications.get(app)
        state = status.status if status is not None else "NOT_STARTED"
        if state == "RUNNING":
            return handle
        if state == "DEPLOY_FAILED":
            raise ModelUnavailableError(f"model {name!r} could not start on Ray Serve ({_reason(status)}); "
                                        "see the replica's log under the Ray session's logs/serve/")
        if time.monotonic() > deadline:
            raise ServerError(
                f"model {name!r}: its Ray Serve replicas did not start within ray_serve.start_timeout_s "
                f"({config.start_timeout_s:g} s; {_reason(status) or state}); give the cluster room for "
                f"{sizing.num_cpus:g} CPUs and {sizing.num_gpus:g} GPUs per replica, or lower them in ray_serve")
        time.sleep(0.2)


def _reason(status) -> str:
    """Serve's message about an application, its deployments' first: one line, short."""
    if status is None:
        return ""
    messages = [d.message for d in status.deployments.values() if d.message] + [status.message]
    return " ".join(next((m for m in messages if m), "").split())[:240]
