"""Full-text search over the notes' sections: SQLite FTS5 in memory, BM25 ranking, Porter stemming.

Why FTS5: it ships with Python's sqlite3, needs no service, indexes the whole notes in tens of
milliseconds and answers in about one. The user's query never reaches FTS5's query
language as written: it is cut into words and hyphenated compounds, each quoted as a phrase
and OR-ed, so no input can raise an FTS5 syntax error and BM25 does the ranking.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..errors import AiNotesError, BadInputError
from .pages import Page, Section, plain_text

# Column weights for bm25(): a word in a heading says more about a section than the same word
# in its body; the page title (repeated on every section of the page) sits in between. A page's
# source list is a column of its own with little weight: it names every topic of the page, and
# the section that explains one should outrank the list that cites it.
TITLE_WEIGHT = 3.0
HEADING_WEIGHT = 6.0
BODY_WEIGHT = 1.0
SOURCES_WEIGHT = 0.4
SOURCES_ANCHOR = "sources"
# Pages about the notes themselves (tag "meta": the home page's list of pages, contributing) name every topic
# in passing; a topic's own page should come first, so their sections count for 70%.
META_TAG, META_WEIGHT = "meta", 0.7

MAX_TERMS = 32  # longer queries are cut: the tail adds latency, rarely precision
SNIPPET_TOKENS = 24

# Question words and glue that carry no topic; dropped unless the query is made only of them.
_STOPWORDS = """a about an and any are as at be by can do does for from has have how i in into is it its me
    my of on or so than that the their them there these they this to was we were what when where
    which while who why will with without you your should would could explain tell show"""
STOPWORDS = frozenset(_STOPWORDS.split())

_TERM = re.compile(r"\w+(?:['’.\-]\w+)*")


@dataclass(frozen=True)
class Match:
    section: Section
    snippet: str
    score: float  # higher is better


def fts5_available() -> bool:
    try:
        sqlite3.connect(":memory:").execute("CREATE VIRTUAL TABLE t USING fts5(x)")
    except sqlite3.OperationalError:
        return False
    return True


def to_fts_query(query: str) -> str:
    """A safe FTS5 MATCH expression for free text: quoted terms and adjacent pairs, joined by OR.

    Each word (or hyphenated compound such as "BLIP-2", which FTS5 reads as a phrase) is quoted,
    so no input is FTS5 syntax. OR lets BM25 rank sections that match most of the words; the
    pairs of neighbouring words ("tool use") reward sections where they appear side by side.
    """
    terms = _TERM.findall(query)
    topical = [t for t in terms if t.lower() not in STOPWORDS]
    terms = [t.lower() for t in (topical or terms)[:MAX_TERMS]]
    if not terms:
        raise BadInputError("the search query is empty; pass a few words, e.g. 'prompt injection defences'")
    pairs = [f"{a} {b}" for a, b in zip(terms, terms[1:], strict=False)]
    unique = dict.fromkeys(terms + pairs)  # keeps order, drops repeats
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in unique)


class NotesIndex:
    """An FTS5 index of sections. Built once by the constructor, then read from any thread."""

    def __init__(self, pages: Iterable[Page]) -> None:
        if not fts5_available():
            raise AiNotesError("this Python's SQLite lacks FTS5, which notes search needs; use a Python built with it")
        self._sections: list[Section] = []
        self._weights: list[float] = []
        # One connection shared by all threads; the lock serialises access, and a search takes
        # about a millisecond, so readers barely wait on each other.
        self._lock = threading.Lock()
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.executescript(
            """
            CREATE VIRTUAL TABLE sections USING fts5(title, heading, body, sources, tokenize='porter unicode61');
            CREATE TABLE section_tags (section INTEGER NOT NULL, tag TEXT NOT NULL);
            CREATE INDEX section_tags_tag ON section_tags (tag);
            """
        )
        rows, tag_rows = [], []
        for page in pages:
            for section in page.sections:
                self._sections.append(section)
                self._weights.append(META_WEIGHT if META_TAG in page.tags else 1.0)
                rowid = len(self._sections)
                body = plain_text(section.own_markdown)
                if section.anchor is None:  # the introduction also carries the page's one-line summary
                    rows.append((rowid, page.title, "", f"{page.description} {body}".strip(), ""))
                elif section.anchor == SOURCES_ANCHOR:
                    rows.append((rowid, page.title, section.heading, "", body))
                else:
                    rows.append((rowid, page.title, section.heading, body, ""))
                tag_rows.extend((rowid, tag) for tag in page.tags)
        with self._db:
            # FTS5's own rank column, set to the weighted bm25(): with "ORDER BY rank LIMIT n" FTS5
            # sorts internally and the snippets are only made for the n rows returned.
            weights = f"{TITLE_WEIGHT}, {HEADING_WEIGHT}, {BODY_WEIGHT}, {SOURCES_WEIGHT}"
            self._db.execute("INSERT INTO sections (sections, rank) VALUES ('rank', ?)", (f"bm25({weights})",))
            self._db.executemany("INSERT INTO sections (rowid, title, heading, body, sources) VALUES (?,?,?,?,?)", rows)
            self._db.executemany("INSERT INTO section_tags VALUES (?, ?)", tag_rows)

    def __len__(self) -> int:
        return len(self._sections)

    def search(self, query: str, limit: int = 5, tags: Sequence[str] | None = None) -> list[Match]:
        match = to_fts_query(query)
        # A section's words are in the body column or, for a source list, in the sources column
        # (the other one is empty), so the two snippets joined are the one that exists.
        sql = (
            "SELECT rowid, snippet(sections, 2, '**', '**', '…', :n) || snippet(sections, 3, '**', '**', '…', :n),"
            " rank FROM sections WHERE sections MATCH :match"
        )
        # More rows than asked for: weighting can lift a row from below the cut.
        params: dict[str, object] = {"n": SNIPPET_TOKENS, "match": match, "limit": max(3 * limit, 20)}
        if tags:
            names = [f":tag{i}" for i in range(len(tags))]
            sql += f" AND rowid IN (SELECT section FROM section_tags WHERE tag IN ({', '.join(names)}))"
            params.update({name[1:]: tag for name, tag in zip(names, tags, strict=True)})
        sql += " ORDER BY rank LIMIT :limit"
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        # bm25() is negative, more negative is better; flip it so a caller reads "higher is better".
        found = [Match(self._sections[i - 1], text or self._opening(i), round(-rank * self._weights[i - 1], 4))
                 for i, text, rank in rows]
        return sorted(found, key=lambda m: -m.score)[:limit]

    def _opening(self, rowid: int) -> str:
        """The section's first words: the snippet when the query matched only the title or a heading."""
        section = self._sections[rowid - 1]
        words = plain_text(section.markdown).split()
        start = len(section.heading.split()) if section.anchor else 0  # the heading is shown beside it
        text = " ".join(words[start : start + SNIPPET_TOKENS])
        return text + ("…" if len(words) > start + SNIPPET_TOKENS else "")
