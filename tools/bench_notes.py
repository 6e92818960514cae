#!/usr/bin/env python3
"""Benchmark the notes search: index build time, search latency and ranking quality.

    python tools/bench_notes.py [--builds 5] [--rounds 50] [--notes-dir DIR]

- build: a fresh NotesService's first search pays for reading and parsing every page and
  filling the FTS5 index; the median of --builds fresh builds is reported.
- search: NotesService.search (the whole path a tool call takes, result models included) over
  the test queries of tests/notes_queries.py, --rounds times each; median and p95.
- P@1 / P@3: the share of those queries whose expected page is the first hit / among the first
  three; the same for the expected section (anchor), which is stricter and not a test gate.

Goals (docs: issue 7): build < 200 ms, search < 5 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the shared query set lives beside the test that gates on it

from notes_queries import QUERIES  # noqa: E402

from mcp_server.config import Notes, Settings  # noqa: E402
from mcp_server.knowledge.service import NotesService  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--builds", type=int, default=5, help="fresh index builds to time (default 5)")
    parser.add_argument("--rounds", type=int, default=50, help="passes over the query set (default 50)")
    parser.add_argument("--notes-dir", help="notes folder (default: the repository's notes/)")
    args = parser.parse_args(argv)
    settings = Settings(notes=Notes(dir=args.notes_dir))

    builds = []
    for _ in range(args.builds):
        service = NotesService(settings)
        start = time.perf_counter()
        service.search("warm up")  # first use: read pages, parse, build the index
        builds.append((time.perf_counter() - start) * 1000)
    sections = len(service.index)

    latencies = []
    for _ in range(args.rounds):
        for case in QUERIES:
            start = time.perf_counter()
            service.search(case.query, limit=5)
            latencies.append((time.perf_counter() - start) * 1000)

    page1 = page3 = anchor1 = anchor3 = 0
    misses = []
    for case in QUERIES:
        hits = service.search(case.query, limit=3).hits
        pages = [h.path for h in hits]
        anchors = [h.uri for h in hits]
        want = f"notes://{case.page}#{case.anchor}"
        page1 += pages[:1] == [case.page]
        page3 += case.page in pages
        anchor1 += anchors[:1] == [want]
        anchor3 += want in anchors
        if case.page not in pages:
            misses.append(f"  miss: {case.query!r} -> {', '.join(anchors) or 'nothing'}")
    n = len(QUERIES)

    rows = [
        ("pages / sections indexed", f"{len(service.pages())} / {sections}"),
        (f"index build, median of {args.builds} (ms)", f"{statistics.median(builds):.1f}"),
        (f"search p50 over {len(latencies)} calls (ms)", f"{statistics.median(latencies):.3f}"),
        ("search p95 (ms)", f"{percentile(latencies, 0.95):.3f}"),
        (f"page P@1 ({n} queries)", f"{page1 / n:.3f}"),
        ("page P@3", f"{page3 / n:.3f}"),
        ("section P@1", f"{anchor1 / n:.3f}"),
        ("section P@3", f"{anchor3 / n:.3f}"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{'measure'.ljust(width)} | value")
    print(f"{'-' * width}-|-------")
    for name, value in rows:
        print(f"{name.ljust(width)} | {value}")
    for line in misses:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
