"""MkDocs hooks for the AI notes site (registered in mkdocs.yml under `hooks:`).

At build time they:

- give the tags plugin its allowed tags from notes/data/taxonomy.yaml, so an unknown tag fails;
- run tools/check_notes.py and log each problem as a warning (`--strict` fails on them);
- generate the catalog pages from notes/data/*.yaml, so the data is never hand-copied:
  catalog/models.md, catalog/capabilities.md, catalog/timeline.md and
  catalog/image-prompt-modifiers.md;
- show every page's `updated` date, and mark pages older than 12 months as possibly stale;
- write llms.txt (an index for agents) and llms-full.txt (every page as markdown) into the site.

AI_NOTES_BUILD_DATE (YYYY-MM-DD) pins the build date, for reproducible builds and tests.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
import re
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import check_notes  # tools/ is on sys.path while MkDocs loads this file
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.nav import Navigation, Section
from mkdocs.structure.pages import Page
from site_news import render_news  # tools/site_news.py: the "What's new" page

log = logging.getLogger("mkdocs.hooks.site_hooks")

# What the hooks learn in on_config and on_page_markdown, read again at post-build time.
STATE: dict[str, Any] = {}

MODIFIER_TITLES = {"camera-and-lens": "Camera and lens"}
TABLE_ESCAPES = str.maketrans({c: "\\" + c for c in "\\`*_[]{}|"} | {"<": "&lt;", "\n": " "})


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
    return files


def on_nav(nav: Navigation, config, files: Files) -> Navigation:
    STATE["nav"] = nav
    return nav


def on_page_markdown(markdown: str, page: Page, config, files: Files) -> str:
    STATE["markdown"][page.file.src_uri] = markdown  # llms-full.txt gets the page as written
    return add_page_header(markdown, page.meta.get("updated"), STATE["today"])


def on_post_build(config) -> None:
    site_dir = Path(config.site_dir)
    pages = list(nav_pages(STATE["nav"]))
    (site_dir / "llms.txt").write_text(llms_index(config, pages), encoding="utf-8")
    (site_dir / "llms-full.txt").write_text(llms_full(pages, config.site_url or ""), encoding="utf-8")


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


def add_page_header(markdown: str, updated: Any, today: date) -> str:
    """Put the `updated` date (and a staleness warning) right under the page's first heading."""
    updated_date = parse_date(updated)
    if updated_date is None:
        return markdown
    header = f"Updated {updated_date.isoformat()}\n{{: .notes-updated }}\n"
    if is_stale(updated_date, today):
        header += (
            '\n!!! warning "Possibly stale"\n\n'
            f"    This page was last updated on {updated_date.isoformat()}, more than 12 months"
            f" before this build ({today.isoformat()}). Figures, links and rankings may have"
            " moved on; check the dated sources.\n"
        )
    lines = markdown.split("\n")
    title = next((i for i, line in enumerate(lines) if line.startswith("# ")), -1)
    lines.insert(title + 1, "\n" + header)
    return "\n".join(lines)


# --------------------------------------------------------------------------- generated pages


def cell(value: Any) -> str:
    """Plain text made safe for a markdown table cell."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list):
        value = ", ".join(str(item) for item in value)
    return str(value).translate(TABLE_ESCAPES)


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def yaml_string(text: Any) -> str:
    """A quoted YAML scalar (JSON strings are valid YAML), whatever punctuation the text holds."""
    return json.dumps(str(text), ensure_ascii=False)


def front_matter(title: str, description: str, today: date, wide: bool = False) -> str:
    hide = "hide: [navigation, toc]\n" if wide else ""  # the whole width for a wide table
    return (
        f"---\ntitle: {yaml_string(title)}\ndescription: {yaml_string(description)}\n"
        f"tags: [catalog]\nupdated: {today.isoformat()}\n{hide}---\n\n# {title}\n\n"
    )


def notes_link(model: dict, text: str) -> str:
    """A link from a catalog/ page to the notes section about the model, when there is one."""
    ref = model.get("notes")
    return f"[{text}](../{ref})" if isinstance(ref, str) and ref else text  # refs are notes-relative


def modalities(model: dict) -> str:
    sides = model.get("modalities") or {}
    return f"{cell(sides.get('input'))} → {cell(sides.get('output'))}"


def newest_first(models: list[dict]) -> list[dict]:
    return sorted(models, key=lambda m: (str(m.get("released")), str(m.get("name"))), reverse=True)


SIZE_UNITS = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}


def parameter_count(text: Any) -> float:
    """A published size such as "7.1B" as a number (0 when it is not one), for ordering sizes."""
    match = check_notes.SIZE.match(str(text))
    return float(str(text)[:-1]) * SIZE_UNITS[str(text)[-1]] if match else 0.0


def size(model: dict) -> str:
    """The Parameters cell: the family's published sizes, largest first. The catalog table sorts a
    column by the first size in each cell, so a family sorts by its largest model (Gopher by 280B,
    not by its 44M sibling); mixture-of-experts rows give the total, then the active count."""
    parameters = model.get("parameters")
    if isinstance(parameters, list):
        parameters = sorted(parameters, key=parameter_count, reverse=True)
    active = model.get("active_parameters")
    return cell(parameters) + (f" ({cell(active)} active)" if active else "")


def render_models(state: dict) -> str:
    models = newest_first(state["models"])
    rows = [
        [
            notes_link(m, cell(m.get("name"))),
            cell(m.get("organization")),
            cell(m.get("released")),
            size(m),
            "yes" if m.get("open_weights") else "no",
            cell(m.get("license")),
            modalities(m),
            f"{m['context_window']:,}" if isinstance(m.get("context_window"), int) else "—",
            cell(m.get("capabilities")),
            cell(m.get("techniques")),
            " ".join(f"[{i}]({url})" for i, url in enumerate(m.get("sources") or [], 1)),
        ]
        for m in models
    ]
    header = [
        "Model",
        "Organisation",
        "Released",
        "Parameters",
        "Open weights",
        "Licence",
        "Modalities",
        "Context",
        "Capabilities",
        "Techniques",
        "Sources",
    ]
    return (
        front_matter(
            "Model catalog",
            "Every model in the notes' catalog: organisation, release "
            "date, size, modalities, licence, capabilities and techniques.",
            state["today"],
            wide=True,
        )
        + f"{len(models)} models, generated from `notes/data/models.yaml` at build time. Filter the"
        " table by capability, modality, organisation or open weights, and sort it by clicking a"
        " column heading. Parameters lists the sizes the maker published, largest first, so sorting"
        " by it ranks each family by its largest model (Gopher by its 280B model, not its 44M one);"
        " for mixture-of-experts models it is the total count, with the parameters active per token"
        " in brackets. The same data, arranged differently: the"
        " [capability matrix](capabilities.md) and the [timeline](timeline.md).\n\n"
        '<div class="catalog-filters" id="catalog-filters"></div>\n\n' + table(header, rows)
    )


def render_capabilities(state: dict) -> str:
    taxonomy = state["taxonomy"]
    models = sorted(state["models"], key=lambda m: str(m.get("name")).lower())
    capability_names = taxonomy.get("capabilities") or {}
    used = [c for c in capability_names if any(c in (m.get("capabilities") or []) for m in models)]
    matrix = [
        [notes_link(m, cell(m.get("name")))] + ["✓" if c in (m.get("capabilities") or []) else "" for c in used]
        for m in models
    ]
    by_capability = []
    for capability in used:
        having = [m for m in models if capability in (m.get("capabilities") or [])]
        techniques = Counter(t for m in having for t in m.get("techniques") or [])
        by_capability.append(
            [
                f"`{capability}`",
                cell(capability_names[capability]),
                str(len(having)),
                ", ".join(f"{t} ({n})" for t, n in techniques.most_common()) or "—",
            ]
        )
    technique_names = taxonomy.get("techniques") or {}
    by_technique = [
        [f"`{t}`", cell(meaning), str(sum(t in (m.get("techniques") or []) for m in models))]
        for t, meaning in technique_names.items()
    ]
    return (
        front_matter(
            "Capability matrix",
            "Which catalog models have which capabilities, and the training techniques behind them.",
            state["today"],
            wide=True,
        )
        + f"{len(models)} models and the capabilities the catalog records for them, generated from"
        " `notes/data/models.yaml`; the vocabulary comes from `notes/data/taxonomy.yaml`. See the"
        " [model catalog](models.md) for sizes, licences, sources and each model's techniques.\n\n"
        "## Models by capability {#matrix}\n\n"
        '<div class="capability-matrix" markdown>\n\n'  # md_in_html: a class for the CSS
        + table(["Model", *(f"<span>{c}</span>" for c in used)], matrix)
        + "\n</div>\n"
        + "\n## Capabilities and the techniques behind them {#by-capability}\n\n"
        "For each capability: how many catalog models have it, and the techniques those models"
        " were trained with (with counts). This is co-occurrence in the catalog, a pointer to"
        " what to read about, not proof of cause.\n\n"
        + table(["Capability", "Meaning", "Models", "Techniques (models)"], by_capability)
        + "\n## Techniques {#techniques}\n\n"
        + table(["Technique", "Meaning", "Models"], by_technique)
    )


def render_timeline(state: dict) -> str:
    by_year: dict[str, list[dict]] = {}
    for model in newest_first(state["models"]):
        by_year.setdefault(str(model.get("released", "unknown"))[:4], []).append(model)
    body = ""
    for year, models in by_year.items():
        rows = [
            [
                cell(m.get("released")),
                notes_link(m, cell(m.get("name"))),
                cell(m.get("organization")),
                size(m),
                "yes" if m.get("open_weights") else "no",
                cell(m.get("capabilities")),
            ]
            for m in models
        ]
        body += f"\n## {year} {{#y{year}}}\n\n" + table(
            ["Released", "Model", "Organisation", "Parameters", "Open weights", "Capabilities"], rows
        )
    return (
        front_matter(
            "Release timeline", "The catalog's models by release date, newest first, grouped by year.", state["today"]
        )
        + f"{len(state['models'])} releases from `notes/data/models.yaml`, newest first. Dates are"
        " those of the paper or announcement.\n" + body
    )


def render_modifiers(state: dict) -> str:
    body = ""
    for category in check_notes.MODIFIER_CATEGORIES:
        rows = [
            [
                f"**{cell(m.get('term'))}**",
                cell(m.get("effect")),
                cell(m.get("example")),
                cell(m.get("works_with")),
                f"[source]({m['source']})" if m.get("source") else "—",
            ]
            for m in state["modifiers"]
            if m.get("category") == category
        ]
        if rows:
            title = MODIFIER_TITLES.get(category, category.capitalize())
            body += f"\n## {title} {{#{category}}}\n\n" + table(
                ["Modifier", "Effect", "Example", "Works with", "Source"], rows
            )
    return (
        front_matter(
            "Image prompt modifiers",
            "Image-prompt modifiers by category: what each "
            "does to the picture, an example and the model families it works with.",
            state["today"],
        )
        + f"{len(state['modifiers'])} modifiers from `notes/data/image_prompt_modifiers.yaml`."
        " Why they work, and how models differ in reading them, is explained in"
        " [image prompts](../image-prompts.md).\n" + body
    )


# One renderer per generated page; the list of those pages is the schema's (checked at import).
GENERATED = dict(zip(check_notes.GENERATED_PAGES,
                     (render_models, render_capabilities, render_timeline, render_modifiers, render_news), strict=True))


# --------------------------------------------------------------------------- llms.txt


def nav_pages(nav: Navigation):
    """Yield (section title, page) in navigation order."""
    for item in nav.items:
        if isinstance(item, Section):
            for child in item.children:
                if isinstance(child, Page):
                    yield item.title, child
        elif isinstance(item, Page):
            yield item.title, item


def page_url(page: Page) -> str:
    return page.canonical_url or page.url


def llms_index(config, pages: list[tuple[str, Page]]) -> str:
    """The llms.txt convention: a title, a one-line summary, then link lists under H2 sections."""
    base = config.site_url or ""
    lines = [
        f"# {config.site_name}",
        "",
        f"> {' '.join((config.site_description or '').split())}",
        "",
        (
            "Every page has a title, a description, tags from a fixed taxonomy and the date it was"
            " last curated, and ends with dated primary sources. Section anchors are stable, for citing."
        ),
        f"All pages as one markdown file: {base}llms-full.txt",
    ]
    section = None
    for title, page in pages:
        if title != section:
            lines += ["", f"## {title}", ""]
            section = title
        description = " ".join(str(page.meta.get("description", "")).split())
        lines.append(f"- [{page.title}]({page_url(page)}): {description}")
    return "\n".join(lines) + "\n"


def llms_full(pages: list[tuple[str, Page]], base: str) -> str:
    """Every page as markdown, each under a front matter block with its URL."""
    parts = []
    for _, page in pages:
        meta = page.meta
        markdown = absolute_links(STATE["markdown"].get(page.file.src_uri, ""), page, base)
        tags = ", ".join(str(tag) for tag in meta.get("tags") or [])
        description = " ".join(str(meta.get("description", "")).split())
        parts.append(
            f"---\ntitle: {yaml_string(page.title)}\nurl: {page_url(page)}\n"
            f"description: {yaml_string(description)}\ntags: [{tags}]\n"
            f"updated: {meta.get('updated', '')}\n---\n\n{markdown.strip()}\n"
        )
    return "\n".join(parts)


LINK = re.compile(r"(\]\()([^)\s#]*\.md)(#[^)\s]*)?(\))")


def absolute_links(markdown: str, page: Page, base: str) -> str:
    """Relative links to other pages become full URLs, which make sense outside the site."""

    def replace(match: re.Match) -> str:
        target = posixpath.normpath(posixpath.join(posixpath.dirname(page.file.src_uri), match[2]))
        file = STATE["files"].get_file_from_path(target)
        url = base + file.url if file else match[2]
        return f"{match[1]}{url}{match[3] or ''}{match[4]}"

    return LINK.sub(replace, markdown)
