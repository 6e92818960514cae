"""The dataset job's options and their bounds: the CLI's flags and help derive from these models.

The captioning and answering options themselves are the tools' (``vision/options.py``), so a dataset's
captions are made exactly as ``caption_image`` makes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import Field, model_validator

from ..vision.options import Options
from .tasks import TaskSpec


class JobOptions(Options):
    batch_size: int | None = Field(None, ge=1, le=256, description=(
        "Images per model batch; default: the batching.max_batch setting."))
    part_rows: int = Field(256, ge=1, le=1_000_000, description="Rows per Parquet part file written to OUT.")
    flush_s: float = Field(30.0, gt=0, le=3600, description=(
        "Write the rows made so far at least this often, in seconds: the most work a killed run loses."))
    readers: int = Field(2, ge=1, le=64, description="Threads that read, decode and preprocess images.")
    prefetch: int | None = Field(None, ge=1, le=4096, description=(
        "Images read ahead of the model, queued or in a batch; default: four batches."))
    image_column: str | None = Field(None, min_length=1, max_length=200, description=(
        "For a Parquet or JSONL source: the column of image paths or bytes; default: the first of image, "
        "image_path, path, file_name, filename, file."))


class SidecarOptions(Options):
    sidecars: bool = Field(False, description=(
        "Also write each image's caption to a text file beside it (IMAGE.txt), as training tools read them."))
    sidecar_ext: str = Field(".txt", pattern=r"^\.[A-Za-z0-9_-][A-Za-z0-9_.-]{0,19}$", description=(
        "The sidecar files' extension, e.g. .txt or .caption."))
    prefix: str = Field("", max_length=500, description="Text written before each sidecar caption.")
    suffix: str = Field("", max_length=500, description="Text written after each sidecar caption.")
    overwrite_sidecars: bool = Field(False, description="Replace sidecar files that already exist (kept otherwise).")

    @model_validator(mode="after")
    def _only_with_sidecars(self) -> SidecarOptions:
        if not self.sidecars and (self.prefix or self.suffix or self.overwrite_sidecars or self.sidecar_ext != ".txt"):
            raise ValueError("--prefix, --suffix, --sidecar-ext and --overwrite-sidecars apply to sidecar files; "
                             "add --sidecars")
        return self


class RayOptions(Options):
    actors: int | None = Field(None, ge=1, le=10_000, description=(
        "Engines in the Ray actor pool; default: one per GPU, else one per --cpus-per-actor CPUs."))
    cpus_per_actor: float = Field(1.0, gt=0, le=1024, description=(
        "CPUs each engine actor reserves; its torch threads."))
    gpus_per_actor: float | None = Field(None, ge=0, le=16, description=(
        "GPUs each engine actor reserves; default: 1 when the cluster has GPUs, else 0."))


@dataclass(frozen=True)
class DatasetJob:
    source: str
    out: str
    specs: list[TaskSpec]
    job: JobOptions = field(default_factory=JobOptions)
    sidecars: SidecarOptions = field(default_factory=SidecarOptions)
    ray: RayOptions | None = None  # None: on this machine
    ray_address: str | None = None  # None: a local Ray instance, or the one RAY_ADDRESS names
