"""The knowledge base as the notes tools use it: search, read, the model catalog and citations.

Everything runs against the real notes/ folder. The last tests build the real site with MkDocs
and check that every URL the service hands out (search hits, citations, the catalog) lands on
an element with that id, so a citation can never point at a section the site does not have.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from notes_queries import QUERIES

from mcp_server.config import Http, Notes, Settings
from mcp_server.errors import AiNotesError, BadInputError, ConfigError, NotFoundError
from mcp_server.knowledge.index import to_fts_query
from mcp_server.knowledge.pages import GENERATED_PAGES, load_pages, parse_page
from mcp_server.knowledge.service import NotesService

REPO = Path(__file__).resolve().parents[1]
NOTES = REPO / "notes"
BASE = "http://notes.test/ai/"
MODEL_ROWS = yaml.safe_load((NOTES / "data/models.yaml").read_text(encoding="utf-8"))
TAXONOMY = yaml.safe_load((NOTES / "data/taxonomy.yaml").read_text(encoding="utf-8"))
VL = "vision-language.md"


@pytest.fixture(scope="module")
def notes() -> NotesService:
    return NotesService(Settings(notes=Notes(site_url=BASE)))


# --------------------------------------------------------------------------- search


@pytest.mark.parametrize("case", QUERIES, ids=[q.query for q in QUERIES])
def test_query_finds_its_page_in_the_top_3(notes, case):
    if not (NOTES / case.page).is_file():
        pytest.skip(f"{case.page} is not written yet")
    hits = notes.search(case.query, limit=3).hits
    assert case.page in [h.path for h in hits], [h.uri for h in hits]


def test_queries_cover_every_page():
    pages = {p.relative_to(NOTES).as_posix() for p in NOTES.rglob("*.md")} - {"tags.md"}
    assert pages - {q.page for q in QUERIES} == set()
    assert len(QUERIES) >= 25


def test_a_hit_carries_everything_needed_to_cite_it(notes):
    hits = notes.search("Q-Former learnable query vectors", limit=5).hits
    top = hits[0]
    assert top.model_dump() == {
        "title": "Vision-language models",
        "section": "The Q-Former",
        "url": BASE + "vision-language/#q-former",
        "uri": "notes://vision-language.md#q-former",
        "path": VL,
        "snippet": top.snippet,
        "tags": ["vision-language", "evaluation", "open-weights"],
        "updated": "2026-12-02",
        "score": top.score,
    }
    assert "**learnable query vectors**" in top.snippet
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert top.score > 0


def test_a_page_introduction_is_cited_by_the_page_url(notes):
    hit = notes.search("how models connect images and text", limit=1).hits[0]
    assert (hit.section, hit.url, hit.uri) == ("Vision-language models", BASE + "vision-language/", f"notes://{VL}")


def test_a_heading_over_sub_sections_gets_an_opening_as_snippet(notes):
    hit = notes.search("captioning failure modes", limit=1).hits[0]
    assert hit.uri == f"notes://{VL}#captioning-failure-modes"
    assert hit.snippet.startswith("Object hallucination Captioners mention objects")


def test_limit_and_tags_filter(notes):
    assert len(notes.search("prompt injection", limit=2).hits) == 2
    unfiltered = notes.search("prompt injection", limit=10).hits
    assert any("search-rag" not in h.tags for h in unfiltered)
    hits = notes.search("prompt injection", limit=10, tags=["search-rag"]).hits
    assert hits and all("search-rag" in h.tags for h in hits)
    assert hits[0].uri == "notes://text-search.md#prompt-injection-risk"
    either = notes.search("prompt injection", limit=20, tags=["search-rag", "security"]).hits
    assert {"security.md", "text-search.md"} <= {h.path for h in either}
    assert all({"search-rag", "security"} & set(h.tags) for h in either)
    meta = notes.search("prompt injection", limit=20, tags=["meta"]).hits
    assert {h.path for h in meta} <= {"index.md", "contributing.md", "tags.md"}


@pytest.mark.parametrize(
    "query",
    [
        '"unbalanced quote',
        "AND OR NOT",
        "NEAR(a b)",
        "* ^ col:xyz",
        "title:blip",
        "blip*",
        "((( q",
        "-- ;DROP TABLE",
        "é",
    ],
)
def test_fts5_syntax_never_escapes_from_a_query(notes, query):
    assert isinstance(notes.search(query).hits, list)


def test_query_terms_are_quoted_and_paired():
    assert (
        to_fts_query("How does BLIP-2 use the Q-Former?")
        == '"blip-2" OR "use" OR "q-former" OR "blip-2 use" OR "use q-former"'
    )
    assert to_fts_query("the") == '"the"'  # only stopwords: keep them rather than search for nothing


@pytest.mark.parametrize("query", ["", "   ", "?!", "***"])
def test_an_empty_query_is_bad_input(notes, query):
    with pytest.raises(BadInputError, match="query.*empty"):
        notes.search(query)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"limit": 0}, "bad argument limit: Input should be greater than or equal to 1 (got 0)"),
    ({"limit": 21}, "bad argument limit: Input should be less than or equal to 20 (got 21)"),
    ({"tags": ["nope"]}, "unknown tag"),
])
def test_bad_search_arguments(notes, kwargs, message):
    with pytest.raises(BadInputError, match=re.escape(message)) as err:
        notes.search("blip", **kwargs)
    if "tags" in kwargs:
        assert "vision-language" in str(err.value)  # it lists the allowed tags


def test_searches_from_many_threads_on_a_cold_service_agree():
    fresh = NotesService(Settings(notes=Notes(site_url=BASE)))
    queries = [q.query for q in QUERIES] * 4
    with ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(lambda q: fresh.search(q).hits, queries))
    assert parallel == [fresh.search(q).hits for q in queries]


# --------------------------------------------------------------------------- read


def test_read_a_whole_page(notes):
    note = notes.read(VL)
    assert (note.title, note.url, note.uri) == ("Vision-language models", BASE + "vision-language/", f"notes://{VL}")
    assert note.markdown.startswith("# Vision-language models\n")
    assert "## Sources {#sources}" in note.markdown and "updated:" not in note.markdown.split("\n")[0]
    assert (note.tags, note.updated) == (["vision-language", "evaluation", "open-weights"], "2026-12-02")


def test_read_a_section_returns_it_with_its_sub_sections(notes):
    note = notes.read(f"{VL}#blip-2")
    assert (note.title, note.url, note.uri) == (
        "Vision-language models › BLIP-2",
        BASE + "vision-language/#blip-2",
        f"notes://{VL}#blip-2",
    )
    assert note.markdown.startswith("## BLIP-2 {#blip-2}\n")
    assert "### The Q-Former {#q-former}" in note.markdown
    assert "## Flamingo" not in note.markdown


@pytest.mark.parametrize(
    "ref",
    [
        f"{VL}#vqa",
        f"notes://{VL}#vqa",
        BASE + "vision-language/#vqa",
        BASE + "vision-language/index.html#vqa",
        "http://localhost:9999/ai/vision-language/#vqa",  # same site, another host name
        "vision-language#vqa",
        "/vision-language/#vqa",
        "notes/vision-language.md#vqa",
    ],
)
def test_a_section_by_path_url_or_uri(notes, ref):
    assert notes.read(ref) == notes.read(f"{VL}#vqa")


def test_the_home_page_by_url_and_uri(notes):
    assert notes.read(BASE).uri == notes.read("notes://index.md").uri == "notes://index.md"
    assert notes.read(BASE).url == BASE


@pytest.mark.parametrize(
    ("ref", "error", "names"),
    [
        ("vision-languag.md", NotFoundError, "vision-language.md"),
        ("notes://secruity.md#jailbreaks", NotFoundError, "security.md"),
        (f"{VL}#blip3", NotFoundError, "#blip"),
        (BASE + "vision-language/#q-formr", NotFoundError, "#q-former"),
        ("catalog/models.md", NotFoundError, "find_models"),
        ("../../etc/passwd", NotFoundError, "pages:"),
        ("https://example.com/vision-language/", BadInputError, BASE),
        ("  ", BadInputError, "empty"),
    ],
)
def test_unknown_pages_and_anchors(notes, ref, error, names):
    with pytest.raises(error) as err:
        notes.read(ref)
    assert names in str(err.value) and "\n" not in str(err.value)


def test_pages_lists_every_written_page(notes):
    listed = {page.path: (page.title, page.description) for page in notes.pages()}
    assert set(listed) == {p.relative_to(NOTES).as_posix() for p in NOTES.rglob("*.md")} - set(GENERATED_PAGES)
    assert listed[VL][0] == "Vision-language models"
    assert listed[VL][1].startswith("How models connect images and text")


# --------------------------------------------------------------------------- page parsing


PAGE = """---
title: Example
description: A page.
tags: [meta]
updated: 2026-01-02
---

# Example

Intro text.

## Explicit anchor {#kept}

Body one.

### Café & crème: `code` and [a link](https://example.com) {: #custom .cls }

## No anchor here

```markdown
## Not a heading {#fenced}
```

## No anchor here

Last.
"""


def test_sections_and_their_anchors():
    page = parse_page("example.md", PAGE)
    assert (page.title, page.tags, page.updated) == ("Example", ("meta",), "2026-01-02")
    got = [(s.anchor, s.heading, s.level) for s in page.sections]
    assert got == [
        (None, "Example", 1),
        ("kept", "Explicit anchor", 2),
        ("custom", "Café & crème: code and a link", 3),
        ("no-anchor-here", "No anchor here", 2),
        ("no-anchor-here_1", "No anchor here", 2),
    ]
    assert page.section("kept").markdown.startswith("## Explicit anchor {#kept}\n\nBody one.\n\n### Café")
    assert page.section("kept").own_markdown == "Body one.\n"
    assert "## Not a heading" in page.section("no-anchor-here").own_markdown


def test_anchors_match_python_markdown_toc():
    markdown = pytest.importorskip("markdown")
    from mcp_server.knowledge.pages import toc_slug

    for heading in ["Tool use: how models call functions", "GPT-4o (2024-05) & o1", "Café crème", "What’s new?"]:
        html = markdown.markdown(f"## {heading}", extensions=["toc"])
        assert f'id="{toc_slug(heading)}"' in html


# --------------------------------------------------------------------------- catalog


def direct_filter(capability=None, modality=None, open_weights=None, organization=None, released_after=None):
    """The same question answered by hand over models.yaml: the reference for find_models."""
    rows = [
        r
        for r in MODEL_ROWS
        if (capability is None or capability in r["capabilities"])
        and (modality is None or modality in r["modalities"]["input"] + r["modalities"]["output"])
        and (open_weights is None or r["open_weights"] == open_weights)
        and (organization is None or organization.lower() in r["organization"].lower())
        and (released_after is None or r["released"] > dt.date.fromisoformat(released_after))
    ]
    return [r["id"] for r in sorted(rows, key=lambda r: (r["released"], r["id"]))]


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"capability": "tool-use"},
        {"modality": "image"},
        {"modality": "audio", "open_weights": False},
        {"capability": "code", "open_weights": True},
        {"organization": "meta"},
        {"organization": "SALESFORCE", "capability": "vqa", "modality": "image"},
        {"released_after": "2024-06-30", "open_weights": True},
        {"capability": "fill-in-the-middle", "released_after": "2023-01-01"},
    ],
    ids=repr,
)
def test_find_models_equals_a_direct_filter(notes, filters):
    result = notes.find_models(**filters)
    expected = direct_filter(**filters)
    assert expected, "the combination should match something, or the test proves little"
    assert [m.id for m in result.models] == expected
    assert result.citation.model_dump() == {
        "title": "Model catalog",
        "url": BASE + "catalog/models/",
        "uri": "notes://catalog/models",
    }


def test_a_catalog_row_comes_back_as_written(notes):
    row = next(r for r in MODEL_ROWS if r["id"] == "blip")
    model = next(m for m in notes.find_models(organization="salesforce").models if m.id == "blip")
    dumped = model.model_dump(mode="json")
    assert {k: dumped[k] for k in row} == {**row, "released": row["released"].isoformat()}


def test_capability_spelling_is_forgiven_but_not_invented(notes):
    assert notes.find_models(capability="Tool use").models == notes.find_models(capability="tool-use").models
    with pytest.raises(BadInputError) as err:
        notes.find_models(capability="telepathy")
    assert "unknown capability 'telepathy'" in str(err.value)
    assert all(c in str(err.value) for c in TAXONOMY["capabilities"])


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"modality": "smell"}, "unknown modality 'smell'; use one of: text, image, audio, video"),
        ({"released_after": "last year"}, "released_after must be an ISO date"),
        ({"released_after": "2024-13-01"}, "released_after must be an ISO date"),
    ],
)
def test_bad_catalog_filters(notes, filters, message):
    with pytest.raises(BadInputError, match=message):
        notes.find_models(**filters)


def test_catalog_json_is_the_whole_catalog(notes):
    data = json.loads(notes.catalog_json())
    assert [m["id"] for m in data["models"]] == direct_filter()
    assert data["citation"]["uri"] == "notes://catalog/models"


# --------------------------------------------------------------------------- citations and URLs


@pytest.mark.parametrize(
    ("family", "task", "anchors"),
    [
        ("blip", "caption", ["blip", "captioning", "captioning-failure-modes"]),
        ("blip-2", "caption", ["blip-2", "captioning", "captioning-failure-modes"]),
        ("blip-2", "vqa", ["blip-2", "vqa"]),
        ("blip", "vqa", ["blip", "vqa"]),
        ("blip", "match", ["blip", "image-text-matching"]),
        ("BLIP2", "vqa", ["blip-2", "vqa"]),
        (None, "match", ["image-text-matching"]),
        ("unknown-family", None, []),
    ],
)
def test_citations_point_at_sections_that_exist(notes, family, task, anchors):
    citations = notes.citations(family, task)
    assert [c.uri for c in citations] == [f"notes://{VL}#{a}" for a in anchors]
    for citation in citations:
        note = notes.read(citation.uri)
        assert note.url == citation.url == BASE + "vision-language/#" + citation.uri.partition("#")[2]
        assert note.title.endswith(" › " + citation.title)


def test_citation_titles_are_the_section_headings(notes):
    titles = [c.title for c in notes.citations("blip", "caption") + notes.citations("blip-2", "vqa")]
    assert titles == ["BLIP", "Captioning", "Captioning failure modes", "BLIP-2", "Visual question answering"]


def test_base_url_precedence():
    settings = Settings(http=Http(host="127.0.0.9", port=9000))
    # Nothing serves the site (stdio, the CLI): the URI, which opens in read_note, not a dead web address.
    assert NotesService(settings).url("a/b.md", "x") == "notes://a/b.md#x"
    assert NotesService(settings, base_url="https://h/n").url("index.md") == "https://h/n/"
    site = Settings(notes=Notes(site_url="https://notes.example/"))
    assert NotesService(site, base_url="https://h/n/").url("a/index.md") == "https://notes.example/a/"
    assert NotesService.uri("a/b.md", "x") == "notes://a/b.md#x"


def test_a_configured_notes_dir_is_used(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "taxonomy.yaml").write_text("tags: {meta: x}\ncapabilities: {}\nmodalities: [text]\n")
    (tmp_path / "hello.md").write_text(PAGE)
    service = NotesService(Settings(notes=Notes(dir=str(tmp_path))))
    assert [h.uri for h in service.search("crème", limit=1).hits] == ["notes://hello.md#custom"]
    assert service.citations("blip", "caption") == []  # no vision page here: no citation, no error
    with pytest.raises(NotFoundError, match="models.yaml"):
        service.find_models()
    with pytest.raises(ConfigError, match="is not a folder"):
        NotesService(Settings(notes=Notes(dir=str(tmp_path / "missing")))).search("x")


def test_notes_are_found_in_the_checkout_else_in_the_wheel(tmp_path, monkeypatch):
    import mcp_server
    from mcp_server.knowledge.pages import find_notes_dir

    assert find_notes_dir(Settings()) == NOTES  # editable install: the checkout's notes/
    installed = tmp_path / "site-packages" / "mcp_server"
    (installed / "_site" / "notes").mkdir(parents=True)
    (tmp_path / "site-packages" / "notes").mkdir()  # someone else's folder: not a checkout without mkdocs.yml
    monkeypatch.setattr(mcp_server, "__file__", str(installed / "__init__.py"))
    assert find_notes_dir(Settings()) == installed / "_site" / "notes"


# --------------------------------------------------------------------------- against the built site


class Ids(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.ids.update(value for name, value in attrs if name == "id" and value)


@pytest.fixture(scope="module")
def built_site(tmp_path_factory) -> Path:
    if not (REPO / "mkdocs.yml").is_file():
        pytest.skip("mkdocs.yml does not exist yet, so there is no site to check URLs against")
    site_dir = tmp_path_factory.mktemp("knowledge-site")
    try:
        from mcp_server.knowledge.site import build_site

        return build_site(site_dir, site_url=BASE)
    except (ImportError, AiNotesError):
        # The strict build's own test (test_site.py) reports strict failures; these URLs only
        # need the pages rendered, so fall back to a plain build.
        command = [sys.executable, "-m", "mkdocs", "build", "-f", str(REPO / "mkdocs.yml"), "-d", str(site_dir)]
        subprocess.run(command, check=True, capture_output=True, cwd=REPO)
        return site_dir


_ids_cache: dict[Path, set[str]] = {}


def ids_at(site: Path, url: str) -> set[str] | None:
    """The element ids of the built page a URL under BASE names, or None when there is no page."""
    assert url.startswith(BASE), url
    page = site / url.removeprefix(BASE).partition("#")[0] / "index.html"
    if not page.is_file():
        return None
    if page not in _ids_cache:
        _ids_cache[page] = Ids(page.read_text(encoding="utf-8")).ids
    return _ids_cache[page]


def test_every_url_handed_out_resolves_in_the_built_site(notes, built_site):
    urls = {h.url for q in QUERIES for h in notes.search(q.query, limit=5).hits}
    urls |= {
        c.url
        for family in ("blip", "blip-2")
        for task in ("caption", "vqa", "match")
        for c in notes.citations(family, task)
    }
    urls.add(notes.find_models().citation.url)
    assert len(urls) > 50
    for url in sorted(urls):
        ids = ids_at(built_site, url)
        assert ids is not None, f"{url}: no such page in the built site"
        anchor = url.partition("#")[2]
        assert not anchor or anchor in ids, f"{url}: the page has no element with id {anchor!r}"


def test_every_section_anchor_exists_in_the_built_site(notes, built_site):
    """Explicit anchors and the toc slugs computed for headings without one, page by page."""
    for path, page in load_pages(NOTES).items():
        ids = ids_at(built_site, notes.url(path))
        assert ids is not None, f"{path} was not built"
        assert [a for a in page.anchors if a not in ids] == [], f"{path}: anchors the site does not have"


@pytest.mark.parametrize(("query", "first"), [
    ("benchmark contamination", "evaluation.md"),  # the home page lists every page's topics in passing
    ("how do I add a page to the notes", "contributing.md"),  # ...but questions about the notes still find it
])
def test_pages_about_the_notes_rank_below_the_topic_pages_they_mention(notes, query, first):
    assert notes.search(query, limit=3).hits[0].path == first
