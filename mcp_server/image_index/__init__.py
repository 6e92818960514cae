"""An embedded index of image folders: find images by meaning (text or image queries) and find duplicates.

    store.py     one SQLite file (stdlib sqlite3, WAL, a schema version): each image's path, folder, size,
                 mtime, sha256, dimensions, model and ITC embedding, an optional caption with an FTS5 table
    scan.py      walking a folder: image files only, symlinks never leading out of it, (mtime, size) to skip
    search.py    exact search with numpy over the embeddings held in memory (no quantized index)
    options.py   the calls' arguments and their bounds
    results.py   the result models the tools return
    service.py   ImageIndexService: what the MCP tools and the CLI call

As in rclip, only files whose (mtime, size) changed are embedded again, renames are recognised by their hash,
and vanished files leave the index; every batch is its own transaction, so an interrupted run leaves a
consistent index that the next run completes.
"""
