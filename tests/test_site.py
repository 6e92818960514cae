"""The notes site: a strict MkDocs build, its generated pages and files, and the site as a reader meets it.

The build runs once per session through `mcp_server.knowledge.site.build_site`, the path the server takes,
with a public site_url. The browser tests drive headless Debian Chromium through Selenium against the site
served on 127.0.0.1 under /notes/, as `ai-notes-mcp serve --http` serves it, and measure what a reader
minds: rows on screen, sticky headers, tables that fit, row anchors, filters that survive a reload, search
that puts the right page first, the search index loaded only when wanted, the stale warning by the reader's
date. They are skipped only when Chromium or chromedriver is missing and CI is not set; CI installs them
(`apt-get install chromium chromium-driver`). Screenshots (desktop and phone, light and dark) go to
tests/artifacts/ (git-ignored) or to $AI_NOTES_TEST_ARTIFACTS.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import re
import shutil
import sys
import threading
import time
from datetime import date
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from mcp_server.errors import AiNotesError
from mcp_server.knowledge.site import build_site, site_needs_build

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import make_prompt_figures  # noqa: E402  (tools/ is not a package)
import site_hooks  # noqa: E402
import site_llms  # noqa: E402

SITE_URL = "http://notes.example/ai/"
MODELS = yaml.safe_load((REPO / "notes/data/models.yaml").read_text())
MODIFIERS = yaml.safe_load((REPO / "notes/data/image_prompt_modifiers.yaml").read_text())
NEWS = yaml.safe_load((REPO / "notes/data/news.yaml").read_text())
NEWEST_RELEASE = max(str(m["released"]) for m in MODELS)

# A query per page that a reader would type, and the page the site's own search must put first. Every page
# in the search index needs at least one (test_every_searchable_page_has_a_query).
SEARCH_QUERIES = [
    ("how the notes are organised", ""),
    ("report an error", "contributing/"),
    ("scaling laws", "text/"),
    ("direct preference optimization", "text-chat/"),
    ("chat template", "text-chat/"),
    ("reciprocal rank fusion", "text-search/"),
    ("fill-in-the-middle", "code/"),
    ("BLIP-2", "vision-language/"),
    ("Q-Former", "vision-language/"),
    ("classifier-free guidance", "image-generation/"),
    ("latent diffusion", "image-generation/"),
    ("negative prompt", "image-prompts/"),
    ("word error rate", "audio/"),
    ("Whisper", "audio/"),
    ("prompt injection", "security/"),
    ("indirect prompt injection", "security/"),
    ("jailbreak", "security/"),
    ("quantization", "small-models/"),
    ("LoRA", "small-models/"),
    ("paged attention", "infra/"),
    ("speculative decoding", "infra/"),
    ("Model Context Protocol", "agents/"),
    ("A2A", "agents/"),
    ("context engineering", "prompting/"),
    ("prompt caching", "prompting/"),
    ("few-shot", "prompting/"),
    ("contamination", "evaluation/"),
    ("LLM as a judge", "evaluation/"),
    ("Perplexity", "products/"),
    ("newsletters", "resources/"),
    ("model catalog", "catalog/models/"),
    ("prompt modifiers", "catalog/image-prompt-modifiers/"),
    ("dated events newest first", "news/"),
]


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    return build_site(tmp_path_factory.mktemp("site"), site_url=SITE_URL)


class Tables(HTMLParser):
    """Collects the tables of an HTML page as lists of body rows (lists of cell texts), and the body rows' ids."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.row_ids: list[list[str | None]] = []
        self._in_body = self._in_cell = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
            self.row_ids.append([])
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.tables[-1].append([])
            self.row_ids[-1].append(dict(attrs).get("id"))
        elif tag == "td" and self._in_body:
            self._in_cell = True
            self.tables[-1][-1].append("")

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_body = False
        elif tag == "td":
            self._in_cell = False

    def handle_data(self, data):
        if self._in_cell:
            self.tables[-1][-1][-1] += data


def page_html(site: Path, path: str) -> str:
    return (site / path / "index.html").read_text(encoding="utf-8")


def model_row(site: Path, model_id: str) -> str:
    html = page_html(site, "catalog/models")
    match = re.search(rf'<tr id="{re.escape(model_id)}"[^>]*>.*?</tr>', html, re.DOTALL)
    assert match, model_id
    return match[0]


# --------------------------------------------------------------------------- the build


def test_strict_build_writes_every_page_and_file(site):
    for path in [
        "index.html",
        "contributing/index.html",
        "catalog/models/index.html",
        "catalog/capabilities/index.html",
        "catalog/timeline/index.html",
        "catalog/image-prompt-modifiers/index.html",
        "news/index.html",
        "catalog/models.json",
        "catalog/models.csv",
        "catalog/image-prompt-modifiers.json",
        "catalog/image-prompt-modifiers.csv",
        "tags/index.html",
        "llms.txt",
        "llms-full.txt",
        "index.html.md",
        "security/index.html.md",
        "search/search_index.json",
        "assets/notes.js",
        "assets/catalog.js",
        *(f"assets/figures/{name}" for name in make_prompt_figures.FIGURES),
    ]:
        assert (site / path).is_file(), path
    assert not (site / "overrides").exists()  # theme templates are not pages


def test_catalog_has_a_row_per_model_anchored_by_its_id(site):
    [ids] = Tables(page_html(site, "catalog/models")).row_ids
    assert ids == [m["id"] for m in sorted(MODELS, key=lambda m: (str(m["released"]), m["name"]), reverse=True)]
    row = model_row(site, "llama-4-scout")
    assert 'href="#llama-4-scout"' in row  # the row links itself, for citing


def test_generated_pages_follow_the_data(site):
    timeline = Tables(page_html(site, "catalog/timeline")).tables
    assert sum(len(rows) for rows in timeline) == len(MODELS)
    years = {str(m["released"])[:4] for m in MODELS}
    assert all(f'id="y{year}"' in page_html(site, "catalog/timeline") for year in years)
    matrix = Tables(page_html(site, "catalog/capabilities"))
    assert sorted(matrix.row_ids[0]) == sorted(m["id"] for m in MODELS)
    assert page_html(site, "catalog/image-prompt-modifiers").count("<tr data-category=") == len(MODIFIERS)


def test_news_page_has_months_newest_first_and_links_that_resolve(site):
    html = page_html(site, "news")
    months = re.findall(r'<h2 id="(\d{4}-\d{2})"', html)
    assert months == sorted({str(row["date"])[:7] for row in NEWS}, reverse=True)
    assert html.count("<li><strong>") == len(NEWS)
    links = re.findall(r'<a href="(\.\./[^"#]+)#([^"]+)">in the notes', html)  # each event's explaining section
    assert len(links) == len(NEWS)
    for path, anchor in set(links):
        target = (site / "news" / path).resolve() / "index.html"
        assert f'id="{anchor}"' in target.read_text(encoding="utf-8"), (path, anchor)


def test_each_row_links_the_section_that_names_the_model(site):
    html = page_html(site, "catalog/models")
    for model in MODELS:
        notes_link = r'<td class="c-notes"><a href="([^"#]+)#([^"]+)"[^>]*>([^<]+)</a>'
        cell = re.search(notes_link, model_row(site, model["id"]))
        assert cell, model["id"]
        path, anchor, text = cell.groups()
        target = (site / "catalog/models" / path).resolve() / "index.html"
        assert f'id="{anchor}"' in target.read_text(encoding="utf-8"), model["notes"]
        page_title, _, heading = text.partition(" › ")
        assert page_title and heading, text  # "Text models › Mixture of experts"
    assert html.count('<td class="c-notes">') == len(MODELS)


def test_empty_values_say_what_they_mean(site):
    undisclosed = next(m for m in MODELS if m["techniques"] == ["not-disclosed"])
    assert '<td class="c-chips c-tech"><span class="nil">not disclosed</span>' in model_row(site, undisclosed["id"])
    no_techniques = next(m for m in MODELS if m["techniques"] == [])
    assert '<td class="c-chips c-tech"><span class="nil">none</span>' in model_row(site, no_techniques["id"])
    no_size = next(m for m in MODELS if not m.get("parameters"))
    assert '<td class="c-num c-size"><span class="nil">not published</span>' in model_row(site, no_size["id"])
    with_partners = next(m for m in MODELS if m.get("collaborators"))
    assert f"{with_partners['organization']} with {', '.join(with_partners['collaborators'])}" in model_row(
        site, with_partners["id"])
    assert "—" not in Tables(page_html(site, "catalog/models")).tables[0][0]  # no bare dashes
    assert '<td class="no"></td>' in page_html(site, "catalog/capabilities")  # marked by CSS, explained on the page
    assert "any model" in page_html(site, "catalog/image-prompt-modifiers")


def test_catalog_data_files_hold_the_data(site):
    data = json.loads((site / "catalog/models.json").read_text())
    assert data["count"] == len(data["models"]) == len(MODELS)
    assert {m["id"] for m in data["models"]} == {m["id"] for m in MODELS}
    assert data["data_as_of"] == NEWEST_RELEASE
    scout = next(m for m in data["models"] if m["id"] == "llama-4-scout")
    assert scout["url"] == f"{SITE_URL}catalog/models/#llama-4-scout"
    assert scout["notes_url"].startswith(SITE_URL) and "#" in scout["notes_url"]
    rows = list(csv.DictReader(io.StringIO((site / "catalog/models.csv").read_text())))
    assert [r["id"] for r in rows] == [m["id"] for m in data["models"]]
    assert rows[0]["capabilities"] == "; ".join(data["models"][0]["capabilities"])
    modifiers = json.loads((site / "catalog/image-prompt-modifiers.json").read_text())
    assert modifiers["count"] == len(MODIFIERS)
    assert len(list(csv.DictReader(io.StringIO((site / "catalog/image-prompt-modifiers.csv").read_text())))) == len(
        MODIFIERS)
    assert 'href="../models.json"' in page_html(site, "catalog/models")  # linked from the page


def test_pages_show_their_date_and_generated_pages_the_date_of_their_data(site):
    for html_file in site.rglob("index.html"):
        assert 'class="notes-updated"' in html_file.read_text(encoding="utf-8"), html_file
    for page in ("catalog/models", "catalog/capabilities", "catalog/timeline"):
        html = page_html(site, page)
        assert f'data-updated="{NEWEST_RELEASE}"' in html
        assert f"Data as of {NEWEST_RELEASE}" in html
    home = page_html(site, "")
    updated = yaml.safe_load((REPO / "notes/index.md").read_text().split("---")[1])["updated"]
    assert f"Updated {updated}" in home


def test_footer_links_licence_repository_report_and_contributing(site):
    footer = page_html(site, "security").split('class="md-footer-meta')[-1]
    assert "Apache-2.0" in footer and "licenses/LICENSE-2.0" in footer
    assert ">Repository<" in footer and ">Report an error<" in footer and ">Contributing<" in footer
    assert 'href="../contributing/#report-an-error"' in footer


def test_home_page_is_for_readers(site):
    home = (REPO / "notes/index.md").read_text()
    assert "{#contributing}" not in home and "python tools/check_notes.py" not in home
    assert "(contributing.md)" in home
    assert 'id="report-an-error"' in page_html(site, "contributing")


def test_figures_are_drawn_by_their_script():
    assert make_prompt_figures.main(["--check"]) == 0, "run: python tools/make_prompt_figures.py"
    page = (REPO / "notes/image-prompts.md").read_text()
    for name in make_prompt_figures.FIGURES:
        assert f"(assets/figures/{name})" in page, name


def test_tags_page_lists_the_taxonomy_tags(site):
    html = page_html(site, "tags")
    assert 'id="tag:vision-language"' in html
    assert 'id="tag:catalog"' in html


# --------------------------------------------------------------------------- search index


def search_index(site: Path) -> dict:
    return json.loads((site / "search/search_index.json").read_text())


def test_search_index_leaves_out_indexes_and_repeated_data(site):
    pages = {doc["location"].split("#")[0] for doc in search_index(site)["docs"]}
    assert not {"tags/", "catalog/timeline/", "catalog/capabilities/"} & pages
    models = next(doc for doc in search_index(site)["docs"] if doc["location"] == "catalog/models/")
    assert "llama-4-scout" not in models["text"]  # the table is left out; the prose pages name the models


def test_search_does_not_cut_model_names_or_let_tags_outrank_text(site):
    config = search_index(site)["config"]
    assert config["fields"]["tags"]["boost"] < config["fields"]["title"]["boost"]
    intros = [doc for doc in search_index(site)["docs"] if "#" not in doc["location"]]
    assert intros and all(doc["boost"] == site_hooks.INTRO_WEIGHT for doc in intros)


def test_every_searchable_page_has_a_query(site):
    pages = {doc["location"].split("#")[0] for doc in search_index(site)["docs"]}
    assert pages - {page for _, page in SEARCH_QUERIES} == set(), "add a query for each page to SEARCH_QUERIES"


# --------------------------------------------------------------------------- for agents


def test_llms_txt_indexes_pages_copies_and_data(site):
    index = (site / "llms.txt").read_text()
    assert index.startswith("# AI notes\n\n> ")
    links = re.findall(r"^- \[([^\]]+)\]\((\S+)\)", index, re.MULTILINE)
    urls = [url for _, url in links]
    assert f"{SITE_URL}vision-language/" in urls
    assert f"{SITE_URL}catalog/models/" in urls
    assert f"{SITE_URL}catalog/models.json" in urls and f"{SITE_URL}catalog/models.csv" in urls
    assert f"{SITE_URL}security/index.html.md" in index
    assert all(url.startswith(SITE_URL) for url in urls)
    assert "Tags" not in [title for title, _ in links]
    copy = (site / "vision-language/index.html.md").read_text()
    assert copy.startswith("---\ntitle: ") and "## Sources {#sources}" in copy
    assert f"]({SITE_URL}text/#" in copy or f"]({SITE_URL}" in copy  # relative links became URLs


def test_llms_full_holds_each_fact_once_under_200_kb(site):
    full = (site / "llms-full.txt").read_text()
    assert len(full.encode()) < 200_000
    assert "127.0.0.1" not in full and f"URL: {SITE_URL}security/" in full
    assert not re.search(r"<(?:div|span|table|tr|td|p|a|form|figure|img)\b", full)  # no leftover HTML
    titles = re.findall(r"^# (.+)$", full, re.MULTILINE)
    assert len(titles) == len(set(titles))  # each page once
    assert "Tags" not in titles and "Capability matrix" not in titles and "Release timeline" not in titles
    for model in MODELS:  # the catalog once, one line per model
        assert full.count(f" {{#{model['id']}}}; ") == 1, model["id"]
    assert "## Prompt injection {#prompt-injection}" in full


def test_agents_files_use_paths_not_a_loopback_host():
    assert site_llms.public_base("http://127.0.0.1:8765/notes/") == "/notes/"
    assert site_llms.public_base("http://localhost:8000/") == "/"
    assert site_llms.public_base("http://0.0.0.0:8765/notes/") == "/notes/"
    assert site_llms.public_base("https://notes.example/ai") == "https://notes.example/ai/"
    assert site_llms.public_base(None) == "/"


def test_site_is_offline(site):
    """No page loads a script, stylesheet, image or font from another host."""
    external = re.compile(r"<(?:script|link|img)\b[^>]*\b(?:src|href)=\"(?:https?:)?//[^\"]*\"[^>]*>")
    for html_file in site.rglob("*.html"):
        for tag in external.findall(html_file.read_text(encoding="utf-8")):
            assert 'rel="canonical"' in tag or 'rel="alternate"' in tag, (html_file, tag)
    assert "fonts.googleapis" not in page_html(site, "")


def test_unknown_tag_fails_the_build(tmp_path):
    for name in ("mkdocs.yml", "notes", "tools", "mcp_server"):  # a self-contained copy: its own schema
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy
        copy(REPO / name, tmp_path / name, **({"ignore": shutil.ignore_patterns("__pycache__")}
                                               if (REPO / name).is_dir() else {}))
    page = tmp_path / "notes/index.md"
    page.write_text(page.read_text().replace("tags: [meta]", "tags: [meta, cooking]", 1))
    with pytest.raises(AiNotesError, match="Tags not in allow list: cooking"):  # the tags plugin itself
        build_site(tmp_path / "site", config_file=tmp_path / "mkdocs.yml")


# --------------------------------------------------------------------------- hooks and rebuilds


def test_stale_warning_is_in_every_page_and_shown_when_stale_at_build():
    today = date(2026, 11, 22)
    fresh = site_hooks.add_page_header("# Title\n\nText.\n", "2025-11-22", today)
    stale = site_hooks.add_page_header("# Title\n\nText.\n", date(2025, 11, 21), today)
    assert "Updated 2025-11-22" in fresh
    assert fresh.index("# Title") < fresh.index("Updated") < fresh.index("Text.")
    assert 'class="admonition warning notes-stale" data-updated="2025-11-22" data-search-exclude hidden>' in fresh
    assert 'data-updated="2025-11-21" data-search-exclude>' in stale  # visible without JavaScript
    generated = site_hooks.add_page_header("# T\n", "2026-09-20", today, "Data as of 2026-09-20")
    assert ">Data as of 2026-09-20</p>" in generated and "Updated" not in generated
    assert site_hooks.is_stale(date(2023, 2, 27), date(2024, 2, 29))  # a leap day builds too
    assert not site_hooks.is_stale(date(2023, 2, 28), date(2024, 2, 29))


def test_site_needs_build(tmp_path):
    notes, site_dir = tmp_path / "notes", tmp_path / "site"
    notes.mkdir()
    (notes / "page.md").write_text("# Page\n")
    assert site_needs_build(site_dir, notes)  # nothing built yet
    site_dir.mkdir()
    (site_dir / "index.html").write_text("<html></html>")
    now = time.time()
    os.utime(notes / "page.md", (now - 60, now - 60))
    assert not site_needs_build(site_dir, notes)
    os.utime(notes / "page.md", (now + 60, now + 60))  # a page edited after the build
    assert site_needs_build(site_dir, notes)


# --------------------------------------------------------------------------- in a browser


def browser_paths() -> tuple[str, str] | None:
    chromium = next(filter(None, map(shutil.which, ["chromium", "chromium-browser", "google-chrome"])), None)
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


@pytest.fixture(scope="session")
def base_url(site, tmp_path_factory):
    """The built site served under /notes/ on 127.0.0.1, on a free port."""
    root = tmp_path_factory.mktemp("www")
    (root / "notes").symlink_to(site, target_is_directory=True)

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/notes/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    paths = browser_paths()
    if paths is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install chromium and chromium-driver for the browser test")
        pytest.skip("chromium and chromedriver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for flag in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ]:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=paths[1]))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture()
def reader(browser):
    """The browser as a desktop reader at 1400 x 1000 in light mode; a test may change it, and gets it back."""
    set_view(browser, 1400, 1000)
    yield browser
    set_view(browser, 1400, 1000)
    if browser.current_url.startswith("http"):
        browser.execute_script("localStorage.clear()")  # no palette left chosen for the next test


@pytest.fixture(scope="session")
def artifacts() -> Path:
    folder = Path(os.environ.get("AI_NOTES_TEST_ARTIFACTS", REPO / "tests" / "artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def set_view(driver, width: int, height: int) -> None:
    """The viewport a reader has: a desktop window, or a phone (touch, no scrollbars) below 600 px."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})


def wait_for(driver, condition, timeout: float = 15, poll: float = 0.2):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=poll).until(condition)


def open_catalog(driver, url: str) -> None:
    """Load a catalog page and wait for catalog.js to have wired its filters."""
    driver.get(url)
    wait_for(driver, lambda d: d.execute_script(
        "return document.querySelector('form.catalog-filters[data-ready]') !== null"))


def visible_rows(driver, selector: str) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0])).filter(r => r.offsetParent !== null)"
        ".map(r => r.id || r.dataset.find)", selector)


def test_catalog_is_dense_and_its_header_stays_on_screen(reader, base_url, artifacts):
    open_catalog(reader, base_url + "catalog/models/")
    on_screen = reader.execute_script("""
        return Array.from(document.querySelectorAll('#models-table tbody tr')).filter(row => {
          const box = row.getBoundingClientRect();
          return box.top >= 0 && box.bottom <= innerHeight;
        }).length""")
    assert on_screen >= 10
    reader.save_screenshot(str(artifacts / "catalog-1400.png"))
    reader.execute_script("window.scrollTo(0, 3000)")
    time.sleep(0.2)
    header = reader.execute_script("""
        const th = document.querySelector('#models-table thead th');
        const box = th.getBoundingClientRect();
        const hit = document.elementFromPoint(box.left + 5, box.top + box.height / 2);
        return [box.top, box.bottom, th.contains(hit)]""")
    assert header[0] >= 0 and header[1] < 120 and header[2], header  # under Material's header, not covered
    reader.save_screenshot(str(artifacts / "catalog-1400-scrolled.png"))


def test_matrix_headings_stay_on_screen(reader, base_url):
    open_catalog(reader, base_url + "catalog/capabilities/")
    reader.execute_script("window.scrollTo(0, 2500)")
    time.sleep(0.2)
    top, bottom, seen = reader.execute_script("""
        const th = document.querySelector('#matrix-table thead th:nth-child(3)');
        const box = th.getBoundingClientRect();
        const hit = document.elementFromPoint(box.left + box.width / 2, box.bottom - 8);
        return [box.top, box.bottom, th.contains(hit)]""")
    assert top >= 0 and bottom < 300 and seen


def every_page(site: Path) -> list[str]:
    return sorted("" if p.parent == site else p.parent.relative_to(site).as_posix() + "/"
                  for p in site.rglob("index.html") if p.parent.name != "search")


@pytest.mark.parametrize("width, height", [(1400, 1000), (390, 844)])
def test_no_table_is_wider_than_its_box(reader, base_url, site, width, height):
    set_view(reader, width, height)
    too_wide = []
    for page in every_page(site):
        reader.get(base_url + page)
        if "catalog/" in page:
            wait_for(reader, lambda d: d.execute_script("return document.readyState === 'complete'"))
        found = reader.execute_script("""
            const out = [];
            if (document.documentElement.scrollWidth > innerWidth + 1) out.push('the page scrolls sideways');
            document.querySelectorAll('.md-content table').forEach((table, i) => {
              const box = table.closest('.md-typeset__scrollwrap, .catalog-scroll') || table.parentElement;
              if (box.scrollWidth > box.clientWidth + 1 || table.getBoundingClientRect().right > innerWidth + 1)
                out.push(`table ${i}: ${box.scrollWidth} px in a ${box.clientWidth} px box`);
            });
            return out""")
        too_wide += [f"{page or 'home'}: {problem}" for problem in found]
    assert too_wide == [], too_wide


def test_a_model_row_is_reachable_by_its_anchor_and_highlighted(reader, base_url, artifacts):
    open_catalog(reader, base_url + "catalog/models/#llama-4-scout")
    time.sleep(0.3)
    row, other, header_bottom = reader.execute_script("""
        const row = document.getElementById('llama-4-scout');
        const other = row.previousElementSibling;
        const header = document.querySelector('#models-table thead').getBoundingClientRect();
        const box = row.getBoundingClientRect();
        return [[box.top, box.bottom, getComputedStyle(row.cells[1]).backgroundColor],
                getComputedStyle(other.cells[1]).backgroundColor, header.bottom]""")
    assert header_bottom <= row[0] and row[1] <= 1000, (row, header_bottom)  # in view, below the sticky header
    assert row[2] != other, "the targeted row is highlighted"
    reader.save_screenshot(str(artifacts / "catalog-anchor.png"))
    # A link to a row that the URL's filters would hide shows the row: the anchor wins.
    open_catalog(reader, base_url + "catalog/models/?open=no#llama-4-scout")
    assert "llama-4-scout" in visible_rows(reader, "#models-table tbody tr")


def test_a_filtered_view_survives_a_reload_from_its_url(reader, base_url, artifacts):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    open_catalog(reader, base_url + "catalog/models/")
    rows = "#models-table tbody tr"
    assert len(visible_rows(reader, rows)) == len(MODELS)
    Select(reader.find_element(By.CSS_SELECTOR, "select[name=capability]")).select_by_value("captioning")
    Select(reader.find_element(By.CSS_SELECTOR, "select[name=open]")).select_by_value("yes")
    expected = {m["id"] for m in MODELS if "captioning" in m["capabilities"] and m["open_weights"]}
    assert set(visible_rows(reader, rows)) == expected and 0 < len(expected) < len(MODELS)
    count = reader.find_element(By.CSS_SELECTOR, ".catalog-count").text
    assert count == f"{len(expected)} of {len(MODELS)} models"
    reader.find_element(By.XPATH, "//table[@id='models-table']//th[normalize-space()='Released']").click()
    assert "capability=captioning" in reader.current_url and "open=yes" in reader.current_url
    assert "sort=released" in reader.current_url
    url = reader.current_url

    reader.refresh()
    open_catalog(reader, url)
    assert set(visible_rows(reader, rows)) == expected
    assert Select(reader.find_element(By.CSS_SELECTOR, "select[name=capability]")).first_selected_option.get_attribute(
        "value") == "captioning"
    dates = reader.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0])).filter(r => !r.hidden)"
        ".map(r => r.querySelector('.c-date').textContent)", rows)
    assert dates == sorted(dates)  # the sort order came back too
    reader.save_screenshot(str(artifacts / "catalog-filtered.png"))

    reader.find_element(By.CSS_SELECTOR, "form.catalog-filters button[type=reset]").click()
    wait_for(reader, lambda d: len(visible_rows(d, rows)) == len(MODELS))
    assert "capability=" not in reader.current_url


def test_the_matrix_filters(reader, base_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    open_catalog(reader, base_url + "catalog/capabilities/?capability=speech-recognition")
    expected = {m["id"] for m in MODELS if "speech-recognition" in m["capabilities"]}
    assert set(visible_rows(reader, "#matrix-table tbody tr")) == expected and expected
    Select(reader.find_element(By.CSS_SELECTOR, "select[name=capability]")).select_by_value("")
    reader.find_element(By.CSS_SELECTOR, "input[name=find]").send_keys("gemma")
    gemma = {m["id"] for m in MODELS if "gemma" in m["name"].lower()}
    assert set(visible_rows(reader, "#matrix-table tbody tr")) == gemma and gemma
    assert "find=gemma" in reader.current_url


def test_the_modifiers_page_filters(reader, base_url, artifacts):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    open_catalog(reader, base_url + "catalog/image-prompt-modifiers/")
    rows = "table.catalog-modifiers tbody tr"
    assert len(visible_rows(reader, rows)) == len(MODIFIERS)
    Select(reader.find_element(By.CSS_SELECTOR, "select[name=works]")).select_by_value("midjourney")
    expected = [m for m in MODIFIERS if "midjourney" in m["works_with"]]
    assert len(visible_rows(reader, rows)) == len(expected) > 0
    categories = {m["category"] for m in expected}
    shown = reader.execute_script(
        "return Array.from(document.querySelectorAll('.md-content h2[id]')).filter(h => !h.hidden).map(h => h.id)")
    assert categories <= set(shown) and not ({m["category"] for m in MODIFIERS} - categories) & set(shown)
    reader.save_screenshot(str(artifacts / "modifiers-midjourney.png"))
    open_catalog(reader, base_url + "catalog/image-prompt-modifiers/?find=bokeh")
    assert len(visible_rows(reader, rows)) == sum("bokeh" in " ".join(
        (m["term"], m["effect"], m["example"])).lower() for m in MODIFIERS)


def search(driver, base_url: str, query: str) -> list[str]:
    """The result pages (site paths) for a query in Material's search box, once its results settle."""
    from selenium.webdriver.common.by import By

    shown = "return Array.from(document.querySelectorAll('.md-search-result__item > a')).map(a => a.href)"
    before = driver.execute_script(shown)  # the previous query's results, which must go
    box = driver.find_element(By.CSS_SELECTOR, "input.md-search__input")
    box.click()
    # As if typed: Material searches on keyup. (send_keys would run one search per character.)
    driver.execute_script("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new KeyboardEvent('keyup'))",
                          box, query)
    results: list[list[str]] = []

    def settled(d):
        results.append(d.execute_script(shown))
        return len(results) > 2 and results[-1] != before and results[-1] and results[-1] == results[-2] == results[-3]

    wait_for(driver, settled, timeout=20, poll=0.15)
    return [href.removeprefix(base_url).split("?")[0].split("#")[0] for href in results[-1]]


def test_search_puts_the_right_page_first(reader, base_url):
    reader.get(base_url)
    wrong = []
    for query, page in SEARCH_QUERIES:
        found = search(reader, base_url, query)
        if found[:1] != [page]:
            wrong.append(f"{query!r}: {found[:3]} (want {page!r})")
    assert wrong == [], wrong


def test_search_index_loads_only_when_the_reader_reaches_for_search(reader, base_url):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    reader.get(base_url + "security/")
    ActionChains(reader).move_to_element(reader.find_element(By.CSS_SELECTOR, "article h1")).perform()
    reader.get(base_url + "security/")  # the pointer now rests on the title, away from the search box
    loaded = "return performance.getEntriesByType('resource').some(e => e.name.includes('search_index.json'))"
    time.sleep(1)
    assert not reader.execute_script(loaded)
    reader.find_element(By.CSS_SELECTOR, "input.md-search__input").click()
    wait_for(reader, lambda d: d.execute_script(loaded))
    assert search(reader, base_url, "BLIP-2")[0] == "vision-language/"


def test_stale_warning_follows_the_readers_date(reader, base_url):
    reader.get(base_url)
    assert reader.find_element("css selector", ".notes-stale").get_attribute("hidden") is not None
    # The same page read on 2028-06-01: more than a year after its `updated` date.
    fake = reader.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": """
        const RealDate = Date, now = new RealDate('2028-06-01T12:00:00Z').getTime();
        window.Date = class extends RealDate {
          constructor(...args) { super(...(args.length ? args : [now])); }
          static now() { return now; }
        };"""})
    try:
        reader.get(base_url)
        warning = reader.find_element("css selector", ".notes-stale")
        assert warning.is_displayed() and "today (2028-06-01)" in warning.text
    finally:
        reader.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": fake["identifier"]})


def test_site_in_a_browser(reader, base_url, artifacts):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    # The home page shows the navigation tabs of the taxonomy and the footer's links.
    reader.get(base_url)
    tabs = wait_for(reader, ec.visibility_of_all_elements_located((By.CSS_SELECTOR, ".md-tabs__link")))
    assert {"Overview", "Text", "Vision & images", "Catalog", "Tags"} <= {tab.text for tab in tabs}
    assert reader.find_element(By.CSS_SELECTOR, ".notes-updated").text.startswith("Updated ")
    assert "Report an error" in reader.find_element(By.CSS_SELECTOR, ".md-footer-meta").text
    reader.save_screenshot(str(artifacts / "home.png"))

    # The palette toggle switches between light and dark (on a fresh page: open search hides it).
    body = reader.find_element(By.TAG_NAME, "body")
    before = body.get_attribute("data-md-color-scheme")
    toggle = wait_for(
        reader, ec.element_to_be_clickable((By.CSS_SELECTOR, "form[data-md-component=palette] label:not([hidden])"))
    )
    toggle.click()
    wait_for(reader, lambda d: body.get_attribute("data-md-color-scheme") != before)
    assert {before, body.get_attribute("data-md-color-scheme")} == {"default", "slate"}
    reader.save_screenshot(str(artifacts / "home-dark.png"))


@pytest.mark.parametrize("scheme", ["default", "slate"])
@pytest.mark.parametrize("width, height", [(1400, 1000), (390, 844)])
def test_screenshots(reader, base_url, artifacts, scheme, width, height):
    """Desktop and phone, light and dark: the pictures a person looks at before calling the site done."""
    set_view(reader, width, height)
    pages = [("", "home"), ("catalog/models/", "catalog"), ("catalog/capabilities/", "matrix"),
             ("catalog/image-prompt-modifiers/", "modifiers"), ("image-prompts/#example-midjourney", "figure")]
    for page, name in pages:
        reader.get(base_url + page)
        use_palette(reader, scheme)
        time.sleep(0.3)
        reader.save_screenshot(str(artifacts / f"{name}-{width}-{'dark' if scheme == 'slate' else 'light'}.png"))


def use_palette(driver, scheme: str) -> None:
    """Switch Material's palette with its toggle, as a reader does, until the page shows `scheme`."""
    current = "return document.body.getAttribute('data-md-color-scheme')"
    for _ in range(2):
        if driver.execute_script(current) == scheme:
            return
        driver.execute_script("document.querySelector('form[data-md-component=palette] label:not([hidden])').click()")
        time.sleep(0.2)
    assert driver.execute_script(current) == scheme



