"""The index file: one SQLite database per configured location, created private to the user.

WAL mode lets searches read while one writer (a threading lock here, SQLite's own lock across processes)
adds a batch; each batch is one transaction. Embeddings are float32 blobs of (queries, dim): one row vector
for BLIP, one per Q-Former query for BLIP-2.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ServerError

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    path TEXT PRIMARY KEY,
    folder TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    model TEXT NOT NULL,
    queries INTEGER NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,
    caption TEXT,
    indexed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS images_sha256 ON images (sha256);
CREATE INDEX IF NOT EXISTS images_folder ON images (folder);
CREATE VIRTUAL TABLE IF NOT EXISTS captions USING fts5(path UNINDEXED, caption, tokenize='porter unicode61');
"""


@dataclass(frozen=True)
class Row:
    path: str
    size: int
    mtime_ns: int
    sha256: str
    width: int
    height: int
    model: str
    vector: np.ndarray  # (queries, dim) float32
    caption: str | None = None


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()  # one writer in this process; SQLite locks across processes
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():  # private to the user; SQLite gives its -wal and -shm files the same mode
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)
            version = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise ServerError(f"the image index {str(path)!r} cannot be opened ({exc}); move it aside or set "
                              "index.path to a new file") from exc
        if version is None:
            self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(version[0]) != SCHEMA_VERSION:
            raise ServerError(f"the image index {str(path)!r} has schema {version[0]}, this version reads "
                              f"{SCHEMA_VERSION}; set index.path to a new file and index again")
        self.generation = 0  # bumped on every write here; readers compare it with their cache

    def close(self) -> None:
        self._db.close()

    def rows_under(self, folder: str) -> dict[str, tuple[int, int, str]]:
        """path -> (size, mtime_ns, sha256) of every indexed file under ``folder``."""
        prefix = folder.rstrip(os.sep) + os.sep
        cursor = self._db.execute("SELECT path, size, mtime_ns, sha256 FROM images WHERE path LIKE ? ESCAPE '\\'",
                                  (_like_prefix(prefix),))
        return {path: (size, mtime, sha) for path, size, mtime, sha in cursor}

    def by_sha256(self, sha256: str) -> list[str]:
        return [p for (p,) in self._db.execute("SELECT path FROM images WHERE sha256 = ?", (sha256,))]

    def write(self, rows: Iterable[Row] = (), remove: Iterable[str] = (), renames: Iterable[tuple[str, str]] = ()):
        """One transaction: upsert ``rows``, delete ``remove``, move ``renames`` (old path, new path)."""
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for old, new in renames:
                    self._db.execute("UPDATE images SET path = ?, folder = ? WHERE path = ?",
                                     (new, os.path.dirname(new), old))
                    self._db.execute("UPDATE captions SET path = ? WHERE path = ?", (new, old))
                for path in remove:
                    self._db.execute("DELETE FROM images WHERE path = ?", (path,))
                    self._db.execute("DELETE FROM captions WHERE path = ?", (path,))
                for row in rows:
                    vector = np.ascontiguousarray(row.vector, dtype=np.float32)
                    self._db.execute(
                        "INSERT OR REPLACE INTO images VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (row.path, os.path.dirname(row.path), row.size, row.mtime_ns, row.sha256, row.width,
                         row.height, row.model, vector.shape[0], vector.shape[1], vector.tobytes(), row.caption, now))
                    self._db.execute("DELETE FROM captions WHERE path = ?", (row.path,))
                    if row.caption:
                        self._db.execute("INSERT INTO captions VALUES (?, ?)", (row.path, row.caption))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self.generation += 1

    def touch(self, path: str, size: int, mtime_ns: int) -> None:
        """A file whose bytes are unchanged (same hash) but whose stat moved: keep its embedding."""
        with self._lock:
            self._db.execute("UPDATE images SET size = ?, mtime_ns = ? WHERE path = ?", (size, mtime_ns, path))
            self.generation += 1

    def all_rows(self, model: str) -> list[tuple[str, int, int, int, bytes, int, int, str | None, str]]:
        return self._db.execute("SELECT path, size, width, height, vector, queries, dim, caption, sha256 FROM images "
                                "WHERE model = ? ORDER BY path", (model,)).fetchall()

    def keyword_hits(self, query: str, limit: int) -> list[tuple[str, float]]:
        """(path, bm25 score, higher is better) of captions matching the words of ``query``."""
        words = [w for w in query.replace('"', " ").split() if w]
        if not words:
            return []
        match = " OR ".join(f'"{w}"' for w in words)
        rows = self._db.execute("SELECT path, bm25(captions) FROM captions WHERE captions MATCH ? ORDER BY rank "
                                "LIMIT ?", (match, limit)).fetchall()
        return [(path, -score) for path, score in rows]

    def data_version(self) -> int:
        """Changes when another connection commits (another process indexing the same file)."""
        return self._db.execute("PRAGMA data_version").fetchone()[0]

    def summary(self) -> tuple[int, list[tuple[str, int]], dict[str, int], str | None]:
        count = self._db.execute("SELECT COUNT(*) FROM images").fetchone()[0]
        folders = self._db.execute("SELECT folder, COUNT(*) FROM images GROUP BY folder ORDER BY folder").fetchall()
        models = dict(self._db.execute("SELECT model, COUNT(*) FROM images GROUP BY model").fetchall())
        last = self._db.execute("SELECT MAX(indexed_at) FROM images").fetchone()[0]
        return count, folders, models, last


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
