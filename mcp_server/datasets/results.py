"""The dataset job's summary (what ``caption-dataset --json`` prints), and the tally it is made from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from .pipeline import Outcome

MAX_FAILURES = 100  # listed in the summary; every failure is in the output's error column


class Failure(BaseModel):
    path: str
    error: str = Field(description="The one-line reason.")
    retry: bool = Field(False, description="True when nothing was written for it (not the image's fault): a rerun "
                                           "tries it again. Otherwise its rows carry the error.")


class DatasetSummary(BaseModel):
    source: str
    out: str
    mode: Literal["local", "ray"]
    tasks: list[str] = Field(description="caption, vqa:QUESTION or embed, each with its model.")
    images: int = Field(description="Images the source lists.")
    done: int = Field(description="Images whose rows this run wrote.")
    skipped: int = Field(description="Images whose rows the output already held, for these tasks and options.")
    failed: int = Field(description="Images that could not be done (error rows, or left for a rerun).")
    failures: list[Failure] = Field(description=f"The first {MAX_FAILURES} failures.")
    rows_written: int
    parts_written: int
    sidecars_written: int | None = None
    sidecars_kept: int | None = Field(None, description="Sidecars left as they were (they existed already).")
    sidecars_failed: int | None = None
    elapsed_s: float = Field(description="The whole run, loading the models (or starting Ray) included.")
    images_per_s: float = Field(description="Images done or failed per second once the models were loaded.")


@dataclass
class Tally:
    """What a run did, image by image, for the summary."""

    done: int = 0
    skipped: int = 0
    failed: int = 0
    failures: list[Failure] = field(default_factory=list)
    rows: int = 0
    sidecars: dict[str, int] = field(default_factory=lambda: {"written": 0, "kept": 0, "failed": 0})

    def add(self, outcome: Outcome) -> None:
        self.rows += len(outcome.rows)
        if outcome.sidecar is not None:
            self.sidecars[outcome.sidecar] += 1
        if outcome.skipped:
            self.skipped += 1
        elif outcome.error is not None or outcome.retry:
            self.fail(outcome.item.path, outcome.error or "failed", retry=outcome.retry)
        else:
            self.done += 1

    def fail(self, path: str, error: str, *, retry: bool = False) -> None:
        self.failed += 1
        if len(self.failures) < MAX_FAILURES:
            self.failures.append(Failure(path=path, error=error, retry=retry))
