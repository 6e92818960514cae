"""tools/check_notes.py: passes on the real notes, and names file and line of each breakage.

Each breakage is made on purpose in a copy of the notes (the real ones, and a small fixture
that does not depend on the pages being written), and must come back as `file:line: problem`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import check_notes  # noqa: E402  (tools/ is not a package)

PAGE = """---
title: {title}
description: A page of the fixture.
tags: [vision-language, evaluation]
updated: 2023-06-01
---

# {title}

Intro with a [link to B](b.md#details) and to the [catalog](catalog/models.md).

## Details {{#details}}

Text about BLIP and BLIP-2, and `{{#not-an-anchor}}` in code, and a same-page [link](#details).

```markdown
[a link in a code block](nowhere.md)
```

## Sources {{#sources}}

- 2022-01-28 · [BLIP](https://arxiv.org/abs/2201.12086) · the paper.
- 2023-01 · [BLIP-2](https://arxiv.org/abs/2301.12597) · the follow-up.
"""

MODELS = """\
- id: blip
  name: BLIP
  organization: Salesforce
  released: 2022-01-28
  parameters: [224M, 446M]
  active_parameters: null
  open_weights: true
  license: BSD-3-Clause
  modalities: {input: [image, text], output: [text]}
  context_window: null
  capabilities: [captioning, vqa, image-text-matching]
  techniques: [pretraining, bootstrapped-captions]
  sources: [https://arxiv.org/abs/2201.12086]
  notes: a.md#details
- id: blip-2
  name: BLIP-2
  organization: Salesforce
  released: 2023-01-30
  open_weights: true
  license: MIT
  modalities: {input: [image, text], output: [text]}
  capabilities: [captioning, vqa]
  techniques: [q-former]
  sources:
    - https://arxiv.org/abs/2301.12597
  notes: b.md#details
"""

MODIFIERS = """\
- term: golden hour
  category: lighting
  effect: Warm, low, directional light.
  example: a harbour at golden hour
  works_with: [sdxl, flux]
  source: https://example.com/guide
- term: blurry
  category: negative
  effect: Pushes away soft focus.
  example: "negative: blurry"
  works_with: [sd15]
"""

NEWS = """\
- date: 2022-01
  title: BLIP learns captioning and matching from bootstrapped web captions
  source: https://arxiv.org/abs/2201.12086
  page: a.md#details
  tags: [vision-language]
- date: 2023-01-30
  title: BLIP-2 bridges a frozen image encoder and a frozen LLM
  source: https://arxiv.org/abs/2301.12597
  page: b.md#details
  tags: [vision-language, news]
"""


def make_fixture(root: Path) -> Path:
    """A small, valid notes folder: two pages, an index, tags, and the three data files."""
    notes = root / "notes"
    (notes / "data").mkdir(parents=True)
    shutil.copy(REPO / "notes/data/taxonomy.yaml", notes / "data/taxonomy.yaml")
    (notes / "a.md").write_text(PAGE.format(title="Page A"))
    (notes / "b.md").write_text(PAGE.format(title="Page B").replace("b.md#details", "a.md"))
    (notes / "index.md").write_text(
        "---\ntitle: Home\ndescription: Home.\ntags: [meta]\nupdated: 2026-11-01\n---\n\n"
        "# Home\n\nSee [A](a.md), [tags](tags.md) and [modifiers](catalog/image-prompt-modifiers.md).\n"
    )
    (notes / "tags.md").write_text(
        "---\ntitle: Tags\ndescription: Tags.\ntags: [meta]\nupdated: 2026-11-01\n---\n\n"
        "# Tags\n\n<!-- material/tags -->\n"
    )
    (notes / "data/models.yaml").write_text(MODELS)
    (notes / "data/image_prompt_modifiers.yaml").write_text(MODIFIERS)
    (notes / "data/news.yaml").write_text(NEWS)
    return notes


@pytest.fixture(params=["fixture", "real"])
def notes(request, tmp_path) -> tuple[Path, str]:
    """A writable copy of the notes and the page the breakages go into."""
    if request.param == "fixture":
        return make_fixture(tmp_path), "a.md"
    copy = tmp_path / "notes"
    shutil.copytree(REPO / "notes", copy)
    return copy, "vision-language.md"


# --------------------------------------------------------------------------- helpers


def edit_line(path: Path, pattern: str, new: str | None) -> int:
    """Replace (or delete, when new is None) the first line matching pattern, with the block
    value under it if it has one (`sources:` then `- url` lines); return its line number."""
    lines = path.read_text().split("\n")
    index = next(i for i, line in enumerate(lines) if re.match(pattern, line))

    def indent(line: str) -> int:
        return len(line) - len(line.lstrip())

    end = index + 1
    if lines[index].rstrip().endswith(":"):
        while (
            end < len(lines)
            and lines[end].strip()
            and (
                indent(lines[end]) > indent(lines[index])
                or (indent(lines[end]) == indent(lines[index]) and lines[end].lstrip().startswith("- "))
            )
        ):
            end += 1
    lines[index:end] = [] if new is None else [new]
    path.write_text("\n".join(lines))
    return index + 1


def insert_before_sources(path: Path, text: str) -> int:
    """Insert one line just before the page's sources heading; return its line number."""
    lines = path.read_text().split("\n")
    index = lines.index("## Sources {#sources}")
    lines[index:index] = [text, ""]
    path.write_text("\n".join(lines))
    return index + 1


def assert_problem(notes_dir: Path, rel: str, line: int, fragment: str) -> None:
    problems = check_notes.check(notes_dir)
    prefix = f"{notes_dir / rel}:{line}: "
    assert any(p.startswith(prefix) and fragment in p for p in problems), (
        f"expected {prefix}...{fragment}... in:\n" + "\n".join(problems)
    )


# --------------------------------------------------------------------------- passing


def test_real_notes_pass():
    assert check_notes.check(REPO / "notes") == []


@pytest.mark.parametrize(("updated", "stale"), [
    ("2023-06-01", False),  # newest source 2023-01: reviewed within the year
    ("2024-01-20", False),  # a month-only date counts to the end of that month
    ("2024-03-01", True),
    ("2026-11-01", True),
])
def test_a_page_reviewed_long_after_its_newest_source_is_stale(tmp_path, updated, stale):
    notes = make_fixture(tmp_path)
    page = notes / "a.md"
    page.write_text(page.read_text().replace("updated: 2023-06-01", f"updated: {updated}"))
    problems = [p for p in check_notes.check(notes) if "newest source" in p]
    if stale:
        assert problems == [f"{page}:20: `updated` is {updated} but the newest source is from 2023-01: a page reviewed "
                            "that day cites something from the 365 days before it (add what changed, or keep the old "
                            "date)"]
    else:
        assert problems == []


def test_fixture_passes(tmp_path):
    assert check_notes.check(make_fixture(tmp_path)) == []


def test_cli_exit_codes(tmp_path):
    notes_dir = make_fixture(tmp_path)
    script = [sys.executable, str(REPO / "tools/check_notes.py"), str(notes_dir)]
    ok = subprocess.run(script, check=False, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    line = edit_line(notes_dir / "a.md", r"tags:", "tags: [vision-language, nonsense]")
    bad = subprocess.run(script, check=False, capture_output=True, text=True)
    assert bad.returncode == 1
    assert bad.stdout.splitlines() == [
        f"{notes_dir / 'a.md'}:{line}: unknown tag 'nonsense' (not in data/taxonomy.yaml)"
    ]


# --------------------------------------------------------------------------- pages


def test_missing_title(notes):
    notes_dir, page = notes
    edit_line(notes_dir / page, r"title:", None)
    assert_problem(notes_dir, page, 2, "front matter needs a `title`")


def test_missing_front_matter(notes):
    notes_dir, page = notes
    path = notes_dir / page
    path.write_text(path.read_text().split("---\n", 2)[2])
    assert_problem(notes_dir, page, 1, "missing front matter")


def test_duplicate_anchor(notes):
    notes_dir, page = notes
    line = insert_before_sources(notes_dir / page, "## Once more {#sources}")
    assert_problem(notes_dir, page, line + 2, "duplicate anchor #sources (first on line")


def test_dangling_link(notes):
    notes_dir, page = notes
    line = insert_before_sources(notes_dir / page, "See [this](no-such-page.md).")
    assert_problem(notes_dir, page, line, "page no-such-page.md does not exist")


def test_dangling_anchor(notes):
    notes_dir, page = notes
    line = insert_before_sources(notes_dir / page, "See [home](index.md#no-such-anchor).")
    assert_problem(notes_dir, page, line, "no explicit anchor {#no-such-anchor} on index.md")


def test_link_out_of_the_notes(notes):
    notes_dir, page = notes
    line = insert_before_sources(notes_dir / page, "See [the code](../mcp_server/cli.py).")
    assert_problem(notes_dir, page, line, "leaves the notes folder")


def test_page_without_sources(notes):
    notes_dir, page = notes
    path = notes_dir / page
    text = path.read_text().split("## Sources {#sources}")[0].rstrip() + "\n"
    path.write_text(text)
    assert_problem(notes_dir, page, text.count("\n"), "missing `## Sources {#sources}` section")


def test_undated_source(notes):
    notes_dir, page = notes
    path = notes_dir / page
    path.write_text(path.read_text().rstrip() + "\n- [Undated](https://example.com) · no date\n")
    assert_problem(notes_dir, page, path.read_text().count("\n"), "source is not `YYYY-MM[-DD]")


# --------------------------------------------------------------------------- catalog rows

MODELS_FILE = "data/models.yaml"


def test_catalog_unknown_technique_and_modality(notes):
    notes_dir, _ = notes
    line = edit_line(notes_dir / MODELS_FILE, r"  techniques:", "  techniques: [magic]")
    assert_problem(notes_dir, MODELS_FILE, line, "unknown technique 'magic'")
    line = edit_line(notes_dir / MODELS_FILE, r"  modalities:", "  modalities: {input: [smell], output: [text]}")
    assert_problem(notes_dir, MODELS_FILE, line, "unknown modality 'smell'")


def test_catalog_unknown_key(notes):
    notes_dir, _ = notes
    line = edit_line(notes_dir / MODELS_FILE, r"  name:", "  name: X\n  colour: blue")
    assert_problem(notes_dir, MODELS_FILE, line + 1, "unknown key 'colour'")


def test_catalog_duplicate_id(notes):
    notes_dir, _ = notes
    path = notes_dir / MODELS_FILE
    first_id = re.search(r"^- id: (\S+)", path.read_text(), re.MULTILINE).group(1)
    text = path.read_text().rstrip("\n") + "\n"
    path.write_text(text + f"- id: {first_id}\n")
    assert_problem(notes_dir, MODELS_FILE, text.count("\n") + 1, "duplicate id (first on line")


def first_row(path: Path) -> dict[str, str]:
    """The scalar `key: value` lines of the first catalog row."""
    row: dict[str, str] = {}
    for line in path.read_text().split("\n"):
        if line.startswith("- id:") and row:
            break
        match = re.match(r"^(?:- |  )(\w+): (.+)$", line)
        if match:
            row[match.group(1)] = match.group(2)
    return row


def test_catalog_notes_section_must_name_the_model(notes):
    """A `notes` anchor whose section never names the model is refused at the `notes` line;
    an alias that the section uses makes it pass."""
    notes_dir, page = notes
    insert_before_sources(notes_dir / page, "## Nothing about models {#unrelated}")
    path = notes_dir / MODELS_FILE
    name = first_row(path)["name"]
    line = edit_line(path, r"  notes:", f"  notes: {page}#unrelated")
    assert_problem(notes_dir, MODELS_FILE, line, f"section {page}#unrelated never names the model ('{name}')")
    edit_line(path, r"  name:", f"  name: {name}\n  aliases: [models]")
    assert not [p for p in check_notes.check(notes_dir) if "never names the model" in p]


def test_catalog_notes_is_required(notes):
    notes_dir, _ = notes
    path = notes_dir / MODELS_FILE
    line = edit_line(path, r"  notes:", None)  # the row's next line, or the next row, moves up to it
    lines = path.read_text().split("\n")
    row = max(i for i in range(line - 1) if lines[i].startswith("- id:")) + 1
    assert_problem(notes_dir, MODELS_FILE, row, "missing 'notes'")


def test_catalog_collaborator_repeats_the_organization(notes):
    notes_dir, _ = notes
    path = notes_dir / MODELS_FILE
    organization = first_row(path)["organization"]
    line = edit_line(path, r"  open_weights:", f"  collaborators: [{organization}]\n  open_weights: true")
    assert_problem(notes_dir, MODELS_FILE, line, f"collaborator '{organization}' is already the row's organization")


@pytest.mark.parametrize("name, text, named", [
    ("GPT-4", "the GPT-4 technical report", True),
    ("GPT-4", "GPT-4o and GPT-4.5", False),  # a longer name, a later version
    ("BLIP", "BLIP-2 (2023)", False),
    ("PaLM", "PaLM 2 was smaller", False),
    ("PaLM", "the 540B PaLM (2022)", True),
    ("Llama 3.1", "llama 3.1 405B", True),  # case-insensitive; a size may follow
    ("Llama 3", "Llama 3.1", False),
    ("Falcon", "Falcon 180B", True),
    ("Qwen3", "[Qwen3] (2025-04)", True),
])
def test_names_model(name, text, named):
    assert check_notes.names_model(text, name) is named


@pytest.mark.parametrize("row, names", [
    ({"name": "Claude 4 (Opus 4, Sonnet 4)"}, ["Claude 4 (Opus 4, Sonnet 4)", "Claude 4"]),
    ({"name": "Stable Diffusion XL (SDXL)", "aliases": ["SDXL"]},
     ["Stable Diffusion XL (SDXL)", "Stable Diffusion XL", "SDXL"]),
    ({"name": "GPT-4o"}, ["GPT-4o"]),
])
def test_model_names(row, names):
    assert check_notes.model_names(row) == names


def test_section_text_ends_at_the_next_heading_of_its_level(tmp_path):
    notes_dir = make_fixture(tmp_path)
    path = notes_dir / "a.md"
    insert_before_sources(
        path, "## Outer {#outer}\n\nOuter text, [a link](https://gpt-9.example).\n\n### Inner {#inner}\n\nInner text."
    )
    page = check_notes.load_page(notes_dir, path, [])
    outer = check_notes.section_text(page, "outer")
    assert "Outer text" in outer and "Inner text" in outer and "Sources" not in outer
    assert "gpt-9" not in outer  # neither link targets nor `{#anchors}` name a model
    assert check_notes.section_text(page, "inner") == "### Inner Inner text."


TAXONOMY_FILE = "data/taxonomy.yaml"


@pytest.mark.parametrize("pattern, replacement, message", [
    (r"  - Apple$", "  - Anthropic", "organization 'Anthropic' is listed twice"),
    (r"  - Apple$", "  - Aardvark AI", "organization 'Aardvark AI' is out of alphabetical order (after 'Anthropic')"),
])
def test_organization_list_is_one_sorted_list(notes, pattern, replacement, message):
    notes_dir, _ = notes
    line = edit_line(notes_dir / TAXONOMY_FILE, pattern, replacement)
    assert_problem(notes_dir, TAXONOMY_FILE, line, message)


# --------------------------------------------------------------------------- modifier rows

MODIFIERS_FILE = "data/image_prompt_modifiers.yaml"


def test_modifier_unknown_key_and_missing_effect(notes):
    notes_dir, _ = notes
    path = notes_dir / MODIFIERS_FILE
    line = edit_line(path, r"  effect:", "  mood: calm")
    assert_problem(notes_dir, MODIFIERS_FILE, line, "unknown key 'mood'")
    lines = path.read_text().split("\n")
    row = max(i for i in range(line) if lines[i].startswith("- term:")) + 1
    assert_problem(notes_dir, MODIFIERS_FILE, row, "missing 'effect'")


# --------------------------------------------------------------------------- news rows

NEWS_FILE = "data/news.yaml"


def row_lines(path: Path) -> list[int]:
    """1-based line numbers where the news rows start."""
    return [i + 1 for i, line in enumerate(path.read_text().split("\n")) if line.startswith("- date:")]


def test_news_unknown_key_and_missing_source(notes):
    notes_dir, _ = notes
    path = notes_dir / NEWS_FILE
    line = edit_line(path, r"  source:", "  link: https://example.com")
    assert_problem(notes_dir, NEWS_FILE, line, "unknown key 'link'")
    assert_problem(notes_dir, NEWS_FILE, row_lines(path)[0], "missing 'source'")


def test_news_rows_must_be_in_date_order(notes):
    """A row dated before the one above it is reported at its own date line."""
    notes_dir, _ = notes
    path = notes_dir / NEWS_FILE
    edit_line(path, r"- date:", "- date: 2099-12")
    second = row_lines(path)[1]
    assert_problem(notes_dir, NEWS_FILE, second, "comes after 2099-12; keep rows oldest first")


def test_news_month_sorts_before_its_days(tmp_path):
    """YYYY-MM then YYYY-MM-DD of the same month is in order; the reverse is not."""
    notes_dir = make_fixture(tmp_path)
    path = notes_dir / NEWS_FILE
    edit_line(path, r"- date:", "- date: 2023-01")
    assert check_notes.check(notes_dir) == []
    edit_line(path, r"- date:", "- date: 2023-01-31")
    assert_problem(notes_dir, NEWS_FILE, row_lines(path)[1], "date 2023-01-30 comes after 2023-01-31")


# --------------------------------------------------------------------------- one broken line each

THE_PAGE = None  # stands for the page the fixture breaks


@pytest.mark.parametrize("file, pattern, replacement, message", [
    (THE_PAGE, r"tags:", "tags: [vision-language, cooking]", "unknown tag 'cooking'"),
    (THE_PAGE, r"updated:", "updated: 2026-13-45", "`updated` '2026-13-45' is not an ISO date"),
    (MODELS_FILE, r"  capabilities:", "  capabilities: [mind-reading]", "unknown capability 'mind-reading'"),
    (MODELS_FILE, r"  released:", "  released: 2023-02-30", "released '2023-02-30' is not an ISO date"),
    (MODELS_FILE, r"  sources:", "  sources: []", "at least one http(s) URL"),
    (MODELS_FILE, r"  notes:", "  notes: vision-language.md#nope", "notes reference does not resolve"),
    (MODELS_FILE, r"  notes:", "  notes: index.md", "has no anchor: point it at a section that names the model"),
    (MODELS_FILE, r"  notes:", "  notes: catalog/models.md#blip", "must point at a written page, not a generated one"),
    (MODELS_FILE, r"  organization:", "  organization: Facebook AI",
     "organization 'Facebook AI' is not in data/taxonomy.yaml organizations"),
    (MODELS_FILE, r"  open_weights:", "  collaborators: [Nowhere Labs]\n  open_weights: true",
     "collaborator 'Nowhere Labs' is not in data/taxonomy.yaml organizations"),
    (MODELS_FILE, r"  open_weights:", "  collaborators: Microsoft\n  open_weights: true",
     "collaborators must be a list of organisations"),
    (MODELS_FILE, r"  open_weights:", "  aliases: []\n  open_weights: true",
     "aliases must be a list of other spellings"),
    (MODELS_FILE, r"  techniques:", "  techniques: [pretraining, not-disclosed]", "'not-disclosed' stands alone"),
    (MODIFIERS_FILE, r"  category:", "  category: texture", "category 'texture' is not one of"),
    (NEWS_FILE, r"- date:", "- date: 2025-13", "date '2025-13' is not an ISO date (YYYY-MM-DD) or a year-month"),
    (NEWS_FILE, r"- date:", "- date: March 2025", "date 'March 2025' is not an ISO date"),
    (NEWS_FILE, r"  title:", "  title: [a, list]", "title must be one line of text"),
    (NEWS_FILE, r"  source:", "  source: arxiv.org/abs/2201.12086", "must be an http(s) URL"),
    (NEWS_FILE, r"  page:", "  page: index.md", "has no anchor: point it at the section that explains the event"),
    (NEWS_FILE, r"  page:", "  page: no-such-page.md#x", "page no-such-page.md does not exist"),
    (NEWS_FILE, r"  page:", "  page: index.md#nope", "no explicit anchor {#nope} on index.md"),
    (NEWS_FILE, r"  page:", "  page: news.md#2025-01", "must point at a written page, not a generated one"),
    (NEWS_FILE, r"  tags:", "  tags: [cooking]", "unknown tag 'cooking'"),
    (NEWS_FILE, r"  tags:", "  tags: []", "tags must be a non-empty list of taxonomy tags"),
    (MODIFIERS_FILE, r"  works_with:", "  works_with: [sdxl, dalle]", "unknown family 'dalle' in works_with"),
    (MODIFIERS_FILE, r"  works_with:", "  works_with: [sdxl, any]", "'any' stands alone"),
    (MODIFIERS_FILE, r"  works_with:", "  works_with: []", "works_with must be a list of model families"),
])
def test_one_broken_line_is_reported_at_its_line(notes, file, pattern, replacement, message):
    notes_dir, page = notes
    file = file or page
    line = edit_line(notes_dir / file, pattern, replacement)
    assert_problem(notes_dir, file, line, message)
