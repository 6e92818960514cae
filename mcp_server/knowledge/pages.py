"""The notes pages on disk: where they are, and each page split into citable sections.

A page is ``notes/<path>.md`` with YAML front matter (title, description, tags, updated). Its
sections are its headings below the title; each has an anchor, either the explicit ``{#id}``
the conventions ask for or the slug MkDocs' ``toc`` extension would give it, so every section
we cite has an id in the built site.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..config import Settings
from ..errors import ConfigError
from .schema import GENERATED_PAGES

# libyaml's safe loader when PyYAML has it (about ten times faster than the pure-Python one): the pages and
# the catalog are read while the server starts.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*\n", re.S)
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_ATTR_LIST = re.compile(r"[ \t]*\{:?([^{}]*)\}[ \t]*$")
_ATTR_ID = re.compile(r"(?:^|\s)#([^\s}]+)")
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")


@dataclass(frozen=True)
class Section:
    """A heading and what follows it. The page introduction is a section with no anchor."""

    path: str  # page path relative to the notes folder, POSIX style: "vision-language.md"
    anchor: str | None  # None for the introduction (text before the first section heading)
    heading: str  # plain heading text; the page title for the introduction
    level: int  # 1 for the introduction, else the number of '#'
    own_markdown: str  # the section's text up to the next heading of any level (what is indexed)
    markdown: str  # the section with its sub-sections (what read_note returns)


@dataclass(frozen=True)
class Page:
    path: str
    title: str
    description: str
    tags: tuple[str, ...]
    updated: str | None
    markdown: str  # the page without its front matter
    sections: tuple[Section, ...]

    def section(self, anchor: str) -> Section | None:
        return next((s for s in self.sections if s.anchor == anchor), None)

    @property
    def anchors(self) -> list[str]:
        return [s.anchor for s in self.sections if s.anchor]


def find_notes_dir(settings: Settings) -> Path:
    """``notes.dir`` if set; else the checkout's notes/ (editable install); else the copy in the wheel."""
    if settings.notes.dir:
        folder = Path(settings.notes.dir).expanduser()
        if not folder.is_dir():
            raise ConfigError(f"notes.dir {str(folder)!r} is not a folder; point it at the notes or leave it unset")
        return folder.resolve()
    import mcp_server  # the package itself: its location tells which install this is

    package = Path(mcp_server.__file__).resolve().parent
    # mkdocs.yml beside the package means a source checkout; a stray site-packages/notes would not have it.
    if (package.parent / "mkdocs.yml").is_file() and (package.parent / "notes").is_dir():
        return package.parent / "notes"
    if (package / "_site" / "notes").is_dir():  # pyproject force-includes notes/ here in the wheel
        return package / "_site" / "notes"
    raise ConfigError("the notes folder was not found; set notes.dir in the config file to a folder of notes pages")


def load_pages(notes_dir: Path) -> dict[str, Page]:
    """Every markdown page under ``notes_dir`` except the generated ones, by path."""
    pages = {}
    for file in sorted(notes_dir.rglob("*.md")):
        rel = file.relative_to(notes_dir).as_posix()
        if rel in GENERATED_PAGES or any(part.startswith(".") for part in Path(rel).parts):
            continue
        pages[rel] = parse_page(rel, file.read_text(encoding="utf-8"))
    return pages


def parse_page(path: str, text: str) -> Page:
    text = text.replace("\r\n", "\n")
    meta: dict = {}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            loaded = yaml.load(match.group(1), Loader=SAFE_LOADER)
        except yaml.YAMLError as exc:
            raise ConfigError(f"notes page {path}: front matter is not valid YAML ({exc.__class__.__name__})") from exc
        meta = loaded if isinstance(loaded, dict) else {}
        text = text[match.end() :]
    lines = text.split("\n")
    headings = list(_headings(lines))
    title = str(meta.get("title") or next((h for lvl, h, _, _ in headings if lvl == 1), "") or path)
    updated = meta.get("updated")
    if isinstance(updated, dt.date):
        updated = updated.isoformat()
    tags = meta.get("tags") or []
    return Page(
        path=path,
        title=title,
        description=str(meta.get("description") or ""),
        tags=tuple(str(t) for t in (tags if isinstance(tags, list) else [tags])),
        updated=str(updated) if updated else None,
        markdown=text.strip("\n") + "\n",
        sections=tuple(_sections(path, title, lines, headings)),
    )


def _headings(lines: list[str]) -> Iterator[tuple[int, str, str | None, int]]:
    """(level, plain text, explicit anchor or None, line index) of each ATX heading outside code fences."""
    fence: str | None = None
    for i, line in enumerate(lines):
        opened = _FENCE.match(line)
        if fence:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
            continue
        if opened:
            fence = opened.group(1)
            continue
        m = _HEADING.match(line)
        if not m:
            continue
        raw = m.group(2)
        anchor = None
        attrs = _ATTR_LIST.search(raw)
        if attrs:
            raw = raw[: attrs.start()]
            ids = _ATTR_ID.findall(attrs.group(1))
            anchor = ids[-1] if ids else None
        yield len(m.group(1)), inline_text(raw), anchor, i


def _sections(path: str, title: str, lines: list[str], headings: list) -> Iterator[Section]:
    # The first level-1 heading is the page title: its text belongs to the introduction.
    body = [h for h in headings if not (h[0] == 1 and h is headings[0])]
    start = headings[0][3] + 1 if headings and headings[0][0] == 1 else 0
    end = body[0][3] if body else len(lines)
    yield Section(path, None, title, 1, _join(lines[start:end]), _join(lines[start:end]))
    used: set[str] = set()
    for k, (level, text, anchor, line) in enumerate(body):
        own_end = body[k + 1][3] if k + 1 < len(body) else len(lines)
        sub_end = next((h[3] for h in body[k + 1 :] if h[0] <= level), len(lines))
        anchor = anchor or _unique(toc_slug(text), used)
        used.add(anchor)
        yield Section(path, anchor, text, level, _join(lines[line + 1 : own_end]), _join(lines[line:sub_end]))


def _join(lines: list[str]) -> str:
    return "\n".join(lines).strip("\n") + "\n"


def _unique(slug: str, used: set[str]) -> str:
    # Python-Markdown's toc appends _1, _2, ... to repeated ids.
    candidate, n = slug, 0
    while candidate in used:
        n += 1
        candidate = f"{slug}_{n}"
    return candidate


def toc_slug(text: str) -> str:
    """The id Python-Markdown's toc extension (MkDocs' default) gives a heading without an explicit one."""
    value = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^\w\s-]", "", value).strip().lower()
    return re.sub(r"[-\s]+", "-", value)


# Links keep their label and images their alt text (the "!" left behind is punctuation to the tokenizer).
_LINK = re.compile(r"\[([^\]\n]*)\]\([^)\n]*\)")
_REF_LINK = re.compile(r"\[([^\]\n]*)\]\[[^\]\n]*\]")
_URL = re.compile(r"<?https?://[^\s>)]+>?")
_MARKUP = str.maketrans("", "", "*`")


def inline_text(markdown: str) -> str:
    """Markdown inline syntax reduced to the text a reader sees (links keep their label)."""
    # The substring checks skip a regex pass where it cannot match: indexing is mostly these passes.
    text = _LINK.sub(r"\1", markdown) if "](" in markdown else markdown
    text = _REF_LINK.sub(r"\1", text) if "][" in text else text
    text = _URL.sub("", text) if "http" in text else text
    return text.translate(_MARKUP).strip()


_COMMENT = re.compile(r"<!--.*?-->", re.S)
_ATTRS_ANYWHERE = re.compile(r"\{:?\s*[#.][^{}]*\}")
_TABLE_RULE = re.compile(r"[|:-][ \t|:-]*")  # "|---|:--:|" and horizontal rules
_BLOCK_MARKERS = "#>!?"  # headings, quotes, admonitions ("!!! note"), collapsibles ("??? note")


def plain_text(markdown: str) -> str:
    """What gets indexed and shown in snippets: the words, without URLs, markup or table rules."""
    if "<!--" in markdown:
        markdown = _COMMENT.sub(" ", markdown)
    kept = []
    for line in markdown.split("\n"):
        line = line.strip()
        if not line or line.startswith(("```", "~~~")) or _TABLE_RULE.fullmatch(line):
            continue
        kept.append(line.lstrip(_BLOCK_MARKERS) if line[0] in _BLOCK_MARKERS else line)
    text = " ".join(kept)
    text = _ATTRS_ANYWHERE.sub(" ", text) if "{" in text else text
    return " ".join(inline_text(text).replace("|", " ").split())
