"""The knowledge base: notes pages, their search index, the model catalog and citations.

    pages.py     find the notes folder; parse pages into sections with stable anchors
    index.py     SQLite FTS5 index of the sections (BM25, Porter stemming), in memory
    catalog.py   notes/data/models.yaml and the taxonomy's vocabularies; the find_models filter
    service.py   NotesService: what the MCP tools, resources and CLI call
    results.py   the result models they return

Nothing here imports torch; loading happens on first use.
"""

from .service import NotesService

__all__ = ["NotesService"]
