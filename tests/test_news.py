"""tools/site_news.py: the "What's new" page rendered from news rows (the built page is in test_site.py)."""

from __future__ import annotations

import re
import sys
from datetime import date
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

from site_news import render_news  # noqa: E402  (tools/ is not a package)

ROWS = [
    {"date": "2025-03", "title": "A month-only event", "source": "https://example.org/a", "page": "a.md#one",
     "tags": ["news"]},
    {"date": "2025-03-20", "title": "FLUX.2 [dev] ships *open*", "source": "https://example.org/b", "page": "b.md#two",
     "tags": ["image-generation"]},
    {"date": "2026-01-05", "title": "The newest event", "source": "https://example.org/c", "page": "c.md#three",
     "tags": ["agents"]},
    {"title": "No date: left out"},
]


def render(rows=ROWS) -> str:
    return render_news({"news": rows, "today": date(2026, 12, 2)})


def test_front_matter():
    text = render()
    meta = yaml.safe_load(text.split("---\n")[1])
    newest = max(str(r["date"]) for r in ROWS if "date" in r)  # a generated page: as recent as its data
    assert meta == {
        "title": "What's new",
        "description": meta["description"],
        "tags": ["news"],
        "updated": date.fromisoformat(newest if len(newest) == 10 else newest + "-01"),
        "updated_note": f"Events up to {newest}, the newest in the log",
    }
    assert meta["description"].strip()
    assert "\n# What's new\n" in text


def test_months_newest_first_and_events_newest_first_within_a_month():
    text = render()
    assert re.findall(r"^## (\S+) \{#(\S+)\}$", text, re.MULTILINE) == [("2026-01", "2026-01"), ("2025-03", "2025-03")]
    march = text.split("## 2025-03 {#2025-03}")[1]
    assert march.index("**2025-03-20**") < march.index("**2025-03**")
    assert "No date" not in text and "3 dated events" in text


def test_each_event_is_one_line_with_its_section_and_its_source():
    lines = [line for line in render().splitlines() if line.startswith("- **")]
    assert len(lines) == 3
    newest = lines[0]
    assert newest.startswith("- **2026-01-05** · The newest event · ")
    assert "](c.md#three)" in newest and "](https://example.org/c)" in newest


def test_markdown_in_titles_is_escaped():
    line = next(line for line in render().splitlines() if "FLUX.2" in line)
    assert r"FLUX.2 \[dev\] ships \*open\*" in line


def test_no_rows_still_renders_a_page():
    text = render([])
    assert text.startswith("---\n") and "0 dated events" in text and "\n## " not in text
