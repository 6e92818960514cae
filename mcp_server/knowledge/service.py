"""NotesService: the one object the MCP tools, resources and the CLI call for the knowledge base.

It owns the pages, the search index and the catalog, each loaded on first use (so a server's
start-up does not wait on them), and it turns page paths into the two kinds of reference a
result carries: the site URL (``<base>vision-language/#blip``, MkDocs' directory URLs) and the
``notes://vision-language.md#blip`` URI that read_note and the resources accept.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote, urlsplit

from ..arguments import validated
from ..config import Settings
from ..errors import BadInputError, NotFoundError
from . import catalog as catalog_mod
from .index import NotesIndex
from .options import DEFAULT_SEARCH_LIMIT, NoteRef, Query, SearchLimit
from .pages import Page, find_notes_dir, load_pages
from .results import CatalogModel, Citation, FindModelsResult, Note, SearchHit, SearchResult
from .schema import CATALOG_PAGE

URI_SCHEME = "notes://"
CATALOG_URI = "notes://catalog/models"  # the catalog resource (JSON)
T = TypeVar("T")

# Which sections explain a vision model's output: the family's card and the task's page parts.
FAMILY_SECTIONS = {"blip": ("vision-language.md", "blip"), "blip-2": ("vision-language.md", "blip-2")}
TASK_SECTIONS = {
    "caption": (("vision-language.md", "captioning"), ("vision-language.md", "captioning-failure-modes")),
    "vqa": (("vision-language.md", "vqa"),),
    "match": (("vision-language.md", "image-text-matching"),),
    "grounding": (("vision-language.md", "grounding"), ("vision-language.md", "grounding-limits")),
}


class NotesService:
    def __init__(self, settings: Settings, base_url: str | None = None) -> None:
        """``base_url``: where this process serves the site (``serve --http``). ``notes.site_url`` wins over it;
        with neither (stdio, the CLI), nothing serves the site, so a result's ``url`` is its notes:// URI, which
        read_note and the resources open, rather than a web address that would not load."""
        self.settings = settings
        base = settings.notes.site_url or base_url
        self.base_url = None if base is None else base if base.endswith("/") else base + "/"
        self._lock = threading.RLock()  # guards the lazy loads; re-entrant since the index loads the pages

    # ------------------------------------------------------------------ lazily loaded state

    @cached_property
    def notes_dir(self) -> Path:
        return find_notes_dir(self.settings)

    @property
    def _pages(self) -> dict[str, Page]:
        return self._load("_pages_cache", lambda: load_pages(self.notes_dir))

    @property
    def index(self) -> NotesIndex:
        return self._load("_index_cache", lambda: NotesIndex(self._pages.values()))

    @property
    def _taxonomy(self) -> catalog_mod.Taxonomy:
        return self._load("_taxonomy_cache", lambda: catalog_mod.load_taxonomy(self.notes_dir))

    @property
    def _models(self) -> list[CatalogModel]:
        return self._load("_models_cache", lambda: catalog_mod.load_models(self.notes_dir))

    def _load(self, name: str, build: Callable[[], T]) -> T:
        value = self.__dict__.get(name)
        if value is None:
            with self._lock:
                value = self.__dict__.get(name)
                if value is None:
                    value = self.__dict__[name] = build()
        return value

    # ------------------------------------------------------------------ references

    def url(self, path: str, anchor: str | None = None) -> str:
        """Site URL of a page (and section): MkDocs' use_directory_urls layout; the notes:// URI without a site."""
        if self.base_url is None:
            return self.uri(path, anchor)
        stem = path.removesuffix(".md")
        if stem == "index" or stem.endswith("/index"):
            stem = stem.removesuffix("index")
        else:
            stem += "/"
        return self.base_url + stem + (f"#{anchor}" if anchor else "")

    @staticmethod
    def uri(path: str, anchor: str | None = None) -> str:
        return URI_SCHEME + path + (f"#{anchor}" if anchor else "")

    def citation(self, path: str, anchor: str) -> Citation | None:
        page = self._pages.get(path)
        section = page.section(anchor) if page else None
        if section is None:
            return None
        return Citation(title=section.heading, url=self.url(path, anchor), uri=self.uri(path, anchor))

    # ------------------------------------------------------------------ the tools' operations

    def search(self, query: str, limit: int = DEFAULT_SEARCH_LIMIT, tags: Sequence[str] | None = None) -> SearchResult:
        query = validated(Query, query, "query")
        limit = validated(SearchLimit, limit, "limit")
        if tags:
            unknown = [t for t in tags if t not in self._taxonomy.tags]
            if unknown:
                raise BadInputError(f"unknown tag {unknown[0]!r}; use any of: {', '.join(self._taxonomy.tags)}")
        hits = []
        for match in self.index.search(query, limit=limit, tags=list(tags or ())):
            section, page = match.section, self._pages[match.section.path]
            hits.append(
                SearchHit(
                    title=page.title,
                    section=section.heading,
                    url=self.url(page.path, section.anchor),
                    uri=self.uri(page.path, section.anchor),
                    path=page.path,
                    snippet=match.snippet,
                    tags=list(page.tags),
                    updated=page.updated,
                    score=match.score,
                )
            )
        return SearchResult(hits=hits)

    def read(self, ref: str) -> Note:
        path, anchor = self._resolve(validated(NoteRef, ref, "ref"))
        page = self._pages[path]
        if anchor is None:
            return Note(
                title=page.title,
                url=self.url(path),
                uri=self.uri(path),
                markdown=page.markdown,
                tags=list(page.tags),
                updated=page.updated,
            )
        section = page.section(anchor)
        if section is None:
            raise NotFoundError(f"{path} has no section #{anchor}; {_suggest(anchor, page.anchors, 'sections', '#')}")
        return Note(
            title=f"{page.title} › {section.heading}",
            url=self.url(path, anchor),
            uri=self.uri(path, anchor),
            markdown=section.markdown,
            tags=list(page.tags),
            updated=page.updated,
        )

    def find_models(
        self,
        capability: str | None = None,
        modality: str | None = None,
        open_weights: bool | None = None,
        organization: str | None = None,
        released_after: str | None = None,
    ) -> FindModelsResult:
        models = catalog_mod.find_models(
            self._models,
            self._taxonomy,
            capability=capability,
            modality=modality,
            open_weights=open_weights,
            organization=organization,
            released_after=released_after,
        )
        return FindModelsResult(models=models, citation=self.catalog_citation())

    def catalog_citation(self) -> Citation:
        return Citation(title="Model catalog", url=self.url(CATALOG_PAGE), uri=CATALOG_URI)

    def catalog_json(self) -> str:
        """The whole catalog as the find_models result with no filter (the notes://catalog/models resource)."""
        return self.find_models().model_dump_json(indent=1)

    def pages(self) -> list[Page]:
        """Every page (path, title, description, ...), for listing the notes:// resources."""
        return list(self._pages.values())

    def citations(self, family: str | None, task: str | None) -> list[Citation]:
        """Sections about the model family and the task behind a vision result; missing ones are left out."""
        family_key = (family or "").strip().lower().replace("blip2", "blip-2")
        wanted = [FAMILY_SECTIONS[family_key]] if family_key in FAMILY_SECTIONS else []
        wanted += TASK_SECTIONS.get((task or "").strip().lower(), ())
        # A notes folder without these sections (a custom notes.dir) must not break a caption call.
        return [c for c in (self.citation(path, anchor) for path, anchor in wanted) if c is not None]

    # ------------------------------------------------------------------ reference parsing

    def _resolve(self, ref: str) -> tuple[str, str | None]:
        """(page path, anchor or None) for a path, a site URL or a notes:// URI; NotFoundError when unknown."""
        ref = ref.strip()
        if not ref:
            raise BadInputError("the note reference is empty; pass a path such as 'vision-language.md#blip'")
        if ref.startswith(URI_SCHEME):
            rest = ref[len(URI_SCHEME) :]
        elif ref.startswith(("http://", "https://")):
            rest = self._relative_to_site(ref)
        else:
            rest = ref
        rest, _, anchor = rest.partition("#")
        path = self._page_path(unquote(rest))
        return path, (unquote(anchor).strip() or None)

    def _relative_to_site(self, url: str) -> str:
        if self.base_url is None:  # no site of our own: take the path after /notes/, as the HTTP server lays it out
            path = urlsplit(url).path
            if "/notes/" in path:
                return path.split("/notes/", 1)[1] + (f"#{urlsplit(url).fragment}" if urlsplit(url).fragment else "")
            raise BadInputError(f"{url} is not a page of the notes site; pass a notes path or notes:// URI")
        if url.startswith(self.base_url) or url + "/" == self.base_url:
            return url[len(self.base_url) :]
        # Same site reached under another host name (localhost vs 127.0.0.1): match on the path.
        base_path, parts = urlsplit(self.base_url).path, urlsplit(url)
        if parts.path.startswith(base_path):
            return parts.path[len(base_path) :] + (f"#{parts.fragment}" if parts.fragment else "")
        raise BadInputError(f"{url} is not a page of the notes site ({self.base_url}); pass a notes path or URL")

    def _page_path(self, rest: str) -> str:
        """The page a path or URL path names: 'a/b.md', 'a/b', 'a/b/', 'a/b/index.html' or '' (home)."""
        key = rest.strip().strip("/").removeprefix("./")
        key = key.removesuffix("/index.html").removesuffix(".html").removesuffix(".md")
        key = key.removesuffix("index").rstrip("/") if key == "index" or key.endswith("/index") else key
        candidates = [f"{key}.md", f"{key}/index.md"] if key else ["index.md"]
        if key.startswith("notes/"):  # a path from the repository root
            candidates += [f"{key[6:]}.md", f"{key[6:]}/index.md"]
        for candidate in candidates:
            if candidate in self._pages:
                return candidate
        if candidates[0] == CATALOG_PAGE or key.startswith("catalog/"):
            raise NotFoundError(
                f"{rest} is generated from the catalog data; call find_models or read the {CATALOG_URI} resource"
            )
        raise NotFoundError(f"no notes page {rest!r}; {_suggest(candidates[0], list(self._pages), 'pages')}")


def _suggest(wrong: str, known: list[str], kind: str, prefix: str = "") -> str:
    """'did you mean: ...' with the close matches, else the whole list, so the caller can retry at once."""
    close = difflib.get_close_matches(wrong, known, n=5, cutoff=0.6)
    if close:
        return "did you mean: " + ", ".join(prefix + c for c in close)
    return f"{kind}: " + ", ".join(prefix + k for k in known)
