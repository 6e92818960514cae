"""The knowledge base: notes pages, their search index, the model catalog and citations.

    pages.py     find the notes folder; parse pages into sections with stable anchors
    index.py     SQLite FTS5 index of the sections (BM25, Porter stemming), in memory
    catalog.py   notes/data/models.yaml and the taxonomy's vocabularies; the find_models filter
    options.py   the notes calls' arguments and their bounds
    results.py   the result models the notes tools return
    service.py   NotesService: what the MCP tools, resources and CLI call
    site.py      building the MkDocs site that `serve --http` serves at /notes/

Nothing here imports torch.
"""
