"""Walking a folder for the index: image files only, in a stable order, never leaving the folder.

Symbolic links are followed only when they resolve inside the folder being indexed (so a link cannot pull in
``/etc`` or another user's files); directories are walked without following links at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"})


@dataclass(frozen=True)
class Found:
    path: str  # absolute, as indexed (the link's own path when a link points inside the folder)
    size: int
    mtime_ns: int


def walk(folder: Path, recursive: bool = True) -> Iterator[Found]:
    """Every image file under ``folder`` (resolved), sorted by path; unreadable entries are skipped."""
    root = folder.resolve()
    for directory, subdirs, files in os.walk(root, followlinks=False):
        subdirs.sort()
        if not recursive:
            subdirs.clear()
        for name in sorted(files):
            if Path(name).suffix.lower() not in IMAGE_SUFFIXES:
                continue
            path = Path(directory) / name
            try:
                if path.is_symlink() and not path.resolve().is_relative_to(root):
                    continue
                info = path.stat()
            except (OSError, RuntimeError):  # a dangling or looping link, a file gone since listing
                continue
            if path.is_file():
                yield Found(str(path), info.st_size, info.st_mtime_ns)
