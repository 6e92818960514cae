"""SRC -> the images a dataset job does, each named by the path the output will record.

    a folder      every image file below it (recursive; hidden files and folders skipped), paths relative to it
    a glob        the image files it matches (``**`` recurses), paths as the glob gives them
    a text file   one path per line (blank lines and # comments skipped), relative to the file's folder
    .parquet      a column of paths, URLs or image bytes (a Hugging Face ``Image`` column too);
    .jsonl        the same in JSON lines; relative paths are read from the table's folder

A folder or glob takes files by their extension, so the sidecar captions beside the images are never read
as images; a file listed by name is always tried, and one that is not an image becomes an error row.
"""

from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BadInputError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff")
IMAGE_COLUMNS = ("image", "image_path", "path", "file_name", "filename", "file")
TABLE_SUFFIXES = (".parquet", ".jsonl", ".ndjson")
_REFS = ("http://", "https://", "data:", "file:")  # table values passed to the image reader as they are


@dataclass(frozen=True)
class Item:
    """One image to do. ``path`` names it in the output; ``ref`` (a file, URL or data URI) or ``data`` (bytes
    held in a table) is what is read; ``problem`` is why a table row has no usable image."""

    path: str
    ref: str | None = None
    data: bytes | None = field(default=None, repr=False)
    problem: str | None = None

    @property
    def local_file(self) -> Path | None:
        """The image's file on this machine, where a sidecar can go beside it."""
        if self.ref is None or self.ref.startswith(_REFS):
            return None
        return Path(self.ref)


@dataclass(frozen=True)
class Source:
    text: str
    kind: str  # folder, glob, list, parquet or jsonl
    items: list[Item]


def read_source(src: str, *, image_column: str | None = None, exclude: Path | None = None) -> Source:
    """List SRC's images; one line (and no work done) when SRC is missing, unreadable or holds none."""
    path = Path(os.path.expanduser(src))
    if path.is_dir():
        kind, items = "folder", _folder(path, exclude)
    elif glob.has_magic(src):
        kind, items = "glob", _glob(src, exclude)
    elif path.is_file() and path.suffix.lower() in TABLE_SUFFIXES:
        kind = "parquet" if path.suffix.lower() == ".parquet" else "jsonl"
        items = _table(path, kind, image_column)
    elif path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
        kind, items = "list", [Item(src, str(path.resolve()))]
    elif path.is_file():
        kind, items = "list", _list(path)
    else:
        raise BadInputError(f"source {src[:80]!r} does not exist; pass a folder, a glob, a text file of paths, "
                            "or a Parquet / JSONL file with an image column")
    if not items:
        raise BadInputError(f"source {src[:80]!r} holds no images (looked for {', '.join(IMAGE_SUFFIXES)}); "
                            "check the path")
    return Source(src, kind, items)


def _is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES) and not name.startswith(".")


def _folder(root: Path, exclude: Path | None) -> list[Item]:
    root = root.resolve()
    skip = exclude.resolve() if exclude is not None else None
    items = []
    for folder, dirs, files in os.walk(root, onerror=_unreadable):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and here / d != skip)
        for name in sorted(f for f in files if _is_image_name(f)):
            file = here / name
            items.append(Item(file.relative_to(root).as_posix(), str(file)))
    return items


def _unreadable(exc: OSError) -> None:
    raise BadInputError(f"cannot list {exc.filename!r} ({exc.strerror}); check its permissions") from exc


def _glob(pattern: str, exclude: Path | None) -> list[Item]:
    skip = exclude.resolve() if exclude is not None else None
    items = []
    for match in sorted(glob.glob(os.path.expanduser(pattern), recursive=True)):
        file = Path(match).resolve()
        if _is_image_name(file.name) and file.is_file() and (skip is None or not file.is_relative_to(skip)):
            items.append(Item(match, str(file)))
    return items


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"cannot read source {str(path)[:80]!r} as UTF-8 text ({exc}); pass a folder, a glob, "
                            "a text file of paths, or a Parquet / JSONL file") from exc


def _list(path: Path) -> list[Item]:
    base = path.resolve().parent
    items = []
    for line in _read_text(path).splitlines():
        entry = line.strip()
        if entry and not entry.startswith("#"):
            items.append(_path_item(entry, base))
    return items


def _path_item(entry: str, base: Path, *, name: str | None = None) -> Item:
    if entry.startswith(_REFS):
        return Item(name or entry[:200], entry)
    return Item(name or entry, str((base / os.path.expanduser(entry)).resolve()))


def _table(path: Path, kind: str, image_column: str | None) -> list[Item]:
    rows, columns = _parquet(path, image_column) if kind == "parquet" else _jsonl(path)
    column = image_column or next((c for c in IMAGE_COLUMNS if c in columns), None)
    if column is None or column not in columns:
        wanted = f"column {image_column!r}" if image_column else f"image column (none of {', '.join(IMAGE_COLUMNS)})"
        raise BadInputError(f"source {path.name!r} has no {wanted}; its columns are {', '.join(columns)[:200]}; "
                            "name the right one with --image-column")
    base = path.resolve().parent
    return [_cell(row.get(column) if row is not None else None, index, path.name, base)
            for index, row in enumerate(rows)]


def _cell(value, index: int, table: str, base: Path) -> Item:
    """One table cell -> an item: a path or URL, image bytes, or a Hugging Face ``Image`` struct."""
    here = f"{table}#{index}"
    if isinstance(value, dict):  # datasets' Image feature: {"bytes": ..., "path": ...}
        if value.get("bytes"):
            return Item(str(value.get("path") or here), data=bytes(value["bytes"]))
        value = value.get("path")
    if isinstance(value, bytes | bytearray) and value:
        return Item(here, data=bytes(value))
    if isinstance(value, str) and value.strip():
        return _path_item(value.strip(), base)
    return Item(here, problem=f"row {index} of {table} has no image (its image column is empty or not a path)")


def _parquet(path: Path, image_column: str | None) -> tuple[list[dict | None], list[str]]:
    import pyarrow.parquet as pq

    try:
        columns = pq.read_schema(path).names
        wanted = image_column or next((c for c in IMAGE_COLUMNS if c in columns), None)
        table = pq.read_table(path, columns=[wanted]) if wanted in columns else None
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise BadInputError(f"cannot read source {path.name!r} as Parquet ({' '.join(str(exc).split())[:120]}); "
                            "check the file") from exc
    return (table.to_pylist() if table is not None else []), columns


def _jsonl(path: Path) -> tuple[list[dict | None], list[str]]:
    rows: list[dict | None] = []
    columns: dict[str, None] = {}
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise BadInputError(f"source {path.name!r} line {number} is not valid JSON ({exc.msg}); fix that "
                                "line") from exc
        if isinstance(row, dict):
            columns.update(dict.fromkeys(row))
        rows.append(row if isinstance(row, dict) else None)
    return rows, list(columns)
