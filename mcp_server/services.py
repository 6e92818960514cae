"""The composition root: every service one process runs, built from the settings in one place.

The MCP server's lifespan builds a ``Services`` and closes it when the server stops; the CLI builds one per
command. Both fronts then call the same service objects and return the same result models.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from .config import Settings
from .knowledge.service import NotesService
from .vision.service import VisionService

if TYPE_CHECKING:
    from .image_index.service import ImageIndexService
    from .image_prompt import ImagePromptService


class Services:
    """The notes and the vision models, wired together: vision results cite the notes.

    Constructing it is cheap: the notes index and the models load on first use. ``close`` stops the model
    engines and joins their threads.
    """

    def __init__(self, settings: Settings, *, local_paths: bool = True, base_url: str | None = None,
                 ray_address: str | None = None) -> None:
        """``ray_address``: run the models on Ray Serve, at that cluster ("" for $RAY_ADDRESS's or a local one)."""
        self.settings = settings
        self.notes = NotesService(settings, base_url=base_url)
        if ray_address is None:
            self.vision = VisionService(settings, local_paths=local_paths, citations=self.notes.citations)
        else:
            from .ray_serve import connect

            connect(ray_address)  # first: where Ray is missing, one line saying how to install it
            from .ray_serve.remote import RemoteVisionService

            self.vision = RemoteVisionService(settings, local_paths=local_paths, citations=self.notes.citations)

    @cached_property
    def images(self) -> ImageIndexService:
        """The image index; built on first use (it brings numpy and the SQLite file)."""
        from .image_index.service import ImageIndexService

        return ImageIndexService(self.settings, self.vision)

    @cached_property
    def prompts(self) -> ImagePromptService:
        from .image_prompt import ImagePromptService

        return ImagePromptService(self.settings, self.vision, self.notes)

    def close(self) -> None:
        if "images" in self.__dict__:
            self.images.close()
        self.vision.close()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
