"""The dataset job: check everything that can stop it, then caption, here or on Ray, into OUT.

Order matters for the user: the tasks and options, then OUT, then SRC, then the models, each refused in one
line before any image is read; then OUT's existing rows are read, and only the rest is done. Locally, rows
are written as a part every ``part_rows`` rows or ``flush_s`` seconds, whichever comes first, and once more
when the job ends or is interrupted (Ctrl-C keeps what is done).
"""

from __future__ import annotations

import time
from typing import TextIO

from ..config import Settings
from ..errors import BadInputError, ServerError
from .options import DatasetJob, JobOptions
from .output import Output
from .pipeline import Captioner
from .progress import Progress
from .results import DatasetSummary, Tally
from .sources import Source, read_source
from .tasks import check_models

RAY_INSTALL = "pip install 'ai-notes-mcp[ray]' (in a checkout: pip install -e '.[ray]')"
PYARROW_INSTALL = "pip install 'ai-notes-mcp[datasets]' (in a checkout: pip install -e '.[datasets]')"


def caption_dataset(settings: Settings, request: DatasetJob, *, stream: TextIO | None = None) -> DatasetSummary:
    """Run the job to the end and summarise it; a bad OUT, SRC or model stops it in one line, before any work."""
    try:
        import pyarrow.parquet  # noqa: F401 - the output's format: checked before anything else
    except ImportError as exc:
        raise ServerError(f"caption-dataset writes Parquet with pyarrow, which is not installed: {PYARROW_INSTALL}"
                          ) from exc
    if request.sidecars.sidecars and not any(spec.kind == "caption" for spec in request.specs):
        raise BadInputError("--sidecars writes captions beside the images; add caption to --tasks")
    output = Output(request.out)
    output.check()
    source = read_source(request.source, image_column=request.job.image_column, exclude=output.path)
    start = time.monotonic()
    if request.ray is not None:
        on_ray = _import_on_ray()  # Ray missing: one line saying how to install it
        check_models(settings, request.specs)  # the actors load the models; their checkpoints are checked here
        on_ray.connect(request.ray_address)
        output.open()
        try:
            # Ray starts the actors and loads their models inside the pipeline: its rate includes them.
            tally, parts = on_ray.run(settings, request, source, output, output.done())
        finally:
            output.close()
        return _summary(request, source, output, "ray", tally, parts, start, start)
    captioner = Captioner(settings, request.specs, request.job, request.sidecars)
    try:
        captioner.load()
        loaded = time.monotonic()
        output.open()
        try:
            tally = _run_local(captioner, source, output, request.job, stream)
        finally:
            output.close()
    finally:
        captioner.close()
    return _summary(request, source, output, "local", tally, output.parts_written, start, loaded)


def _import_on_ray():
    try:
        from . import on_ray
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] != "ray":
            raise
        raise ServerError(f"--ray needs Ray, which is not installed: {RAY_INSTALL}") from exc
    return on_ray


def _run_local(captioner: Captioner, source: Source, output: Output, job: JobOptions,
               stream: TextIO | None) -> Tally:
    tally = Tally()
    progress = Progress(len(source.items), stream)
    rows: list[dict] = []
    flushed = time.monotonic()
    outcomes = captioner.run(source.items, output.done())
    try:
        for outcome in outcomes:
            rows += outcome.rows
            before = (tally.done, tally.skipped, tally.failed)
            tally.add(outcome)
            progress.update(done=tally.done - before[0], skipped=tally.skipped - before[1],
                            failed=tally.failed - before[2])
            if len(rows) >= job.part_rows or (rows and time.monotonic() - flushed >= job.flush_s):
                output.write(rows)
                rows, flushed = [], time.monotonic()
    finally:
        outcomes.close()  # stops the readers when the loop ends early (Ctrl-C, a bug)
        if rows:  # complete rows are kept whatever stopped the loop
            output.write(rows)
        progress.close()
    return tally


def _summary(request: DatasetJob, source: Source, output: Output, mode: str, tally: Tally, parts: int,
             start: float, loaded: float) -> DatasetSummary:
    sidecars = request.sidecars.sidecars and mode == "local"
    end = time.monotonic()
    return DatasetSummary(
        source=request.source, out=str(output.path), mode=mode,
        tasks=[f"{spec.label} ({spec.name})" for spec in request.specs],
        images=len(source.items), done=tally.done, skipped=tally.skipped, failed=tally.failed,
        failures=tally.failures, rows_written=tally.rows, parts_written=parts,
        sidecars_written=tally.sidecars["written"] if sidecars else None,
        sidecars_kept=tally.sidecars["kept"] if sidecars else None,
        sidecars_failed=tally.sidecars["failed"] if sidecars else None,
        elapsed_s=round(end - start, 3),
        images_per_s=round((tally.done + tally.failed) / (end - loaded), 3),
    )
