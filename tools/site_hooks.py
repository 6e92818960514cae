"""MkDocs hooks for the AI notes site (registered in mkdocs.yml under `hooks:`).

At build time they:

- give the tags plugin its allowed tags from notes/data/taxonomy.yaml, so an unknown tag fails;
- run tools/check_notes.py and log each problem as a warning (`--strict` fails on them);
- generate the catalog pages and their data files from notes/data/*.yaml (tools/site_catalog.py), so the
  data is never hand-copied;
- put every page's date under its title ("Updated", or for a generated page the date of its data), with a
  "possibly stale" warning that assets/notes.js shows when the page is more than 12 months older than the
  reader's today (the build date decides only for readers without JavaScript);
- write llms.txt, llms-full.txt and a markdown copy of each page for agents (tools/site_llms.py).

AI_NOTES_BUILD_DATE (YYYY-MM-DD) pins the build date, for reproducible builds and tests.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import date
from html import escape
from pathlib import Path
from typing import Any

import check_notes  # tools/ is on sys.path while MkDocs loads this file
import site_catalog
import site_llms
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.nav import Navigation
from mkdocs.structure.pages import Page
from site_news import render_news  # tools/site_news.py: the "What's new" page

log = logging.getLogger("mkdocs.hooks.site_hooks")

# What the hooks learn in on_config and on_page_markdown, read again at post-build time.
STATE: dict[str, Any] = {}


# --------------------------------------------------------------------------- events


@event_priority(100)  # before the tags plugin reads `tags_allowed` in its own on_config
def on_config(config):
    notes_dir = Path(config.docs_dir)
    taxonomy = load_data(notes_dir / check_notes.TAXONOMY_FILE)
    STATE.clear()
    STATE.update(
        today=build_date(),
        taxonomy=taxonomy if isinstance(taxonomy, dict) else {},
        models=rows_of(load_data(notes_dir / check_notes.MODELS_FILE)),
        modifiers=rows_of(load_data(notes_dir / check_notes.MODIFIERS_FILE)),
        news=rows_of(load_data(notes_dir / check_notes.NEWS_FILE)),
        markdown={},
    )
    set_allowed_tags(config, STATE["taxonomy"].get("tags") or {})
    # What the catalog pages need besides the data: where the notes are, the URL base of the files for agents,
    # and the date of the page that the prompt modifiers are reviewed with (their rows carry no dates).
    prompts = check_notes.load_page(notes_dir, notes_dir / "image-prompts.md", []) if (
        notes_dir / "image-prompts.md").is_file() else None
    STATE.update(
        config=config,
        notes_dir=notes_dir,
        base=site_llms.public_base(config.site_url),
        prompts_updated=(prompts.meta or {}).get("updated", "") if prompts else "",
    )
    for problem in check_notes.check(notes_dir):
        log.warning("check_notes: %s", problem)
    return config


def on_files(files: Files, config) -> Files:
    STATE["files"] = files  # to turn links into URLs for llms-full.txt
    for src_uri, render in GENERATED.items():
        existing = files.get_file_from_path(src_uri)
        if existing is not None:  # check_notes reports it; the data wins
            files.remove(existing)
        files.append(File.generated(config, src_uri, content=render(STATE)))
    STATE["data_files"] = site_catalog.data_files(STATE)  # catalog/models.json and .csv, and the modifiers'
    for src_uri, content in STATE["data_files"].items():
        files.append(File.generated(config, src_uri, content=content))
    return files


def on_nav(nav: Navigation, config, files: Files) -> Navigation:
    STATE["nav"] = nav
    return nav


def on_page_markdown(markdown: str, page: Page, config, files: Files) -> str:
    STATE["markdown"][page.file.src_uri] = markdown  # the agents' files get the page as written
    return add_page_header(markdown, page.meta.get("updated"), STATE["today"], page.meta.get("updated_note"))


@event_priority(-50)  # after the search plugin has written its index
def on_post_build(config) -> None:
    site_dir = Path(config.site_dir)
    rank_intros_as_sections(site_dir / "search" / "search_index.json")
    pages = list(site_llms.nav_pages(STATE["nav"]))
    markdown, files = STATE["markdown"], STATE["files"]
    index = site_llms.llms_index(config, pages, markdown, GENERATED, STATE["data_files"])
    (site_dir / "llms.txt").write_text(index, encoding="utf-8")
    full, cap = site_llms.llms_full(config, pages, markdown, GENERATED, STATE)
    if len(full.encode()) > site_llms.LLMS_FULL_LIMIT:
        log.warning("llms-full.txt is %d bytes, over %d even with the shortest opening paragraphs",
                    len(full.encode()), site_llms.LLMS_FULL_LIMIT)
    elif cap:
        log.info("llms-full.txt: opening paragraphs cut to %d characters to stay under %d bytes",
                 cap, site_llms.LLMS_FULL_LIMIT)
    (site_dir / "llms-full.txt").write_text(full, encoding="utf-8")
    for path, text in site_llms.markdown_copies(config, pages, markdown, files, GENERATED).items():
        (site_dir / path).write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- set-up


def build_date() -> date:
    pinned = os.environ.get("AI_NOTES_BUILD_DATE")
    return date.fromisoformat(pinned) if pinned else date.today()


def load_data(path: Path) -> Any:
    """A data file's content, or None when it is missing or broken (check_notes says which)."""
    try:
        return check_notes.load_yaml(path.read_text(encoding="utf-8"))[0]
    except (OSError, check_notes.yaml.YAMLError):
        return None


def rows_of(data: Any) -> list[dict]:
    return [row for row in data if isinstance(row, dict)] if isinstance(data, list) else []


def set_allowed_tags(config, tags) -> None:
    from material.plugins.tags.structure.tag import Tag

    for name, plugin in config.plugins.items():
        if name.endswith("tags"):
            plugin.config.tags_allowed = {Tag(str(tag)) for tag in tags}
            return
    log.warning("the tags plugin is not enabled in mkdocs.yml; tags are not checked")


# --------------------------------------------------------------------------- page header


def parse_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def is_stale(updated: date, today: date) -> bool:
    """True when `updated` lies more than 12 months before `today`."""
    try:
        year_ago = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        year_ago = today.replace(year=today.year - 1, day=28)
    return updated < year_ago


def add_page_header(markdown: str, updated: Any, today: date, note: str | None = None) -> str:
    """Put the page's date right under its first heading: "Updated <date>", or `note` (a generated page says
    how recent its data is), and a "possibly stale" warning. The warning is always there, hidden unless the
    page is stale at build time; assets/notes.js shows or hides it by the reader's date."""
    updated_date = parse_date(updated)
    if updated_date is None:
        return markdown
    day = updated_date.isoformat()
    stale = is_stale(updated_date, today)
    hidden = "" if stale else " hidden"
    header = (
        f'<p class="notes-updated" data-updated="{day}" data-search-exclude>{escape(note or f"Updated {day}")}</p>\n\n'
        f'<div class="admonition warning notes-stale" data-updated="{day}" data-search-exclude{hidden}>\n'
        '<p class="admonition-title">Possibly stale</p>\n'
        f"<p>This page was last updated on {day}, more than 12 months before"
        f' <span class="notes-today">this site was built ({today.isoformat()})</span>. Figures, links and rankings'
        " may have moved on; check the dated sources.</p>\n</div>\n"
    )
    lines = markdown.split("\n")
    title = next((i for i, line in enumerate(lines) if line.startswith("# ")), -1)
    lines.insert(title + 1, "\n" + header)
    return "\n".join(lines)


# --------------------------------------------------------------------------- search


# Material's search ranks a page's first section (its introduction) up to 2.5 times above any other section
# (it adds 1 to the boost of a page's own entry before squaring), and the notes' introductions name every
# topic the page covers: "prompt injection" found the Prompting page's introduction before the Security
# page's section on it. Weighting the introductions by 1/2.5 ranks them as sections again.
INTRO_WEIGHT = 0.4


def rank_intros_as_sections(index_file: Path) -> None:
    try:
        index = json.loads(index_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # no search plugin, or no index to adjust
    for entry in index.get("docs", []):
        if "#" not in entry.get("location", "#"):
            entry["boost"] = entry.get("boost", 1) * INTRO_WEIGHT
    index_file.write_text(json.dumps(index, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


# --------------------------------------------------------------------------- generated pages

# The catalog's renderers are tools/site_catalog.py's.
render_models = site_catalog.render_models
render_capabilities = site_catalog.render_capabilities
render_timeline = site_catalog.render_timeline
render_modifiers = site_catalog.render_modifiers


# One renderer per generated page; the list of those pages is the schema's (checked at import).
GENERATED = dict(zip(check_notes.GENERATED_PAGES,
                     (render_models, render_capabilities, render_timeline, render_modifiers, render_news),
                     strict=True))
