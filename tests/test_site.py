"""The notes site: a strict MkDocs build, its generated pages, and the site in a real browser.

The build runs once per session through `mcp_server.knowledge.site.build_site`, the path the
server takes. The browser test drives headless Debian Chromium through Selenium against the site
served on 127.0.0.1 under /notes/, as `ai-notes-mcp serve --http` serves it. It is skipped only
when Chromium or chromedriver is missing and CI is not set; CI installs them
(`apt-get install chromium chromium-driver`). Screenshots go to tests/artifacts/ (git-ignored)
or to $AI_NOTES_TEST_ARTIFACTS.
"""

from __future__ import annotations

import functools
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

import site_hooks  # noqa: E402  (tools/ is not a package)

SITE_URL = "http://notes.example/ai/"
MODELS = yaml.safe_load((REPO / "notes/data/models.yaml").read_text())
MODIFIERS = yaml.safe_load((REPO / "notes/data/image_prompt_modifiers.yaml").read_text())
NEWS = yaml.safe_load((REPO / "notes/data/news.yaml").read_text())


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    return build_site(tmp_path_factory.mktemp("site"), site_url=SITE_URL)


class Tables(HTMLParser):
    """Collects the tables of an HTML page as lists of body rows (lists of cell texts)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._in_body = self._in_cell = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.tables[-1].append([])
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


# --------------------------------------------------------------------------- the build


def test_strict_build_writes_every_page(site):
    for path in [
        "index.html",
        "catalog/models/index.html",
        "catalog/capabilities/index.html",
        "catalog/timeline/index.html",
        "catalog/image-prompt-modifiers/index.html",
        "news/index.html",
        "tags/index.html",
        "llms.txt",
        "llms-full.txt",
        "search/search_index.json",
    ]:
        assert (site / path).is_file(), path


def test_catalog_table_has_one_row_per_entry(site):
    [table] = Tables(page_html(site, "catalog/models")).tables
    assert len(table) == len(MODELS)
    assert sorted(row[0] for row in table) == sorted(m["name"] for m in MODELS)


def test_generated_pages_follow_the_data(site):
    timeline = Tables(page_html(site, "catalog/timeline")).tables
    assert sum(len(rows) for rows in timeline) == len(MODELS)
    years = {str(m["released"])[:4] for m in MODELS}
    assert all(f'id="y{year}"' in page_html(site, "catalog/timeline") for year in years)
    matrix = Tables(page_html(site, "catalog/capabilities")).tables[0]
    assert len(matrix) == len(MODELS)
    modifiers = Tables(page_html(site, "catalog/image-prompt-modifiers")).tables
    assert sum(len(rows) for rows in modifiers) == len(MODIFIERS)


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


def test_every_page_shows_its_updated_date(site):
    for html_file in site.rglob("index.html"):
        assert 'class="notes-updated"' in html_file.read_text(encoding="utf-8"), html_file


def test_tags_index_lists_the_taxonomy_tags(site):
    html = page_html(site, "tags")
    assert 'id="tag:vision-language"' in html
    assert 'id="tag:catalog"' in html


def test_llms_txt_indexes_every_page(site):
    index = (site / "llms.txt").read_text()
    assert index.startswith("# AI notes\n\n> ")
    links = re.findall(r"^- \[([^\]]+)\]\((\S+)\): (.+)$", index, re.MULTILINE)
    urls = [url for _, url, _ in links]
    assert f"{SITE_URL}vision-language/" in urls
    assert f"{SITE_URL}catalog/models/" in urls
    assert all(url.startswith(SITE_URL) for url in urls)
    full = (site / "llms-full.txt").read_text()
    assert re.findall(r"^url: (\S+)$", full, re.MULTILINE) == urls  # every page, in the same order
    assert "## Sources {#sources}" in full
    assert f"]({SITE_URL}vision-language/#" in full  # relative links became URLs


def test_site_is_offline(site):
    """No page loads a script, stylesheet or font from another host."""
    external = re.compile(r"<(?:script|link|img)\b[^>]*\b(?:src|href)=\"(?:https?:)?//[^\"]*\"[^>]*>")
    for html_file in site.rglob("*.html"):
        for tag in external.findall(html_file.read_text(encoding="utf-8")):
            assert 'rel="canonical"' in tag or 'rel="alternate"' in tag, (html_file, tag)
    assert "fonts.googleapis" not in page_html(site, "")


def test_unknown_tag_fails_the_build(tmp_path):
    for name in ("mkdocs.yml", "notes", "tools"):
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy
        copy(REPO / name, tmp_path / name)
    page = tmp_path / "notes/index.md"
    page.write_text(page.read_text().replace("tags: [meta]", "tags: [meta, cooking]", 1))
    with pytest.raises(AiNotesError, match="Tags not in allow list: cooking"):  # the tags plugin itself
        build_site(tmp_path / "site", config_file=tmp_path / "mkdocs.yml")


# --------------------------------------------------------------------------- hooks and rebuilds


def test_stale_pages_are_marked():
    today = date(2026, 11, 22)
    fresh = site_hooks.add_page_header("# Title\n\nText.\n", "2025-11-22", today)
    stale = site_hooks.add_page_header("# Title\n\nText.\n", date(2025, 11, 21), today)
    assert "Updated 2025-11-22" in fresh and "Possibly stale" not in fresh
    assert fresh.index("# Title") < fresh.index("Updated") < fresh.index("Text.")
    assert '!!! warning "Possibly stale"' in stale
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
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ]:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=paths[1]))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    folder = Path(os.environ.get("AI_NOTES_TEST_ARTIFACTS", REPO / "tests" / "artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def wait_for(driver, condition, timeout: float = 15):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def test_site_in_a_browser(browser, base_url, artifacts):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select

    # The home page shows the navigation tabs of the taxonomy.
    browser.get(base_url)
    tabs = wait_for(browser, ec.visibility_of_all_elements_located((By.CSS_SELECTOR, ".md-tabs__link")))
    assert {"Overview", "Text", "Vision & images", "Catalog", "Tags"} <= {tab.text for tab in tabs}
    assert browser.find_element(By.CSS_SELECTOR, ".notes-updated").text.startswith("Updated ")
    browser.save_screenshot(str(artifacts / "home.png"))

    # The catalog holds one row per entry, and a filter narrows them.
    browser.get(base_url + "catalog/models/")
    wait_for(browser, ec.presence_of_element_located((By.CSS_SELECTOR, "#catalog-filters select")))
    rows = browser.find_elements(By.CSS_SELECTOR, ".md-content table tbody tr")
    assert len(rows) == len(MODELS)
    assert sum(row.is_displayed() for row in rows) == len(MODELS)
    Select(browser.find_element(By.CSS_SELECTOR, "select[name=Capabilities]")).select_by_value("captioning")
    shown = [row for row in rows if row.is_displayed()]
    expected = [m for m in MODELS if "captioning" in m["capabilities"]]
    assert 0 < len(shown) == len(expected) < len(MODELS)
    count = browser.find_element(By.CSS_SELECTOR, ".catalog-count").text
    assert count == f"{len(expected)} of {len(MODELS)} models"
    browser.save_screenshot(str(artifacts / "catalog.png"))

    # Reset shows every row again; sorting by release date puts the oldest entry first.
    browser.find_element(By.CSS_SELECTOR, "#catalog-filters button").click()
    assert sum(row.is_displayed() for row in rows) == len(MODELS)
    browser.find_element(By.XPATH, "//table//th[normalize-space()='Released']").click()
    first = browser.find_element(By.CSS_SELECTOR, ".md-content table tbody tr td:nth-child(3)").text
    assert first == min(str(m["released"]) for m in MODELS)

    # The search box finds a page.
    browser.get(base_url)
    box = wait_for(browser, ec.element_to_be_clickable((By.CSS_SELECTOR, "input.md-search__input")))
    box.click()
    box.send_keys("Q-Former")
    # Results show from the first keystroke; wait for those of the whole query (section links carry it as ?h=).
    def whole_query_results(driver):
        links = driver.find_elements(By.CSS_SELECTOR, ".md-search-result__item a")
        return links if any("h=q+former" in link.get_attribute("href") for link in links) else False

    result = next(link for link in wait_for(browser, whole_query_results) if link.is_displayed())
    assert "vision-language" in result.get_attribute("href")

    # The palette toggle switches between light and dark (on a fresh page: open search hides it).
    browser.get(base_url)
    body = browser.find_element(By.TAG_NAME, "body")
    before = body.get_attribute("data-md-color-scheme")
    toggle = wait_for(
        browser, ec.element_to_be_clickable((By.CSS_SELECTOR, "form[data-md-component=palette] label:not([hidden])"))
    )
    toggle.click()
    wait_for(browser, lambda d: body.get_attribute("data-md-color-scheme") != before)
    assert {before, body.get_attribute("data-md-color-scheme")} == {"default", "slate"}
    browser.save_screenshot(str(artifacts / "home-dark.png"))
