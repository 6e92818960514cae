"""The front's side of ``serve --ray``: a ``VisionService`` whose engines are Ray Serve deployments.

``RemoteVisionService`` is the in-process service with one thing changed, the engine lookup: ``engine(name)``
deploys the model (replica.py) and returns a ``RemoteEngine``, which has what the service uses of an ``Engine``:
the backend's callers' side (the replica's own processor, so pixels are prepared and ids decoded here exactly as
in one process), a feature cache that is always empty (features stay on the replicas, which cache them), and
``submit``, whose future is settled by the replica's answer. So images are loaded and checked here, and a bad one
is refused before any remote call; every result is built by the same code as in one process.

Every remote call is bounded: a call by ``request_timeout_s`` (the service's own wait, which cancels the remote
call), starting a model by ``ray_serve.start_timeout_s``. Ray's errors become our one-line errors here, and only
here (``translate``): Serve's back-pressure is "busy, retry"; a replica that died or cannot be reached is a
``ReplicaLostError``, which says to retry while Serve starts another.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any

from ray import exceptions as ray_errors
from ray import serve
from ray.serve import exceptions as serve_errors

from ..arguments import validated
from ..config import Settings
from ..errors import AiNotesError, BusyError, CallTimeoutError, ModelFailedError, ReplicaLostError
from ..vision.engine import FeatureCache, Request
from ..vision.options import Texts
from ..vision.service import CitationSource, VisionService
from .replica import Described, deploy, wire


def translate(exc: BaseException, name: str) -> AiNotesError:
    """A Ray or Serve exception met by a call to model ``name``, as one actionable line."""
    if isinstance(exc, AiNotesError):
        return exc
    if isinstance(exc, serve_errors.BackPressureError):
        return BusyError(f"busy: model {name!r} has as many calls waiting for its replicas as ray_serve."
                         "max_queued_requests allows; retry shortly")
    lost = (ray_errors.RayActorError, ray_errors.WorkerCrashedError, ray_errors.NodeDiedError,
            ray_errors.ObjectLostError, serve_errors.ReplicaUnavailableError, serve_errors.DeploymentUnavailableError)
    if isinstance(exc, lost):
        return ReplicaLostError(f"model {name!r}: the Ray Serve replica holding this call was lost; retry in a "
                                "moment, Ray Serve starts another")
    first = " ".join(str(getattr(exc, "cause", None) or exc).split())[:160]
    return ModelFailedError(f"model {name!r} failed on Ray Serve ({type(exc).__name__}: {first}); "
                            "other calls are unaffected, retry")


class Bridge:
    """An event loop on a thread of its own that awaits the replicas' answers, so that ``submit`` can hand back a
    ``concurrent.futures.Future`` (the engine's contract) from any thread; cancelling it cancels the remote call."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="ray-serve-bridge", daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Future:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


class RemoteEngine:
    """What ``VisionService`` uses of an ``Engine``, for a model whose engines run in Ray Serve replicas."""

    def __init__(self, name: str, handle, described: Described, bridge: Bridge) -> None:
        self.name = name
        self.backend = described.backend
        self.cache = FeatureCache(0)
        self.handle = handle
        self._bridge = bridge

    def submit(self, request: Request) -> Future:
        """Send the request to a replica; the future settles with its result, or its error as one line."""
        return self._bridge.run(self.call("run", wire(request)))

    async def call(self, method: str, *args: Any) -> Any:
        """One remote call on the bridge's loop; cancelling it cancels the call on the replica (best effort)."""
        response = getattr(self.handle, method).remote(*args)
        try:
            value, error = await response
        except asyncio.CancelledError:
            response.cancel()
            raise
        except Exception as exc:
            raise translate(exc, self.name) from exc
        if error is not None:
            raise error
        return value


class RemoteVisionService(VisionService):
    """The vision service with its models on Ray Serve; Ray must be connected (``ray_serve.connect``)."""

    def __init__(self, settings: Settings, *, local_paths: bool = True, citations: CitationSource | None = None):
        super().__init__(settings, local_paths=local_paths, citations=citations)
        self._bridge = Bridge()
        self._model_locks = {name: threading.Lock() for name in settings.models}
        self._deployed: set[str] = set()

    def engine(self, name: str) -> RemoteEngine:  # type: ignore[override]
        """The model's deployment, deployed on first use (blocking, up to ``ray_serve.start_timeout_s``).

        One lock per model: a model whose replicas take minutes to start holds up no other model. An adapter's
        engine is its base model's, whose replicas hold it.
        """
        name = self.settings.base_of(name)
        engine = self._engines.get(name)
        if engine is not None:
            return engine
        with self._model_locks[name]:
            engine = self._engines.get(name)
            if engine is None:
                handle = deploy(self.settings, name)
                self._deployed.add(name)
                described = self._ask(handle.describe.remote(), self.settings.ray_serve.start_timeout_s, name)
                if described.failure is not None:
                    self._undeploy(name)  # as in one process, the next call tries to load it again (on new replicas)
                    raise described.failure
                engine = RemoteEngine(name, handle, described, self._bridge)
                self._engines[name] = engine
                if self._device is None:  # what list_models reports
                    self._device, self._dtype = described.device, described.dtype
            return engine

    def _ask(self, response, timeout_s: float, name: str) -> Any:
        """A blocking call's answer (off the event loop), bounded like every other remote call."""
        try:
            return response.result(timeout_s=timeout_s)
        except TimeoutError:
            response.cancel()
            raise CallTimeoutError(f"model {name!r}: its Ray Serve replica did not answer within {timeout_s:g} s; "
                                   "retry") from None
        except Exception as exc:
            raise translate(exc, name) from exc

    async def embed_texts(self, texts: list[str], model: str | None = None) -> Any:
        texts = validated(Texts, texts, "texts")
        engine = await asyncio.to_thread(self.engine, self.embedding_model(model))
        future = self._bridge.run(engine.call("embed_texts", texts))
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout=self.settings.request_timeout_s)
        except TimeoutError:
            future.cancel()
            raise CallTimeoutError(f"the call took longer than request_timeout_s ({self.settings.request_timeout_s:g}"
                                   " s) and was stopped; retry") from None

    def stats(self, name: str) -> dict[str, Any]:
        """A replica's figures (``VisionReplica.stats``): its process, calls, and the batch sizes Serve formed."""
        engine = self.engine(name)
        return self._ask(engine.handle.stats.remote(), self.settings.request_timeout_s, name)

    async def preload(self, names: list[str] | None = None) -> None:
        """Deploy the default models (or ``names``) side by side: their replicas start in parallel."""

        async def one(name: str) -> None:
            with contextlib.suppress(AiNotesError):  # reported, in one line, when a tool needs the model
                await asyncio.to_thread(self.engine, name)

        names = names or list(self.settings.defaults.model_dump().values())
        await asyncio.gather(*(one(name) for name in dict.fromkeys(map(self.settings.base_of, names))))

    def close(self) -> None:
        """Delete the deployments this server made (their replicas and whatever they hold) and stop the bridge."""
        self._undeploy(*self._deployed)
        self._bridge.close()

    def _undeploy(self, *names: str) -> None:
        """Delete the models' applications, all at once, and wait (bounded) until they are gone."""
        apps = {self.settings.ray_serve.app_prefix + name for name in names}
        for name in names:
            self._deployed.discard(name)
            self._engines.pop(name, None)
        with contextlib.suppress(Exception):  # the cluster went away first: nothing is left to delete
            for app in apps:
                serve.delete(app, _blocking=False)
            deadline = time.monotonic() + 60
            while apps & set(serve.status().applications) and time.monotonic() < deadline:
                time.sleep(0.2)
