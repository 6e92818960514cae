"""What the notes site offers agents, written after each build by tools/site_hooks.py.

- llms.txt (the llmstxt.org convention): every page with its URL, its description and its markdown version,
  then the catalog's data files.
- <page>/index.html.md beside each written page (the convention's markdown copy): the page as written, links
  made absolute; the full text, with every primary source.
- llms-full.txt: the notes in one file that fits one context window (under LLMS_FULL_LIMIT bytes), each fact
  once: every written page and every section with its anchor and its opening paragraph (links reduced to their
  text), then the model catalog, one line per model. The catalog pages are not repeated (their data is in the
  data files), nor is the tags index. When the notes outgrow the limit, the opening paragraphs are cut to fewer
  sentences until they fit; the full text stays in the markdown copies.

URLs are public when site_url is a public address; for a loopback or missing site_url they are root-relative
(/notes/security/), which resolve wherever the site is served.
"""

from __future__ import annotations

import ipaddress
import json
import posixpath
import re
from urllib.parse import urlsplit

from mkdocs.structure.nav import Navigation, Section
from mkdocs.structure.pages import Page

LLMS_FULL_LIMIT = 200_000  # bytes: about 50k tokens
LEAD_CAPS = (None, 900, 700, 500, 350, 250, 160)  # characters per opening paragraph, tried in turn
SKIPPED_SECTIONS = ("sources", "related")  # lists of links; the markdown copy has them
MARKDOWN_COPY = "index.html.md"

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
ANCHOR = re.compile(r"\{[^{}]*?#([\w.-]+)[^{}]*\}\s*$")
ATTR_LIST = re.compile(r"\s*\{:?[^{}]*\}")
IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
INLINE_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
REFERENCE_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[*`])")
RELATIVE_LINK = re.compile(r"(\]\()([^)\s#:?]+)(#[^)\s]*)?(\))")


# --------------------------------------------------------------------------- URLs


def public_base(site_url: str | None) -> str:
    """The base of every URL the agent files give: site_url when it is public, else its path ("/notes/")."""
    if not site_url:
        return "/"
    parts = urlsplit(site_url)
    host = parts.hostname or ""
    try:
        address = ipaddress.ip_address(host)
        local = address.is_loopback or address.is_unspecified
    except ValueError:
        local = host == "localhost"
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return path if local else site_url if site_url.endswith("/") else site_url + "/"


def page_url(base: str, page: Page) -> str:
    return base + page.url


def absolute_links(markdown: str, page: Page, files, base: str) -> str:
    """Relative links and images become full URLs, which make sense outside the site."""

    def replace(match: re.Match) -> str:
        target = posixpath.normpath(posixpath.join(posixpath.dirname(page.file.src_uri), match[2]))
        file = files.get_file_from_path(target)
        url = base + file.url if file else match[2]
        return f"{match[1]}{url}{match[3] or ''}{match[4]}"

    return RELATIVE_LINK.sub(replace, markdown)


# --------------------------------------------------------------------------- which pages


def nav_pages(nav: Navigation):
    """Yield (section title, page) in navigation order."""
    for item in nav.items:
        if isinstance(item, Section):
            for child in item.children:
                if isinstance(child, Page):
                    yield item.title, child
        elif isinstance(item, Page):
            yield item.title, item


def is_index(markdown: str) -> bool:
    """A page the tags plugin fills in: it holds no text of its own for agents."""
    return "<!-- material/tags" in markdown


def written(pages, markdown: dict[str, str], generated) -> list[tuple[str, Page]]:
    return [
        (section, page)
        for section, page in pages
        if page.file.src_uri not in generated and not is_index(markdown.get(page.file.src_uri, ""))
    ]


# --------------------------------------------------------------------------- llms.txt


def llms_index(config, pages, markdown: dict[str, str], generated, data_files: dict[str, str]) -> str:
    """The llms.txt convention: a title, a one-line summary, then link lists under H2 sections."""
    base = public_base(config.site_url)
    prose = {page.file.src_uri for _, page in written(pages, markdown, generated)}
    lines = [
        f"# {config.site_name}",
        "",
        f"> {' '.join((config.site_description or '').split())}",
        "",
        "Every page has a title, a description, tags from a fixed taxonomy and the date it was last curated, and"
        " ends with dated primary sources. Section anchors are stable, for citing (page URL + #anchor).",
        "",
        f"- [llms-full.txt]({base}llms-full.txt): the notes in one file sized for a context window: every page"
        " and section with its anchor and opening paragraph, and the model catalog, one line per model.",
        f"- Each page's full text as markdown: its URL + {MARKDOWN_COPY} (linked below).",
    ]
    section = None
    for title, page in pages:
        if is_index(markdown.get(page.file.src_uri, "")):
            continue
        if title != section:
            lines += ["", f"## {title}", ""]
            section = title
        description = " ".join(str(page.meta.get("description", "")).split())
        copy = f" ([markdown]({page_url(base, page)}{MARKDOWN_COPY}))" if page.file.src_uri in prose else ""
        lines.append(f"- [{page.title}]({page_url(base, page)}): {description}{copy}")
    lines += ["", "## Data", ""]
    for path, content in data_files.items():
        lines.append(f"- [{posixpath.basename(path)}]({base}{path}): {describe_data(path, content)}")
    return "\n".join(lines) + "\n"


def describe_data(path: str, content: str) -> str:
    kind = "JSON" if path.endswith(".json") else "CSV"
    what = "the model catalog" if "models" in posixpath.basename(path) else "the image-prompt modifiers"
    rows = json.loads(content)["count"] if kind == "JSON" else content.count("\n") - 1
    return f"{what} as {kind}, {rows} rows, generated from the notes' YAML at build time"


# --------------------------------------------------------------------------- markdown copies


def front_matter(page: Page, url: str) -> str:
    meta = page.meta
    tags = ", ".join(str(tag) for tag in meta.get("tags") or [])
    description = " ".join(str(meta.get("description", "")).split())
    return (
        f"---\ntitle: {json.dumps(page.title)}\nurl: {url}\n"
        f"description: {json.dumps(description, ensure_ascii=False)}\ntags: [{tags}]\n"
        f"updated: {meta.get('updated', '')}\n---\n"
    )


def markdown_copies(config, pages, markdown: dict[str, str], files, generated) -> dict[str, str]:
    """site path -> the page as written, under its front matter, with absolute links."""
    base = public_base(config.site_url)
    copies = {}
    for _, page in written(pages, markdown, generated):
        text = absolute_links(markdown.get(page.file.src_uri, ""), page, files, base)
        copies[page.url + MARKDOWN_COPY] = front_matter(page, page_url(base, page)) + "\n" + text.strip() + "\n"
    return copies


# --------------------------------------------------------------------------- llms-full.txt


def sections(markdown: str):
    """Yield (level, title, anchor, body lines) for the page's preamble (level 1) and each heading."""
    level, title, anchor, body = 1, "", "", []
    fence = None
    for line in markdown.split("\n"):
        marker = FENCE.match(line)
        if marker:
            fence = None if fence == marker[1] else (fence or marker[1])
        heading = HEADING.match(line) if fence is None and not marker else None
        if heading:
            if title or body:
                yield level, title, anchor, body
            found = ANCHOR.search(heading[2])
            level, title, body = len(heading[1]), ATTR_LIST.sub("", heading[2]).strip(), []
            anchor = found[1] if found else ""
        else:
            body.append(line)
    yield level, title, anchor, body


def blocks(lines: list[str]):
    """The body's blocks (paragraphs, lists, tables...) as lists of lines, fenced code as one block."""
    block: list[str] = []
    fence = None
    for line in lines:
        marker = FENCE.match(line)
        if fence is not None or marker:
            block.append(line)
            if marker:
                fence = None if fence == marker[1] else (fence or marker[1])
            continue
        if line.strip():
            block.append(line)
        elif block:
            yield block
            block = []
    if block:
        yield block


def is_prose(block: list[str]) -> bool:
    first = block[0].lstrip()
    return not (
        FENCE.match(first) or first.startswith(("|", "<", "!!!", "???", "![", "{:", ">")) or block[0].startswith("    ")
    )


def plain(text: str) -> str:
    """Inline markdown an agent does not need: links become their text, images and attribute lists go."""
    text = IMAGE.sub("", text)
    text = INLINE_LINK.sub(r"\1", text)
    text = REFERENCE_LINK.sub(r"\1", text)
    return " ".join(ATTR_LIST.sub("", text).split())


def lead(lines: list[str], cap: int | None) -> str:
    """The opening prose of a section (its first paragraph, or the items of its first list), cut to whole
    sentences (or whole items) within cap characters."""
    block = next((b for b in blocks(lines) if is_prose(b)), None)
    if block is None:
        return ""
    if LIST_ITEM.match(block[0]):
        items: list[list[str]] = []
        for line in block:
            if LIST_ITEM.match(line) or not items:
                items.append([LIST_ITEM.sub("", line)])
            else:
                items[-1].append(line)
        kept = []
        for item in (plain(" ".join(item)) for item in items):
            if kept and cap is not None and sum(len(k) + 3 for k in kept) + len(item) > cap:
                break
            kept.append(shorten(item, cap))
        return "\n".join(f"- {item}" for item in kept)
    return shorten(plain(" ".join(block)), cap)


def shorten(text: str, cap: int | None) -> str:
    """Whole sentences of text within cap characters (at least one, itself cut at a word if very long)."""
    if cap is None or len(text) <= cap:
        return text
    kept = ""
    for sentence in SENTENCE_END.split(text):
        if kept and len(kept) + len(sentence) + 1 > cap:
            break
        kept = f"{kept} {sentence}".strip()
    return kept if len(kept) <= cap * 1.5 else kept[:cap].rsplit(" ", 1)[0] + " …"


def digest(page: Page, markdown: str, base: str, cap: int | None) -> str:
    url = page_url(base, page)
    meta = page.meta
    out = [
        f"# {page.title}",
        f"URL: {url} · updated {meta.get('updated', '')} · tags: {', '.join(map(str, meta.get('tags') or []))}"
        f" · full text with sources: {url}{MARKDOWN_COPY}",
        f"> {' '.join(str(meta.get('description', '')).split())}",
    ]
    for level, title, anchor, body in sections(markdown):
        if anchor in SKIPPED_SECTIONS:
            continue
        text = lead(body, cap)
        if level > 1:
            out.append(f"{'#' * level} {title}" + (f" {{#{anchor}}}" if anchor else ""))
        if text:
            out.append(text)
    return "\n\n".join(out) + "\n"


def catalog_lines(state: dict, base: str) -> str:
    """The model catalog once, one line per model, newest first; the data files have every field."""
    import site_catalog  # the catalog's own formatting of sizes and windows

    lines = [
        "# Model catalog",
        f"URL: {base}catalog/models/ · data as of {site_catalog.data_date(state['models'])} · as JSON:"
        f" {base}catalog/models.json · as CSV: {base}catalog/models.csv",
        "One line per model: name {#id}; maker; released; parameters; open weights and licence; modalities;"
        " context window; capabilities; techniques; the section of the notes that explains it. A row is cited"
        f" by its id: {base}catalog/models/#llama-4-scout.",
    ]
    for model in site_catalog.newest_first(state["models"]):
        sides = model.get("modalities") or {}
        window = model.get("context_window")
        makers = [str(model.get("organization"))] + [str(c) for c in model.get("collaborators") or []]
        size = ", ".join(site_catalog.sizes(model)) or "size not published"
        if model.get("active_parameters"):
            size += f" ({model['active_parameters']} active)"
        parts = [
            f"- {model.get('name')} {{#{model.get('id')}}}",
            " + ".join(makers),
            str(model.get("released")),
            size,
            ("open weights, " if model.get("open_weights") else "closed, ") + str(model.get("license")),
            f"{', '.join(sides.get('input') or [])} → {', '.join(sides.get('output') or []) or 'vectors'}",
            f"{window:,} tokens" if isinstance(window, int) else "window not published",
            ", ".join(model.get("capabilities") or []) or "no capabilities listed",
            ", ".join(model.get("techniques") or []) or "no techniques listed",
            str(site_catalog.model_record(state, model).get("notes_url", "")),
        ]
        lines.append("; ".join(parts))
    return "\n\n".join(lines[:3]) + "\n\n" + "\n".join(lines[3:]) + "\n"


def llms_full(config, pages, markdown: dict[str, str], generated, state: dict) -> tuple[str, int | None]:
    """llms-full.txt and the cap its opening paragraphs needed to fit LLMS_FULL_LIMIT (None: uncut)."""
    base = public_base(config.site_url)
    prose = written(pages, markdown, generated)
    catalog = catalog_lines(state, base)
    for cap in LEAD_CAPS:
        head = (
            f"# {config.site_name}: the notes in one file\n\n"
            f"> {' '.join((config.site_description or '').split())}\n\n"
            "Every page and every section of the notes with its anchor and its opening paragraph"
            + (" (cut to whole sentences)" if cap else "")
            + ", then the model catalog, one line per model. Cite a section as the page URL + #anchor. Each page's"
            f" full text, with its primary sources, is at the page URL + {MARKDOWN_COPY}; the index is"
            f" {base}llms.txt.\n"
        )
        text = head + "\n" + "\n".join(digest(page, markdown.get(page.file.src_uri, ""), base, cap)
                                     for _, page in prose) + "\n" + catalog
        if len(text.encode()) <= LLMS_FULL_LIMIT:
            return text, cap
    return text, cap
