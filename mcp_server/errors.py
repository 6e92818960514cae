"""User-facing errors: one line that says what was wrong and what to do next.

    AiNotesError                    base; its message is shown to the user as is
    ├── ConfigError                 a bad setting (key, value, what is allowed)
    ├── BadInputError               the caller's argument is wrong; fix it and call again
    │   └── ImageError              an image could not be used (which input, why)
    ├── ModelUnavailableError       a configured checkpoint cannot be loaded (how to get it)
    ├── BusyError                   the queue is full; retry shortly
    └── NotFoundError               a note, section or model name that does not exist

Foreign exceptions (PIL, huggingface_hub, torch, OS) are translated at the boundary where
they happen with ``raise ... from``; anything else reaching a front is a bug and is reported
as one line too, never as a traceback.
"""

from __future__ import annotations


class AiNotesError(Exception):
    """Base of every error whose message is meant for the user."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        # One line, always: a front prints it as is.
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        return str(self)


class ConfigError(AiNotesError):
    """A setting has an unknown key or a value that is not allowed."""


class BadInputError(AiNotesError):
    """An argument from the caller is invalid."""


class ImageError(BadInputError):
    """An image could not be read, decoded or accepted within the limits."""


class ModelUnavailableError(AiNotesError):
    """A configured model's checkpoint is missing or broken."""


class BusyError(AiNotesError):
    """The server's queue is full."""


class NotFoundError(BadInputError):
    """A note, section or model that does not exist."""
