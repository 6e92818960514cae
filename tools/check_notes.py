#!/usr/bin/env python3
"""Check the AI notes: pages, anchors, links, sources and the YAML data files.

    python tools/check_notes.py [NOTES_DIR]      # default: the notes/ folder of this repository

Prints one `file:line: problem` per problem and exits 1 when there is any, 0 otherwise.
Importable: `check(notes_dir)` returns the same lines as a list.

What it checks, one function per family:

- pages (`notes/**/*.md`): front matter `title`, `description`, `tags` (each listed in
  `data/taxonomy.yaml`) and `updated` (ISO date); explicit anchors `{#id}` unique per page;
  relative links point at an existing page and at an explicit anchor on it; every page but
  the index and the tags page ends with a `## Sources {#sources}` list of dated links;
- `data/taxonomy.yaml`: the `organizations` list holds each maker once, in alphabetical order;
- `data/models.yaml`: keys, unique ids, dates, vocabularies, sources; `organization` and the
  optional `collaborators` only from that list; `not-disclosed` only as the sole technique; and
  the required `notes`, a `page.md#anchor` on a written page whose section (its heading and the
  text up to the next heading of the same or a higher level) names the model: its `name`, the
  name without a parenthesised qualifier, or one of its optional `aliases`;
- `data/image_prompt_modifiers.yaml`: keys, categories and `works_with` (family codes from the
  schema, or `any` alone);
- `data/news.yaml`: keys; `date` an ISO date or a year-month (YYYY-MM); `source` an http(s) URL;
  `page` a `page.md#anchor` on a written page with that explicit anchor; `tags` from the taxonomy;
  rows in date order, oldest first (a year-month sorts before the days of its month).

Pages generated at build time by `tools/site_hooks.py` are valid link targets; anchors on them
are left to `mkdocs build --strict`, which renders them.
"""

from __future__ import annotations

import posixpath
import re
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

# The schema (page lists, data files, row keys) is defined once, in the package, for the runtime and tools/.
# This checkout's package comes first: an editable install of another checkout must not lend its schema.
# (In a wheel, tools/ sits in mcp_server/_site/, which holds no package, so the installed one is used.)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mcp_server.knowledge.schema import (  # noqa: E402
    FRESHNESS_DAYS,
    GENERATED_DATA_FILES,
    GENERATED_PAGES,
    MODEL_OPTIONAL_KEYS,
    MODEL_REQUIRED_KEYS,
    MODELS_FILE,
    MODIFIER_CATEGORIES,
    MODIFIER_OPTIONAL_KEYS,
    MODIFIER_REQUIRED_KEYS,
    MODIFIERS_FILE,
    NEWS_FILE,
    NEWS_OPTIONAL_KEYS,
    NEWS_REQUIRED_KEYS,
    NOT_DISCLOSED,
    PAGES_WITHOUT_SOURCES,
    TAXONOMY_FILE,
    WORKS_WITH_ANY,
    WORKS_WITH_FAMILIES,
)

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
KEBAB = re.compile(r"^[a-z0-9]+(?:[-.][a-z0-9]+)*$")
SIZE = re.compile(r"^\d+(?:\.\d+)?[KMBT]$")  # parameter counts: 224M, 7B, 1.8T
URL = re.compile(r"^https?://\S+$")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")

FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"`[^`]*`")
ATTR_LIST = re.compile(r"\{:?([^{}]*)\}")
INLINE_LINK = re.compile(r"\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'(][^)]*)?\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
HEADING = re.compile(r"^(#{1,6})\s")
SOURCES_HEADING = re.compile(r"^##\s+Sources\s*\{#sources\}\s*$")
BULLET = re.compile(r"^[-*+]\s+(.*)$")
# "2022-01-28 · [title](https://...) · why": a date (day optional), then a web link.
DATED_LINK = re.compile(r"^(\d{4}-\d{2}(?:-\d{2})?)\b.*?\]\((https?://[^)\s]+)")


# --------------------------------------------------------------------------- data types


@dataclass
class Problem:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        path = self.path
        if path.is_absolute() and path.is_relative_to(Path.cwd()):
            path = path.relative_to(Path.cwd())  # shorter lines when run from the repository
        return f"{path}:{self.line}: {self.message}"


@dataclass
class Page:
    """A markdown page: its front matter (with line numbers) and its prose lines."""

    path: Path
    rel: str  # posix path relative to the notes folder, e.g. "catalog/x.md"
    lines: list[str]
    meta: Any = None
    meta_node: yaml.Node | None = None
    meta_line: int = 1  # line number of the first front matter line
    body_start: int = 0  # index of the first line after the front matter
    anchors: dict[str, list[int]] = field(default_factory=dict)

    def prose(self):
        """Yield (line number, text) outside front matter and fenced code, inline code removed."""
        fence = None
        for index in range(self.body_start, len(self.lines)):
            text = self.lines[index]
            match = FENCE.match(text)
            if match:
                marker = match.group(1)
                fence = None if fence == marker else (fence or marker)
                continue
            if fence is None:
                yield index + 1, INLINE_CODE.sub("", text)


@dataclass
class Vocabulary:
    tags: set[str]
    capabilities: set[str]
    techniques: set[str]
    modalities: set[str]
    organizations: set[str] = field(default_factory=set)


# --------------------------------------------------------------------------- YAML with lines


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml when present: 20x faster
    """Safe loader that keeps dates as strings, so a bad date is reported rather than raised."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))


def load_yaml(text: str) -> tuple[Any, yaml.Node | None]:
    """Parse one YAML document; return the data and its node tree (for line numbers)."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node) if node is not None else None), node
    finally:
        loader.dispose()


def line_of(node: yaml.Node | None, *keys: str | int, base: int = 1) -> int:
    """1-based line of the value at keys (mapping keys, sequence indices), else the deepest."""
    line = node.start_mark.line + base if node is not None else base
    for key in keys:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == key:
                    line, child = key_node.start_mark.line + base, value_node
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            child = node.value[key]
            line = child.start_mark.line + base
        if child is None:
            break
        node = child
    return line


def _yaml_error_line(error: yaml.YAMLError, base: int = 1) -> int:
    mark = getattr(error, "problem_mark", None)
    return mark.line + base if mark is not None else base


def is_iso_date(value: Any) -> bool:
    if not isinstance(value, str) or not ISO_DATE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def is_partial_date(value: str) -> bool:
    """YYYY-MM or YYYY-MM-DD, with a real month (and day)."""
    return is_iso_date(value) or is_iso_date(value + "-01")


# --------------------------------------------------------------------------- loading


def load_vocabulary(notes_dir: Path, problems: list[Problem]) -> Vocabulary:
    path = notes_dir / TAXONOMY_FILE
    data: Any = None
    node: yaml.Node | None = None
    try:
        data, node = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(Problem(path, 1, "missing taxonomy file"))
    except yaml.YAMLError as error:
        problems.append(Problem(path, _yaml_error_line(error), f"invalid YAML: {error}"))
    data = data if isinstance(data, dict) else {}
    problems += [Problem(path, line_of(node, *keys), message) for keys, message in organization_list_problems(data)]
    return Vocabulary(
        tags=set(data.get("tags") or ()),
        capabilities=set(data.get("capabilities") or ()),
        techniques=set(data.get("techniques") or ()),
        modalities=set(data.get("modalities") or ()),
        organizations={str(name) for name in data.get("organizations") or ()},
    )


def organization_list_problems(taxonomy: dict):
    """The one list of makers: names, each once, in alphabetical order (case ignored)."""
    names = taxonomy.get("organizations")
    if not isinstance(names, list) or not all(isinstance(name, str) and name.strip() for name in names):
        yield ("organizations",), "organizations must be a list of maker names"
        return
    for index in range(1, len(names)):
        before, name = names[index - 1], names[index]
        if name.casefold() == before.casefold():
            yield ("organizations", index), f"organization {name!r} is listed twice"
        elif name.casefold() < before.casefold():
            yield ("organizations", index), f"organization {name!r} is out of alphabetical order (after {before!r})"


def load_page(notes_dir: Path, path: Path, problems: list[Problem]) -> Page:
    lines = path.read_text(encoding="utf-8").splitlines()
    page = Page(path=path, rel=path.relative_to(notes_dir).as_posix(), lines=lines)
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
        if end is None:
            problems.append(Problem(path, 1, "front matter is not closed with '---'"))
        else:
            page.body_start, page.meta_line = end + 1, 2
            try:
                page.meta, page.meta_node = load_yaml("\n".join(lines[1:end]))
            except yaml.YAMLError as error:
                line = _yaml_error_line(error, base=2)
                problems.append(Problem(path, line, f"invalid front matter YAML: {error}"))
    page.anchors = find_anchors(page)
    return page


def find_anchors(page: Page) -> dict[str, list[int]]:
    """Explicit anchors: `#id` inside attribute lists such as `{#id}` or `{: #id .class}`."""
    anchors: dict[str, list[int]] = {}
    for number, text in page.prose():
        for attrs in ATTR_LIST.findall(text):
            for token in attrs.split():
                if token.startswith("#") and len(token) > 1:
                    anchors.setdefault(token[1:], []).append(number)
    return anchors


def find_pages(notes_dir: Path) -> list[Path]:
    return sorted(p for p in notes_dir.rglob("*.md") if p.is_file())


# --------------------------------------------------------------------------- page checks
# Each page check yields (line, message) for one page.


def check_front_matter(page: Page, vocab: Vocabulary):
    if page.body_start == 0:
        yield 1, "missing front matter (title, description, tags, updated)"
        return
    meta = page.meta if isinstance(page.meta, dict) else {}

    def line(*keys):
        return line_of(page.meta_node, *keys, base=page.meta_line)

    for key in ("title", "description"):
        if not isinstance(meta.get(key), str) or not meta[key].strip():
            yield line(key), f"front matter needs a `{key}`"
    tags = meta.get("tags")
    if not isinstance(tags, list) or not tags:
        yield line("tags"), "front matter needs `tags` (a list)"
    else:
        for index, tag in enumerate(tags):
            if tag not in vocab.tags:
                yield line("tags", index), f"unknown tag {tag!r} (not in {TAXONOMY_FILE})"
    if "updated" not in meta:
        yield line(), "front matter needs `updated` (YYYY-MM-DD)"
    elif not is_iso_date(meta["updated"]):
        yield line("updated"), f"`updated` {meta['updated']!r} is not an ISO date (YYYY-MM-DD)"


def check_duplicate_anchors(page: Page):
    for anchor, lines in page.anchors.items():
        for line in lines[1:]:
            yield line, f"duplicate anchor #{anchor} (first on line {lines[0]})"


def link_targets(page: Page):
    """Yield (line number, target) of inline links, images and reference definitions."""
    for number, text in page.prose():
        for target in INLINE_LINK.findall(text):
            yield number, target
        match = REFERENCE_LINK.match(text)
        if match:
            yield number, match.group(1)


def check_links(page: Page, pages: dict[str, Page], notes_dir: Path):
    for number, target in link_targets(page):
        if not target or SCHEME.match(target) or target.startswith("//"):
            continue  # external links are for people to check, not this script
        message = resolve_link(page.rel, target, pages, notes_dir)
        if message:
            yield number, message


def resolve_link(source: str, target: str, pages: dict[str, Page], notes_dir: Path) -> str | None:
    """Why a relative link from page `source` is broken, or None when it resolves."""
    path, _, anchor = target.partition("#")
    path = path.split("?", 1)[0]
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(source), path or source))
    if not path:
        resolved = source
    elif resolved == ".." or resolved.startswith("../"):
        return f"link {target!r} leaves the notes folder"
    elif path.endswith("/"):
        return f"link {target!r} should name the .md file, not a folder"
    if resolved in GENERATED_PAGES or resolved in GENERATED_DATA_FILES:
        return None  # anchors on generated pages are checked by `mkdocs build --strict`
    if resolved.endswith(".md"):
        if resolved not in pages:
            return f"link {target!r}: page {resolved} does not exist"
        if anchor and anchor not in pages[resolved].anchors:
            return f"link {target!r}: no explicit anchor {{#{anchor}}} on {resolved}"
        return None
    if not (notes_dir / resolved).exists():
        return f"link {target!r}: file {resolved} does not exist"
    return None


def check_sources(page: Page):
    if page.rel in PAGES_WITHOUT_SOURCES:
        return
    prose = list(page.prose())
    start = next((i for i, (_, text) in enumerate(prose) if SOURCES_HEADING.match(text)), None)
    if start is None:
        yield len(page.lines) or 1, "missing `## Sources {#sources}` section"
        return
    dates = []
    for number, text in prose[start + 1 :]:
        heading = HEADING.match(text)
        if heading and len(heading.group(1)) <= 2:
            break
        bullet = BULLET.match(text)
        if not bullet:
            continue
        match = DATED_LINK.match(bullet.group(1))
        if match and is_partial_date(match.group(1)):
            dates.append(match.group(1))
        else:
            yield number, "source is not `YYYY-MM[-DD] · [title](https://...) · why`"
    if not dates:
        yield prose[start][0], "sources section holds no dated link"
    elif (stale := stale_by_sources(page, dates)) is not None:
        yield prose[start][0], stale


def stale_by_sources(page: Page, dates: list[str]) -> str | None:
    """`updated` says the page was reviewed that day: it must then cite something from the year before it."""
    updated = page.meta.get("updated") if isinstance(page.meta, dict) else None
    if not is_iso_date(updated):
        return None  # reported by the front matter check
    reviewed = updated if isinstance(updated, date) else date.fromisoformat(str(updated))
    newest = max(date.fromisoformat(d if len(d) == 10 else d + "-28") for d in dates)
    if (reviewed - newest).days > FRESHNESS_DAYS:
        return (f"`updated` is {reviewed} but the newest source is from {newest:%Y-%m}: a page reviewed that day "
                f"cites something from the {FRESHNESS_DAYS} days before it (add what changed, or keep the old date)")
    return None


def check_generated_paths(page: Page):
    if page.rel in GENERATED_PAGES:
        yield 1, f"{page.rel} is generated at build time; remove the hand-written file"


# --------------------------------------------------------------------------- data checks
# Each row check yields (key path, message); the key path finds the line in the YAML.


def load_rows(path: Path, problems: list[Problem]) -> tuple[list[Any], yaml.Node | None]:
    """A data file's list of rows and its node tree; problems when missing or not a list."""
    try:
        rows, node = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(Problem(path, 1, "missing data file"))
        return [], None
    except yaml.YAMLError as error:
        problems.append(Problem(path, _yaml_error_line(error), f"invalid YAML: {error}"))
        return [], None
    if not isinstance(rows, list):
        problems.append(Problem(path, 1, "expected a list of rows"))
        return [], None
    return rows, node


def check_rows(path: Path, kind: str, ident: str, row_checks) -> list[Problem]:
    """Run row_checks(row) over every row of a data file; flag duplicate `ident` values."""
    problems: list[Problem] = []
    rows, node = load_rows(path, problems)
    first_line: dict[Any, int] = {}
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            problems.append(Problem(path, line_of(node, index), f"{kind} row is not a mapping"))
            continue
        what = f"{kind} {row.get(ident, f'#{index + 1}')!r}"
        for keys, message in row_checks(row):
            problems.append(Problem(path, line_of(node, index, *keys), f"{what}: {message}"))
        key = row.get(ident) if kind == "model" else (row.get(ident), row.get("category"))
        try:
            hash(key)
        except TypeError:  # not a scalar: reported by the row checks, and no duplicate of anything
            continue
        if key in first_line:
            line = line_of(node, index, ident)
            message = f"{what}: duplicate {ident} (first on line {first_line[key]})"
            problems.append(Problem(path, line, message))
        first_line.setdefault(key, line_of(node, index, ident))
    return problems


def key_problems(row: dict, required: tuple[str, ...], optional: tuple[str, ...]):
    for key in row:
        if key not in required and key not in optional:
            yield (key,), f"unknown key {key!r}"
    for key in required:
        if row.get(key) in (None, ""):
            yield (), f"missing {key!r}"


def model_row_problems(row: dict, vocab: Vocabulary, pages: dict[str, Page]):
    """Bad values in one catalog row (notes/data/models.yaml)."""
    yield from key_problems(row, MODEL_REQUIRED_KEYS, MODEL_OPTIONAL_KEYS)
    if "id" in row and not (isinstance(row["id"], str) and KEBAB.match(row["id"])):
        yield ("id",), f"id {row['id']!r} is not kebab-case"
    for key in ("name", "organization", "license"):
        if key in row and not isinstance(row[key], str):
            yield (key,), f"{key} must be a string"
    yield from organization_problems(row, vocab)
    if "released" in row and not is_iso_date(row["released"]):
        yield ("released",), f"released {row['released']!r} is not an ISO date (YYYY-MM-DD)"
    if "open_weights" in row and not isinstance(row["open_weights"], bool):
        yield ("open_weights",), "open_weights must be true or false"
    yield from size_problems(row)
    yield from vocabulary_problems(row, vocab)
    sources = row.get("sources")
    if "sources" in row and not (
        isinstance(sources, list) and sources and all(isinstance(s, str) and URL.match(s) for s in sources)
    ):
        yield ("sources",), "sources must be a list of at least one http(s) URL"
    aliases = row.get("aliases")
    if "aliases" in row and not (
        isinstance(aliases, list) and aliases and all(isinstance(a, str) and a.strip() for a in aliases)
    ):
        yield ("aliases",), "aliases must be a list of other spellings of the name, e.g. [SDXL]"
    yield from notes_problems(row, pages)


def organization_problems(row: dict, vocab: Vocabulary):
    """`organization` (the lead maker) and `collaborators` come from the taxonomy's one list."""
    organization = row.get("organization")
    if isinstance(organization, str) and organization and organization not in vocab.organizations:
        yield ("organization",), (
            f"organization {organization!r} is not in {TAXONOMY_FILE} organizations"
            " (one spelling per maker; add a new maker there)"
        )
    if "collaborators" not in row:
        return
    collaborators = row["collaborators"]
    if not isinstance(collaborators, list) or not collaborators:
        yield ("collaborators",), "collaborators must be a list of organisations, e.g. [Microsoft]"
        return
    seen: set[str] = set()
    for index, name in enumerate(collaborators):
        if not isinstance(name, str) or name not in vocab.organizations:
            yield ("collaborators", index), f"collaborator {name!r} is not in {TAXONOMY_FILE} organizations"
        elif name == organization:
            yield ("collaborators", index), f"collaborator {name!r} is already the row's organization"
        elif name in seen:
            yield ("collaborators", index), f"collaborator {name!r} is listed twice"
        else:
            seen.add(name)


def notes_problems(row: dict, pages: dict[str, Page]):
    """`notes: page.md#anchor` must resolve to a written page's section that names the model."""
    ref = row.get("notes")
    if ref is None or ref == "":
        return  # reported as a missing key
    if not isinstance(ref, str) or not ref.partition("#")[0].endswith(".md"):
        yield ("notes",), f"notes {ref!r} must name a page and a section, e.g. vision-language.md#blip"
        return
    path, _, anchor = ref.partition("#")
    if not anchor:
        yield ("notes",), f"notes {ref!r} has no anchor: point it at a section that names the model, {path}#..."
        return
    if message := resolve_link("index.md", ref, pages, Path()):
        yield ("notes",), f"notes reference does not resolve: {message}"
        return
    page = pages.get(posixpath.normpath(path))
    if page is None:  # a generated catalog page: it lists every model, so it explains none
        yield ("notes",), f"notes {ref!r} must point at a written page, not a generated one"
        return
    names = model_names(row)
    if names and not any(names_model(section_text(page, anchor), name) for name in names):
        spelled = " or ".join(repr(name) for name in names)
        yield ("notes",), (
            f"section {ref} never names the model ({spelled}); point notes at a section that"
            " does, or add the spelling the prose uses to `aliases`"
        )


def model_names(row: dict) -> list[str]:
    """The spellings a section may use for a row: its name, the name without a parenthesised
    qualifier ("Claude 3 (Haiku, Sonnet, Opus)" is named by "Claude 3"), and its aliases."""
    names: list[str] = []
    name = row.get("name")
    if isinstance(name, str):
        names += [name, re.sub(r"\s*\([^)]*\)", " ", name).strip()]
    aliases = row.get("aliases")
    if isinstance(aliases, list):
        names += [alias for alias in aliases if isinstance(alias, str)]
    return list(dict.fromkeys(" ".join(n.split()) for n in names if n.strip()))


def section_text(page: Page, anchor: str) -> str:
    """The prose of the section an anchor opens: its heading and the text up to the next heading
    of the same or a higher level (subsections included). Anchors, link targets and inline code
    are left out, so a URL or an `{#id}` cannot name a model on the section's behalf."""
    line = page.anchors[anchor][0]
    prose = list(page.prose())
    start = next(i for i, (number, _) in enumerate(prose) if number == line)
    heading = HEADING.match(prose[start][1])
    level = len(heading.group(1)) if heading else 7  # an anchor on a paragraph: up to any heading
    texts = [prose[start][1]]
    for _, text in prose[start + 1 :]:
        match = HEADING.match(text)
        if match and len(match.group(1)) <= level:
            break
        texts.append(text)
    text = ATTR_LIST.sub(" ", " ".join(texts))
    text = re.sub(r"\]\([^)]*\)", "] ", text)  # [label](target): the label only
    return " ".join(re.sub(r"https?://\S+", " ", text).split())


# What may not follow a model's name where the text names it: more of a word ("GPT-4o"), a version
# ("GPT-4.5", "BLIP-2", "PaLM 2", "Claude 3"); a size may ("Llama 3.1 405B", "Falcon 180B", "Gemma 2B").
NOT_AFTER_NAME = r"(?!\w|[.-]\d|\s+\d+(?:\.\d+)*(?![\d.]|\s*[KMBT]\b))"


def names_model(text: str, name: str) -> bool:
    """Whether text names the model: the whole name, case-insensitive, and not as the start of a
    longer word or of a later version ("GPT-4" is not named by "GPT-4o" or "GPT-4.5", nor "PaLM"
    by "PaLM 2"). A number after the name counts as a version unless a size unit follows it."""
    words = r"\s+".join(re.escape(word) for word in name.split())
    return re.search(rf"(?<!\w){words}{NOT_AFTER_NAME}", text, re.IGNORECASE) is not None


def size_problems(row: dict):
    parameters = row.get("parameters")
    if parameters is not None and not (
        isinstance(parameters, list) and parameters and all(isinstance(p, str) and SIZE.match(p) for p in parameters)
    ):
        yield ("parameters",), f"parameters {parameters!r} must be a list of sizes like [7B, 70B]"
    active = row.get("active_parameters")
    if active is not None and not (isinstance(active, str) and SIZE.match(active)):
        yield ("active_parameters",), f"active_parameters {active!r} must be a size such as 37B"
    window = row.get("context_window")
    if window is not None and (type(window) is not int or window < 1):
        yield ("context_window",), f"context_window {window!r} must be a positive integer"


def vocabulary_problems(row: dict, vocab: Vocabulary):
    for key, noun, allowed in (
        ("capabilities", "capability", vocab.capabilities),
        ("techniques", "technique", vocab.techniques),
    ):
        values = row.get(key)
        if key not in row:
            continue
        if not isinstance(values, list):
            yield (key,), f"{key} must be a list"
            continue
        for index, value in enumerate(values):
            if value not in allowed:
                yield (key, index), f"unknown {noun} {value!r} (not in {TAXONOMY_FILE} {key})"
        if key == "techniques" and NOT_DISCLOSED in values and len(values) > 1:
            yield (key, values.index(NOT_DISCLOSED)), (
                f"{NOT_DISCLOSED!r} stands alone: the maker published nothing about training,"
                " or list what it published"
            )
    modalities = row.get("modalities")
    if "modalities" not in row:
        return
    if not isinstance(modalities, dict) or set(modalities) != {"input", "output"}:
        yield ("modalities",), "modalities must be {input: [...], output: [...]}"
        return
    for side in ("input", "output"):
        values = modalities[side]
        # An empty output is fine: embedding models output vectors, which are no modality.
        if not isinstance(values, list) or (side == "input" and not values):
            yield ("modalities", side), f"modalities.{side} must be a list of modalities"
            continue
        for index, value in enumerate(values):
            if value not in vocab.modalities:
                message = f"unknown modality {value!r} (not in {TAXONOMY_FILE})"
                yield ("modalities", side, index), message


def modifier_row_problems(row: dict):
    """Bad values in one image-prompt modifier row (notes/data/image_prompt_modifiers.yaml)."""
    yield from key_problems(row, MODIFIER_REQUIRED_KEYS, MODIFIER_OPTIONAL_KEYS)
    category = row.get("category")
    if "category" in row and category not in MODIFIER_CATEGORIES:
        yield ("category",), f"category {category!r} is not one of {', '.join(MODIFIER_CATEGORIES)}"
    for key in ("term", "effect", "example"):
        if key in row and not isinstance(row[key], str):
            yield (key,), f"{key} must be a string"
    yield from works_with_problems(row)
    source = row.get("source")
    if source is not None and not (isinstance(source, str) and URL.match(source)):
        yield ("source",), "source must be an http(s) URL"


def news_row_problems(row: dict, vocab: Vocabulary, pages: dict[str, Page]):
    """Bad values in one row of the news log (notes/data/news.yaml)."""
    yield from key_problems(row, NEWS_REQUIRED_KEYS, NEWS_OPTIONAL_KEYS)
    when = row.get("date")
    if "date" in row and not (isinstance(when, str) and is_partial_date(when)):
        yield ("date",), f"date {when!r} is not an ISO date (YYYY-MM-DD) or a year-month (YYYY-MM)"
    title = row.get("title")
    if "title" in row and not (isinstance(title, str) and title.strip() and "\n" not in title.strip()):
        yield ("title",), "title must be one line of text"
    source = row.get("source")
    if "source" in row and not (isinstance(source, str) and URL.match(source)):
        yield ("source",), f"source {source!r} must be an http(s) URL"
    if "page" in row:
        yield from news_page_problems(row["page"], pages)
    tags = row.get("tags")
    if "tags" in row and not (isinstance(tags, list) and tags):
        yield ("tags",), "tags must be a non-empty list of taxonomy tags"
    elif isinstance(tags, list):
        for index, tag in enumerate(tags):
            if tag not in vocab.tags:
                yield ("tags", index), f"unknown tag {tag!r} (not in {TAXONOMY_FILE})"


def news_page_problems(ref: Any, pages: dict[str, Page]):
    """`page: page.md#anchor` must name a written page and an explicit anchor on it."""
    if ref is None or ref == "":
        return  # reported as a missing key
    if not isinstance(ref, str) or not ref.partition("#")[0].endswith(".md"):
        yield ("page",), f"page {ref!r} must name a page and a section, e.g. agents.md#mcp-revisions"
        return
    path, _, anchor = ref.partition("#")
    if not anchor:
        yield ("page",), f"page {ref!r} has no anchor: point it at the section that explains the event"
        return
    if message := resolve_link("index.md", ref, pages, Path()):
        yield ("page",), f"page reference does not resolve: {message}"
    elif posixpath.normpath(path) not in pages:  # generated pages resolve, but explain nothing
        yield ("page",), f"page {ref!r} must point at a written page, not a generated one"


def check_news(path: Path, vocab: Vocabulary, pages: dict[str, Page]) -> list[Problem]:
    """The news log's rows one by one, then their order: oldest first, by date."""
    problems = check_rows(path, "news", "title", lambda row: news_row_problems(row, vocab, pages))
    rows, node = load_rows(path, [])  # a missing or broken file is already reported
    previous: str | None = None
    for index, row in enumerate(rows):
        when = row.get("date") if isinstance(row, dict) else None
        if not (isinstance(when, str) and is_partial_date(when)):
            continue  # reported by the row check
        if previous is not None and when < previous:
            line = line_of(node, index, "date")
            what = f"news {row.get('title', f'#{index + 1}')!r}"
            problems.append(Problem(path, line, f"{what}: date {when} comes after {previous}; keep rows oldest first"))
        previous = when if previous is None or when > previous else previous
    return problems


def works_with_problems(row: dict):
    """`works_with`: the families a modifier depends on, from the schema's codes, or `any` alone."""
    works_with = row.get("works_with")
    if "works_with" not in row:
        return
    if not isinstance(works_with, list) or not works_with or not all(isinstance(w, str) for w in works_with):
        families = ", ".join(WORKS_WITH_FAMILIES)
        yield ("works_with",), f"works_with must be a list of model families ({families}) or [any]"
        return
    for index, code in enumerate(works_with):
        if code != WORKS_WITH_ANY and code not in WORKS_WITH_FAMILIES:
            yield ("works_with", index), (
                f"unknown family {code!r} in works_with (one of {', '.join(WORKS_WITH_FAMILIES)}, or [any])"
            )
    if WORKS_WITH_ANY in works_with and len(works_with) > 1:
        yield ("works_with", works_with.index(WORKS_WITH_ANY)), (
            f"{WORKS_WITH_ANY!r} stands alone: the modifier is plain language that no family owns, or list the"
            " families whose syntax or training it depends on"
        )


# --------------------------------------------------------------------------- entry points


def check(notes_dir: Path | str) -> list[str]:
    """Every problem in the notes at notes_dir, as `file:line: problem` lines."""
    notes_dir = Path(notes_dir)
    problems: list[Problem] = []
    vocab = load_vocabulary(notes_dir, problems)
    pages: dict[str, Page] = {}
    for path in find_pages(notes_dir):
        page = load_page(notes_dir, path, problems)
        pages[page.rel] = page
    for page in pages.values():
        problems += [
            Problem(page.path, line, message)
            for line, message in (
                *check_generated_paths(page),
                *check_front_matter(page, vocab),
                *check_duplicate_anchors(page),
                *check_links(page, pages, notes_dir),
                *check_sources(page),
            )
        ]
    problems += check_rows(notes_dir / MODELS_FILE, "model", "id", lambda row: model_row_problems(row, vocab, pages))
    problems += check_rows(notes_dir / MODIFIERS_FILE, "modifier", "term", modifier_row_problems)
    problems += check_news(notes_dir / NEWS_FILE, vocab, pages)
    return [str(problem) for problem in problems]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    default = Path(__file__).resolve().parent.parent / "notes"
    notes_dir = Path(argv[0]) if argv else default
    if not notes_dir.is_dir():
        print(f"{notes_dir}: not a folder", file=sys.stderr)
        return 2
    problems = check(notes_dir)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {notes_dir}", file=sys.stderr)
        return 1
    print(f"{notes_dir}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
