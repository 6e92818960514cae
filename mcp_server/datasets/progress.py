"""The job's progress on stderr: images seen of the total, images/s, ETA, skipped and failed.

On a terminal one line is redrawn at most five times a second; elsewhere (a log file, CI) a line is printed
every ``every_s`` seconds, so logs stay short.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR = 24  # characters


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
    def __init__(self, total: int, stream: TextIO | None = None, *, every_s: float = 10.0) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every = 0.2 if self.live else every_s
        self.start = time.monotonic()
        self._shown = 0.0 if self.live else self.start  # a log's first line after ``every_s``
        self.done = self.skipped = self.failed = 0

    def update(self, *, done: int = 0, skipped: int = 0, failed: int = 0) -> None:
        self.done += done
        self.skipped += skipped
        self.failed += failed
        now = time.monotonic()
        if now - self._shown >= self.every:
            self._shown = now
            self._show(now)

    def line(self, now: float | None = None) -> str:
        elapsed = (now or time.monotonic()) - self.start
        seen = self.done + self.skipped + self.failed
        worked = self.done + self.failed
        rate = worked / elapsed if elapsed > 0 else 0.0
        eta = duration((self.total - seen) / rate) if rate > 0 else "?"
        share = seen / self.total if self.total else 1.0
        bar = "#" * int(BAR * share) + "." * (BAR - int(BAR * share))
        return (f"[{bar}] {seen}/{self.total} images ({100 * share:.0f}%) | {rate:.2f} images/s | ETA {eta} | "
                f"{self.skipped} skipped, {self.failed} failed")

    def _show(self, now: float) -> None:
        if self.live:
            self.stream.write(f"\r\x1b[K{self.line(now)}")
        else:
            self.stream.write(self.line(now) + "\n")
        self.stream.flush()

    def close(self) -> None:
        """The last state, and the terminal's line ended."""
        self._show(time.monotonic())
        if self.live:
            self.stream.write("\n")
            self.stream.flush()
