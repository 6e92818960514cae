"""The engine: one worker thread per loaded model, fed by a bounded queue shared by every caller.

A request is one image and one task, for the model or one of its LoRA adapters. The worker takes the oldest
request, waits up to ``max_wait_ms`` for others whose task and options agree (whatever their adapter), and runs
them as one batch (up to ``max_batch``); requests that queue while the batch's images are encoded join it before
its text side runs. The vision side's output is kept in an LRU cache per image digest, so a second question,
another caption setting, a match or an adapter on the same image runs only the text side. Callers preprocess and
decode in their own threads; the worker forms batches and hands each to the compute thread that all engines share
(``compute.py``), which runs the model.

Results never depend on batching: every row of a batch is computed as it would be alone (see the tests).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Hashable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import AiNotesError, BusyError, ModelFailedError
from . import compute

if TYPE_CHECKING:
    import torch

    from .protocol import VisionBackend

log = logging.getLogger(__name__)

GRADIENT_TASKS = frozenset({"explain_match", "explain_caption"})  # their payloads: the text; options: the layer


@dataclass(eq=False)
class Request:
    task: str  # "caption", "vqa", "match", "embed", "explain_match" or "explain_caption"
    options: Hashable  # CaptionOptions, AnswerOptions or the match method: equal options batch together
    digest: str
    pixels: torch.Tensor | None = None  # None when the features were cached at submit time
    features: torch.Tensor | None = None
    payload: Any = None  # the question, or the texts to match
    adapter: str | None = None  # a LoRA adapter loaded on this model (vision/adapters.py), or None for the model
    future: Future = field(default_factory=Future)

    @property
    def key(self) -> tuple[str, Hashable, str | None]:
        # Adapters batch together, each row through its own (it changes only the text side); explanations, which
        # run row by row, keep to one adapter per batch.
        return (self.task, self.options, self.adapter if self.task in GRADIENT_TASKS else None)


class FeatureCache:
    """LRU of vision features per image digest; thread-safe (callers peek, the worker fills)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: collections.OrderedDict[str, torch.Tensor] = collections.OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, digest: str) -> torch.Tensor | None:
        with self._lock:
            value = self._items.get(digest)
            if value is not None:
                self._items.move_to_end(digest)
            return value

    def put(self, digest: str, value: torch.Tensor) -> None:
        if self.capacity <= 0:
            return
        with self._lock:
            self._items[digest] = value
            self._items.move_to_end(digest)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class Engine:
    def __init__(self, backend: VisionBackend, *, max_batch: int, max_wait_ms: float, max_queue: int,
                 cache_size: int, name: str = "model") -> None:
        self.backend = backend
        self.name = name
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000
        self.max_queue = max_queue
        self.cache = FeatureCache(cache_size)
        self.encoded_images = 0  # images the vision side has run on: what the cache saves
        self.batches = 0
        self._queue: collections.deque[Request] = collections.deque()
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"engine-{name}", daemon=True)
        self._thread.start()

    # -- callers' side -------------------------------------------------------------------------

    def submit(self, request: Request) -> Future:
        """Queue a request; refuse at once when the queue is full. Cancel the future to drop it."""
        with self._cond:
            refusal = self._refusal(request)
            if refusal is not None:
                raise refusal
            self._queue.append(request)
            self._cond.notify()
        return request.future

    def submit_many(self, requests: list[Request]) -> list[Future]:
        """Queue requests together, so that the worker finds them all at once (a batch formed by the caller, as
        Ray Serve's ``@serve.batch`` forms one); a request refused fails on its own future."""
        with self._cond:
            for request in requests:
                refusal = self._refusal(request)
                if refusal is None:
                    self._queue.append(request)
                else:
                    request.future.set_exception(refusal)
            self._cond.notify()
        return [request.future for request in requests]

    def _refusal(self, request: Request) -> Exception | None:
        """Why ``request`` cannot be queued now, if it cannot. The caller holds the lock."""
        if request.features is None and request.pixels is None:
            return ValueError("a request needs pixels or cached features")
        if self._closed:
            return BusyError(f"model {self.name!r} is shutting down; retry in a moment")
        if len(self._queue) >= self.max_queue:
            return BusyError(f"busy: {len(self._queue)} requests are queued for model {self.name!r}; retry shortly")
        return None

    def queued(self) -> int:
        return len(self._queue)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=5)

    # -- the worker ----------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            batch = _started(batch)  # a request cancelled while queued is dropped before any work is done for it
            if not batch:
                continue
            try:
                results = compute.call(self._compute, batch)
                for request, result in zip(batch, results, strict=True):
                    request.future.set_result(result)
            except Exception as exc:  # a failed batch fails only its own requests
                if not isinstance(exc, AiNotesError):
                    log.exception("batch of %d %s requests failed on %s", len(batch), batch[0].task, self.name)
                    exc = ModelFailedError(f"model {self.name!r} failed on this request ({type(exc).__name__}: "
                                           f"{' '.join(str(exc).split())[:160]}); other requests are unaffected")
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(exc)

    def _next_batch(self) -> list[Request] | None:
        with self._cond:
            while not self._queue:
                if self._closed:
                    return None
                self._cond.wait()
            first = self._queue.popleft()
            batch = [first]
            deadline = time.monotonic() + self.max_wait
            while len(batch) < self.max_batch:
                batch += self._take(first.key, self.max_batch - len(batch))
                remaining = deadline - time.monotonic()
                if len(batch) == self.max_batch or remaining <= 0 or self._closed:
                    break
                self._cond.wait(remaining)
            return batch

    def _take(self, key: Hashable, limit: int) -> list[Request]:
        """Remove up to ``limit`` queued requests with this key, oldest first. The caller holds the lock."""
        taken: list[Request] = []
        kept: collections.deque[Request] = collections.deque()
        for request in self._queue:
            (taken if request.key == key and len(taken) < limit else kept).append(request)
        self._queue = kept
        return taken

    def _compute(self, batch: list[Request]) -> list[Any]:
        """The model's part of a batch: on the compute thread, which every engine shares (see compute.py)."""
        import torch

        with torch.inference_mode():
            features = self._join_late(batch, self._features(batch))
            if batch[0].task not in GRADIENT_TASKS:
                return self._text_side(batch, features)
        # Explanations take gradients through the text side: outside inference mode, from a plain copy of the
        # (cached) vision features. The copy is marked as needing a gradient so that the graph exists even when no
        # weight of the model does (PEFT freezes every base weight when it loads an adapter).
        return self._text_side(batch, features.clone().requires_grad_())

    def _join_late(self, batch: list[Request], features: torch.Tensor) -> torch.Tensor:
        """Let requests that queued while ``batch`` was encoded join it (in place) before its text side runs.

        Encoding is compute-bound and costs about the same per image at any batch size, while one decoding step
        costs about as much for one row as for eight (it is bound by reading the weights), so a request that
        joins here saves a whole decoding pass of its own. Callers that arrive out of step (as concurrent
        agents do) thus still meet in full batches.
        """
        import torch

        while len(batch) < self.max_batch:
            with self._cond:
                late = _started(self._take(batch[0].key, self.max_batch - len(batch)))
            if not late:
                return features
            batch.extend(late)  # before encoding them, so that a failure fails them too
            features = torch.cat([features, self._features(late)])
        return features

    def _features(self, batch: list[Request]) -> torch.Tensor:
        """Features for every request, running the vision side once per distinct uncached image."""
        import torch

        found: dict[str, torch.Tensor] = {}
        missing: dict[str, torch.Tensor] = {}
        for request in batch:
            if request.digest in found or request.digest in missing:
                continue
            cached = request.features if request.features is not None else self.cache.get(request.digest)
            if cached is not None:
                found[request.digest] = cached
            elif request.pixels is not None:
                missing[request.digest] = request.pixels
            else:  # evicted between submit and now, and no pixels: cannot happen, submit pins features
                raise ModelFailedError("internal error: an image's features were lost; retry the call")
        if missing:
            encoded = self.backend.encode(torch.stack(list(missing.values())))
            self.encoded_images += len(missing)
            for digest, value in zip(missing, encoded, strict=True):
                found[digest] = value
                self.cache.put(digest, value)
        return torch.stack([found[r.digest] for r in batch])

    def _text_side(self, batch: list[Request], features: torch.Tensor) -> list[Any]:
        adapters = getattr(self.backend, "adapters", None)
        if adapters is None:
            return self._run_text_side(batch, features)
        with adapters.rows([r.adapter for r in batch]):
            return self._run_text_side(batch, features)

    def _run_text_side(self, batch: list[Request], features: torch.Tensor) -> list[Any]:
        self.batches += 1
        first = batch[0]
        if first.task == "caption":
            ids = self.backend.caption_ids(features, first.options)
            per_image = ids.shape[0] // len(batch)
            return [ids[i * per_image : (i + 1) * per_image].cpu() for i in range(len(batch))]
        if first.task == "vqa":
            ids = self.backend.answer_ids(features, [r.payload for r in batch], first.options)
            return [ids[i : i + 1].cpu() for i in range(len(batch))]
        if first.task == "match":
            return self.backend.match(features, [r.payload for r in batch], first.options)
        if first.task == "embed":
            return list(self.backend.embed_images(features).cpu())
        if first.task == "explain_match":
            return self.backend.explain_match(features, [r.payload for r in batch], first.options)
        if first.task == "explain_caption":
            return self.backend.explain_caption(features, [r.payload for r in batch], first.options)
        raise ModelFailedError(f"internal error: unknown task {first.task!r}")


def _started(requests: list[Request]) -> list[Request]:
    """The requests still wanted, now marked running (so that they can no longer be cancelled)."""
    return [r for r in requests if r.future.set_running_or_notify_cancel()]
