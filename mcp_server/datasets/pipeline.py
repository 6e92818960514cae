"""The Captioner: a dataset's images through the server's engines, one outcome per image.

    reader threads        read the bytes, hash them, skip what the output holds, decode, preprocess,
                          and queue one request per task on the model's engine
    the engines           batch the requests and run them on the one compute thread (vision/engine.py)
    the caller's thread   turns finished requests into rows (and sidecars), in the order they finish

At most ``prefetch`` images are between reading and their rows at any time, so memory stays bounded and
the engines always find a full batch waiting while the previous one runs. A bad image is an error row,
never a stopped job. The local job and each Ray actor run this same class.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..config import Settings
from ..errors import AiNotesError, BadInputError, ImageError
from ..images import LoadedImage, decode_image, read_image_bytes
from ..vision.service import VisionService
from .options import JobOptions, SidecarOptions
from .sidecars import Written, write_sidecar
from .sources import Item
from .tasks import Key, TaskSpec


@dataclass
class Outcome:
    """What became of one image: its new rows, or that the output held them all already."""

    item: Item
    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: bool = False
    error: str | None = None  # the image's one-line error (its rows carry it)
    retry: bool = False  # a task failed for a reason not the image's: no row written, a rerun tries again
    sidecar: Written | None = None


@dataclass
class _Pending:
    item: Item
    image: LoadedImage | None
    sha256: str | None
    specs: list[TaskSpec]
    futures: list[Future] = field(default_factory=list)  # one per spec; a refused one holds its error


def job_settings(settings: Settings, job: JobOptions, tasks: int) -> Settings:
    """The settings a job's engines run with: its batch size, and a queue that holds everything it prefetches."""
    batch = job.batch_size or settings.batching.max_batch
    queue_size = max(settings.batching.max_queue, prefetch(settings, job) * tasks)
    batching = settings.batching.model_copy(update={"max_batch": batch, "max_queue": queue_size})
    return settings.model_copy(update={"batching": batching})


def prefetch(settings: Settings, job: JobOptions) -> int:
    return job.prefetch or 4 * (job.batch_size or settings.batching.max_batch)


class Captioner:
    def __init__(self, settings: Settings, specs: list[TaskSpec], job: JobOptions,
                 sidecars: SidecarOptions | None = None) -> None:
        self.settings = job_settings(settings, job, len(specs))
        self.specs = specs
        self.readers = job.readers
        self.prefetch = prefetch(settings, job)
        self.sidecars = sidecars if sidecars is not None and sidecars.sidecars else None
        self.service = VisionService(self.settings)
        self._caption = next((i for i, s in enumerate(specs) if s.kind == "caption"), None)

    def load(self) -> None:
        """Load every model now: a missing or broken one stops the job here, before any image is read."""
        for name in dict.fromkeys(s.model for s in self.specs):
            self.service.engine(name)

    def close(self) -> None:
        self.service.close()

    # -- the pipeline -------------------------------------------------------------------------

    def run(self, items: list[Item], done: Mapping[Key, str | None]) -> Iterator[Outcome]:
        """Every item's outcome, in the order they finish. Closing the iterator early stops the readers."""
        self.load()
        window = threading.Semaphore(self.prefetch)
        finished: queue.SimpleQueue[_Pending | Outcome] = queue.SimpleQueue()
        stop = threading.Event()

        def start(item: Item) -> None:  # in a reader thread
            try:
                prepared = self._prepare(item, done)
            except BaseException as exc:  # noqa: BLE001 - a bug here is this image's failure (a rerun retries it), never a hang
                finished.put(Outcome(item, error=f"internal error: {type(exc).__name__}: {exc}", retry=True))
                return
            if isinstance(prepared, Outcome) or not prepared.futures:
                finished.put(prepared)
                return
            left = [len(prepared.futures)]
            lock = threading.Lock()

            def one_done(_: Future) -> None:
                with lock:
                    left[0] -= 1
                    last = left[0] == 0
                if last:
                    finished.put(prepared)

            for future in prepared.futures:
                future.add_done_callback(one_done)

        def feed(pool: ThreadPoolExecutor) -> None:
            for item in items:
                window.acquire()
                if stop.is_set():
                    return
                try:
                    pool.submit(start, item)
                except RuntimeError:  # the pool was shut down between the check and here: the run is over
                    return

        pool = ThreadPoolExecutor(self.readers, thread_name_prefix="dataset-reader")
        feeder = threading.Thread(target=feed, args=(pool,), name="dataset-feeder", daemon=True)
        feeder.start()
        try:
            for _ in range(len(items)):
                outcome = self._finish(finished.get())
                window.release()
                yield outcome
        finally:
            stop.set()
            window.release()  # wake the feeder if it waits, so that it sees the stop
            pool.shutdown(wait=True, cancel_futures=True)
            feeder.join()

    def _prepare(self, item: Item, done: Mapping[Key, str | None]) -> _Pending | Outcome:
        """Read, hash, skip, decode, preprocess and queue one image (in a reader thread)."""
        if item.problem is not None:
            return self._failed(item, None, self._todo(item, None, done), item.problem)
        try:
            if item.data is not None:
                data = item.data
            else:
                data, _ = read_image_bytes(item.ref or "", self.settings.images)
        except ImageError as exc:
            return self._failed(item, None, self._todo(item, None, done), str(exc))
        sha256 = hashlib.sha256(data).hexdigest()
        todo = self._todo(item, sha256, done)
        if not todo:
            caption = done.get(self._caption_key(item, sha256)) if self._caption is not None else None
            return Outcome(item, skipped=True, sidecar=self._sidecar(item, caption))
        try:
            image = decode_image(data, _label(item), self.settings.images)
        except ImageError as exc:
            return self._failed(item, sha256, todo, str(exc))
        pending = _Pending(item, image, sha256, todo)
        pixels: dict[str, Any] = {}
        for spec in todo:
            try:
                pending.futures.append(self._submit(spec, image, pixels))
            except AiNotesError as exc:
                failed: Future = Future()
                failed.set_exception(exc)
                pending.futures.append(failed)
        return pending

    def _submit(self, spec: TaskSpec, image: LoadedImage, pixels: dict[str, Any]) -> Future:
        from ..vision.engine import Request

        engine = self.service.engine(spec.model)
        features = engine.cache.get(image.sha256)
        if features is None and spec.model not in pixels:
            try:
                pixels[spec.model] = engine.backend.preprocess(image.image)
            except Exception as exc:  # noqa: BLE001 - an image the processor cannot take is that image's error
                raise ImageError(f"image {_label_text(image.label)}: the model's processor refused it "
                                 f"({type(exc).__name__}); pass a regular photo or picture") from exc
        request = Request(spec.engine_task, spec.engine_options, image.sha256,
                          pixels=None if features is not None else pixels[spec.model], features=features,
                          payload=spec.question, adapter=spec.adapter)
        return engine.submit(request)

    def _todo(self, item: Item, sha256: str | None, done: Mapping[Key, str | None]) -> list[TaskSpec]:
        return [spec for spec in self.specs if spec.key(item.path, sha256) not in done]

    def _caption_key(self, item: Item, sha256: str | None) -> Key:
        return self.specs[self._caption].key(item.path, sha256)

    # -- rows -----------------------------------------------------------------------------------

    def _finish(self, prepared: _Pending | Outcome) -> Outcome:
        """Rows from a finished image (in the caller's thread, which also decodes the token ids)."""
        if isinstance(prepared, Outcome):
            return prepared
        outcome = Outcome(prepared.item)
        for spec, future in zip(prepared.specs, prepared.futures, strict=True):
            try:
                values = self._values(spec, future.result())
            except BadInputError as exc:
                values = {"error": str(exc)}
            except AiNotesError as exc:  # busy, timed out, the model failed: not the image's fault
                outcome.retry = True
                outcome.error = outcome.error or str(exc)
                continue
            outcome.error = outcome.error or values.get("error")
            outcome.rows.append(self._row(prepared.item, prepared.sha256, prepared.image, spec, **values))
        caption = next((r["captions"][0] for r in outcome.rows if r["task"] == "caption" and r["captions"]), None)
        outcome.sidecar = self._sidecar(prepared.item, caption)
        return outcome

    def _values(self, spec: TaskSpec, raw: Any) -> dict[str, Any]:
        backend = self.service.engine(spec.model).backend
        if spec.kind == "caption":
            return {"captions": backend.decode(raw, spec.options.prompt)}
        if spec.kind == "vqa":
            return {"answer": backend.decode(raw)[0]}
        return {"embedding": raw.reshape(-1).tolist()}  # BLIP: one (1, D) vector per image

    def _failed(self, item: Item, sha256: str | None, todo: list[TaskSpec], error: str) -> Outcome:
        rows = [self._row(item, sha256, None, spec, error=error) for spec in todo]
        return Outcome(item, rows=rows, skipped=not rows, error=error if rows else None)

    @staticmethod
    def _row(item: Item, sha256: str | None, image: LoadedImage | None, spec: TaskSpec, **values: Any) -> dict:
        return {
            "path": item.path, "sha256": sha256,
            "width": image.width if image is not None else None, "height": image.height if image is not None else None,
            "model": spec.model, "adapter": spec.adapter, "task": spec.kind, "question": spec.question,
            "options": spec.options_json,
            "captions": None, "answer": None, "embedding": None, "error": None,
            "time": datetime.now(UTC), **values,
        }

    def _sidecar(self, item: Item, caption: str | None) -> Written | None:
        if self.sidecars is None or caption is None or item.local_file is None:
            return None
        return write_sidecar(item.local_file, caption, self.sidecars)


def _label(item: Item) -> str:
    return _label_text(item.path.rsplit("/", 1)[-1])


def _label_text(text: str) -> str:
    return text if len(text) <= 60 else f"{text[:28]}...{text[-28:]}"
