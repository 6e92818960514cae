"""OUT, a Parquet dataset: one row per image and task, written as part files that appear whole or not at all.

Each part is written to a hidden temporary file, flushed to disk, then renamed into place, so a run killed
at any moment (SIGKILL included) leaves complete parts and at most one temporary file, which the next run
deletes. A run starts by reading the keys of the rows already there (``tasks.Key``) and skips them, so no
row is ever written twice. Readers (pyarrow, pandas, DuckDB, Ray Data, Spark) read the folder as one
dataset and ignore hidden files. A lock file keeps a second job from writing to the same OUT at once.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BadInputError
from .tasks import Key

if TYPE_CHECKING:
    import pyarrow as pa

FORMAT = "ai-notes-mcp caption-dataset 2"  # in every part's schema metadata
KEY_COLUMNS = ("path", "sha256", "model", "task", "question", "options", "adapter")
PART_GLOB = "*.parquet"
TEMP_PREFIX = ".tmp-"


def schema() -> pa.Schema:
    import pyarrow as pa

    fields = [
        pa.field("path", pa.string(), nullable=False),  # as the source names the image
        pa.field("sha256", pa.string()),  # of the image's bytes; null when they could not be read
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
        pa.field("model", pa.string(), nullable=False),  # the configured model (an adapter's base model)
        pa.field("adapter", pa.string()),  # the configured LoRA adapter it ran through, or null
        pa.field("task", pa.string(), nullable=False),  # caption, vqa or embed
        pa.field("question", pa.string()),  # vqa only
        pa.field("options", pa.string(), nullable=False),  # the task's options as JSON
        pa.field("captions", pa.list_(pa.string())),  # caption: num_captions of them
        pa.field("answer", pa.string()),  # vqa
        pa.field("embedding", pa.list_(pa.float32())),  # embed: the normalised ITC image embedding
        pa.field("error", pa.string()),  # the one-line reason when this image could not be done
        pa.field("time", pa.timestamp("ms", tz="UTC"), nullable=False),  # when the row was made
    ]
    return pa.schema(fields, metadata={"format": FORMAT})


def to_table(rows: list[dict[str, Any]]) -> pa.Table:
    import pyarrow as pa

    return pa.Table.from_pylist(rows, schema=schema())


def write_part(folder: Path, table: pa.Table, name: str) -> Path:
    """Write one part atomically: a temporary file, flushed to disk, renamed to ``name``."""
    import pyarrow.parquet as pq

    final = folder / name
    temp = folder / f"{TEMP_PREFIX}{name}"
    pq.write_table(table, temp, compression="zstd")
    fd = os.open(temp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, final)
    _sync_folder(folder)
    return final


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (where the platform allows opening a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def part_namer() -> Any:
    """Names for this writer's parts: sortable by time, unique across runs, processes and machines."""
    stamp, token = time.strftime("%Y%m%dT%H%M%S", time.gmtime()), uuid.uuid4().hex[:8]
    counter = iter(range(1, 10**9))
    return lambda: f"part-{stamp}-{token}-{next(counter):06d}.parquet"


class Output:
    """The OUT folder of one job."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.text = str(path)
        self.path = Path(os.path.expanduser(path)).absolute()
        self._lock_fd: int | None = None
        self.parts_written = 0
        self._name = part_namer()

    def check(self) -> None:
        """Refuse, creating nothing, an OUT that cannot be a dataset folder we may write."""
        where = self.path
        if where.exists() and not where.is_dir():
            raise BadInputError(f"--out {self.text!r} is a file, not a folder; pass a folder for the Parquet dataset")
        while not where.exists():  # the nearest existing folder must let us create the rest
            where = where.parent
        if not where.is_dir():
            raise BadInputError(f"--out {self.text!r}: {str(where)!r} is a file, not a folder; pass another path")
        if not os.access(where, os.W_OK | os.X_OK):
            raise BadInputError(f"--out {self.text!r}: cannot write in {str(where)!r} (permission denied); "
                                "pass a folder you can write to")

    def open(self) -> None:
        """Create OUT, take its lock, and delete what a killed run left half-written."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BadInputError(f"--out {self.text!r}: cannot create it ({exc.strerror}); pass another path") from exc
        self._lock()
        for temp in self.path.glob(f"{TEMP_PREFIX}*"):
            temp.unlink(missing_ok=True)

    def _lock(self) -> None:
        import fcntl

        fd = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            raise BadInputError(f"--out {self.text!r}: another caption-dataset job is writing there; wait for it to "
                                "finish, or pass another folder") from exc
        self._lock_fd = fd  # released when the process ends, however it ends

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def parts(self) -> list[Path]:
        return sorted(p for p in self.path.glob(PART_GLOB) if not p.name.startswith((".", "_")))

    def done(self) -> dict[Key, str | None]:
        """The keys of the rows OUT holds, each with its first caption (for sidecars), or None."""
        import pyarrow.parquet as pq

        done: dict[Key, str | None] = {}
        for part in self.parts():
            try:
                metadata = pq.read_schema(part).metadata or {}
                if metadata.get(b"format") != FORMAT.encode():
                    raise BadInputError(f"--out {self.text!r} holds {part.name!r}, which caption-dataset did not "
                                        "write; pass another folder")
                table = pq.read_table(part, columns=[*KEY_COLUMNS, "captions"])
            except (OSError, ValueError) as exc:
                raise BadInputError(f"--out {self.text!r}: {part.name!r} is not a readable Parquet file; move it away "
                                    "and run again") from exc
            columns = [table.column(c).to_pylist() for c in KEY_COLUMNS]
            for *key, captions in zip(*columns, table.column("captions").to_pylist(), strict=True):
                key = (key[0], key[1] or "", key[2], key[3], key[4] or "", key[5], key[6] or "")
                done[key] = captions[0] if captions else None
        return done

    def write(self, rows: list[dict[str, Any]]) -> Path:
        path = write_part(self.path, to_table(rows), self._name())
        self.parts_written += 1
        return path
