"""The "What's new" page (news.md), generated from notes/data/news.yaml by tools/site_hooks.py.

One section per month, newest first; each event is one line: its date, what happened, a link to the
section of the notes that explains it and a link to its primary source. tools/check_notes.py checks
the rows (dates, URLs, page anchors, tags, order); this module only renders them, and renders a
broken row as well as it can rather than failing the build a second time.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlparse

MONTH = re.compile(r"^\d{4}-\d{2}")
# Markdown that a title or label could trigger by accident: emphasis, code, links, attribute lists, HTML.
INLINE_ESCAPES = str.maketrans({c: "\\" + c for c in "\\`*_[]{}"} | {"<": "&lt;", "\n": " "})


def render_news(state: dict) -> str:
    """The markdown of news.md for the rows in state["news"], dated by its newest event (not the build date:
    a generated page is as recent as its data)."""
    rows = [row for row in state.get("news") or [] if MONTH.match(str(row.get("date", "")))]
    by_month: dict[str, list[dict]] = {}
    for row in sorted(rows, key=lambda r: str(r.get("date")), reverse=True):
        by_month.setdefault(str(row["date"])[:7], []).append(row)
    body = "".join(
        f"\n## {month} {{#{month}}}\n\n" + "".join(entry(row) for row in events) for month, events in by_month.items()
    )
    span = f" from {min(by_month)} to {max(by_month)}" if by_month else ""
    newest = max((str(r["date"]) for r in rows), default=state["today"].isoformat())
    return (
        front_matter(newest if len(newest) == 10 else newest + "-01", newest)
        + f"{len(rows)} dated events in the field{span}, newest first, generated from `notes/data/news.yaml`."
        " Each line links the section of these notes that explains the event, and the event's primary"
        " source. A date without a day means the maker gave only the month.\n" + body
    )


def front_matter(updated: str, newest: str) -> str:
    title = "What's new"
    description = (
        "A dated log of what changed in the AI field, month by month, each event linked to the notes and to its source."
    )
    return (
        f"---\ntitle: {json.dumps(title)}\ndescription: {json.dumps(description)}\n"
        f"tags: [news]\nupdated: {updated}\nupdated_note: {json.dumps(f'Events up to {newest}, the newest in the log')}"
        f"\n---\n\n# {title}\n\n"
    )


def entry(row: dict) -> str:
    """One event as a list item: date, title, the explaining section, the source."""
    parts = [f"**{row['date']}**", text(row.get("title"))]
    page = row.get("page")
    if isinstance(page, str) and page:
        parts.append(f"[in the notes: {text(page_label(page))}]({page})")  # news.md sits at the top of the notes
    source = row.get("source")
    if isinstance(source, str) and source:
        parts.append(f"[source: {text(urlparse(source).netloc or source)}]({source})")
    return "- " + " · ".join(parts) + "\n"


def page_label(ref: str) -> str:
    """Link text for a section: vision-language.md#vlms-2026 reads "vision-language › vlms-2026"."""
    path, _, anchor = ref.partition("#")
    name = path.rsplit("/", 1)[-1].removesuffix(".md")
    return f"{name} › {anchor}" if anchor else name


def text(value: Any) -> str:
    return str(value or "").strip().translate(INLINE_ESCAPES)
