"""The composition root: every service one process runs, built from the settings in one place.

The MCP server's lifespan builds a ``Services`` and closes it when the server stops; the CLI builds one per
command. Both fronts then call the same service objects and return the same result models.
"""

from __future__ import annotations

from .config import Settings
from .knowledge.service import NotesService
from .vision.service import VisionService


class Services:
    """The notes and the vision models, wired together: vision results cite the notes.

    Constructing it is cheap: the notes index and the models load on first use. ``close`` stops the model
    engines and joins their threads.
    """

    def __init__(self, settings: Settings, *, local_paths: bool = True, base_url: str | None = None) -> None:
        self.settings = settings
        self.notes = NotesService(settings, base_url=base_url)
        self.vision = VisionService(settings, local_paths=local_paths, citations=self.notes.citations)

    def close(self) -> None:
        self.vision.close()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
