"""The server's resources: every notes page as markdown, and the model catalog as JSON."""

from __future__ import annotations

from collections.abc import Callable

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.resources import FunctionResource

from ..knowledge.pages import Page
from ..knowledge.service import CATALOG_URI, URI_SCHEME, NotesService


def register(server: MCPServer, pages: list[Page], notes: Callable[[], NotesService]) -> None:
    """``pages`` are listed as they are at start; ``notes`` gives the running server's notes service."""
    for page in pages:
        server.add_resource(FunctionResource(
            uri=URI_SCHEME + page.path, name=page.path, title=page.title, description=page.description,
            mime_type="text/markdown", fn=lambda path=page.path: notes().read(path).markdown))
    server.add_resource(FunctionResource(
        uri=CATALOG_URI, name="catalog/models", title="Model catalog",
        description="The AI notes' model catalog as JSON: one object per model with its sources.",
        mime_type="application/json", fn=lambda: notes().catalog_json()))
