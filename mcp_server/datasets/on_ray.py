"""The dataset job on Ray Data: the same Captioner in an actor pool, the same part files through a Ray Data sink.

    from_items(SRC's images) -> map_batches(EngineActor, actor pool) -> write_datasink(PartsSink)

Each actor builds its engines once (one actor per GPU, or per ``cpus_per_actor`` CPUs) and runs the local
pipeline on each batch it is given, so reading, decoding and preprocessing overlap with the model inside
the actor as they do locally, and a bad image is an error row here too. The sink writes each block as a
part file, atomically, with the local job's schema; the driver has read OUT's keys already and every actor
skips them. On a cluster, SRC's files and OUT must be on a filesystem every node sees, the package must be
installed on every node, and each node needs the checkpoints (its Hugging Face cache or a shared path).

Ray is an optional extra: this module imports it, and is imported only for ``--ray``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import ray
import ray.data
from ray.data import Datasink
from ray.data.block import BlockAccessor

from ..config import Settings
from ..errors import ModelFailedError, ServerError
from .output import part_namer, schema, to_table, write_part
from .pipeline import Captioner, prefetch
from .results import Tally
from .sources import Item, Source
from .tasks import Key

if TYPE_CHECKING:
    from pathlib import Path

    from .options import DatasetJob
    from .output import Output


def connect(address: str | None) -> None:
    """Join the cluster at ``address`` (``auto``: the running one), else RAY_ADDRESS's, else start one here."""
    if ray.is_initialized():
        return
    try:
        ray.init(address=address or None, logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ServerError(f"cannot start or reach Ray at {address or 'a local instance'} "
                          f"({' '.join(str(exc).split())[:160]}); check --ray ADDRESS") from exc


def run(settings: Settings, request: DatasetJob, source: Source, output: Output,
        done: dict[Key, str | None]) -> tuple[Tally, int]:
    options = request.ray
    resources = ray.cluster_resources()
    gpus = options.gpus_per_actor if options.gpus_per_actor is not None else (1 if resources.get("GPU", 0) else 0)
    actors = options.actors or int(resources.get("GPU", 0) // gpus if gpus else
                                   resources.get("CPU", 1) // options.cpus_per_actor) or 1
    rows = [{"path": i.path, "ref": i.ref, "data": i.data, "problem": i.problem} for i in source.items]
    sink = PartsSink(output.path, request.job.part_rows)
    dataset = ray.data.from_items(rows).map_batches(
        EngineActor, batch_size=prefetch(settings, request.job), batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=options.cpus_per_actor, num_gpus=gpus,
        fn_constructor_kwargs={"settings": settings, "specs": request.specs, "job": request.job,
                               "sidecars": request.sidecars, "done": done})
    try:
        # Writing is light and must never wait behind the actors, which may hold every CPU.
        dataset.write_datasink(sink, ray_remote_args={"num_cpus": 0})
    except Exception as exc:  # an actor lost, a node gone: what was written stays; a rerun continues
        raise ModelFailedError(f"the Ray job failed ({type(exc).__name__}: {' '.join(str(exc).split())[:200]}); "
                               "the parts written are kept: run the same command again to continue") from exc
    return sink.tally(len(source.items)), sink.parts


class EngineActor:
    """One engine per actor, built once; each call runs the local pipeline over a batch of images."""

    def __init__(self, settings: Settings, specs, job, sidecars, done: dict[Key, str | None]) -> None:
        self.captioner = Captioner(settings, specs, job, sidecars)
        self.captioner.load()
        self.done = done

    def __call__(self, batch: pa.Table) -> pa.Table:
        items = [Item(**row) for row in batch.to_pylist()]
        return to_table([row for outcome in self.captioner.run(items, self.done) for row in outcome.rows])


class PartsSink(Datasink):
    """Ray Data's write step: each write task's blocks become one part file, written as the local job writes."""

    def __init__(self, folder: Path, part_rows: int) -> None:
        self.folder = folder
        self.part_rows = part_rows
        self.returns: list[dict[str, Any]] = []
        self.parts = 0

    @property
    def min_rows_per_write(self) -> int:
        return self.part_rows

    def write(self, blocks, ctx) -> dict[str, Any]:
        tables = [BlockAccessor.for_block(block).to_arrow() for block in blocks]
        tables = [t.select(schema().names).cast(schema()) for t in tables if t.num_rows]
        if not tables:
            return {"parts": 0, "ok": [], "failed": {}}
        table = pa.concat_tables(tables)
        write_part(self.folder, table, part_namer()())
        paths, errors = table.column("path").to_pylist(), table.column("error").to_pylist()
        pairs = list(zip(paths, errors, strict=True))
        return {"parts": 1, "rows": table.num_rows, "ok": sorted({p for p, e in pairs if e is None}),
                "failed": {p: e for p, e in pairs if e is not None}}

    def on_write_complete(self, write_result) -> None:
        self.returns = list(write_result.write_returns)
        self.parts = sum(r["parts"] for r in self.returns)

    def tally(self, images: int) -> Tally:
        tally = Tally()
        failed: dict[str, str] = {}
        ok: set[str] = set()
        for result in self.returns:
            failed.update(result["failed"])
            ok.update(result["ok"])
            tally.rows += result.get("rows", 0)
        for path, error in failed.items():
            tally.fail(path, error)
        tally.done = len(ok - failed.keys())
        tally.skipped = images - tally.done - tally.failed
        return tally

