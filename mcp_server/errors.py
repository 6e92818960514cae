"""User-facing errors: one line that says what was wrong and what to do next.

    AiNotesError                  base; its message is shown to the user as is
    ├── BadInputError             fix your call: an argument is wrong; change it and call again
    │   ├── ImageError            an image could not be used (which input, why)
    │   └── NotFoundError         a note, section or model name that does not exist
    ├── RetryableError            retry later: nothing is wrong with the call
    │   ├── BusyError             the queue is full
    │   ├── CallTimeoutError      the call ran past request_timeout_s and was stopped
    │   ├── ModelFailedError      a batch failed inside the model (only its own requests fail)
    │   └── ReplicaLostError      the model's replica (Ray Serve) died or went away during the call
    └── ServerError               the server is misconfigured: the operator must act, not the caller
        ├── ConfigError           a bad setting (key, value, what is allowed)
        └── ModelUnavailableError a configured checkpoint cannot be loaded (how to get it)

Foreign exceptions are translated where they happen, with ``raise ... from``: PIL, OS and network
errors in ``images.py`` / ``fetch.py``, the hub and transformers in ``vision/loading.py``, pydantic's
``ValidationError`` through :func:`one_line` below (the one place that turns one into a sentence), Ray's
in ``ray_serve/remote.py``.
Anything else reaching a front is a bug and is reported as one line too, never as a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class AiNotesError(Exception):
    """Base of every error whose message is meant for the user."""

    exit_code = 2  # what the CLI exits with

    def __init__(self, message: str) -> None:
        # One line, always: a front prints it as is.
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        return str(self)


class BadInputError(AiNotesError):
    """An argument from the caller is invalid; the same call will fail again."""


class ImageError(BadInputError):
    """An image could not be read, decoded or accepted within the limits."""


class NotFoundError(BadInputError):
    """A note, section or model that does not exist."""


class RetryableError(AiNotesError):
    """The call was fine; the server could not serve it now. The same call may succeed later."""


class BusyError(RetryableError):
    """The server's queue is full."""


class CallTimeoutError(RetryableError):
    """The call took longer than ``request_timeout_s`` and was stopped."""


class ModelFailedError(RetryableError):
    """A batch failed inside the model; the other requests and the model itself are unaffected."""


class ReplicaLostError(RetryableError):
    """``serve --ray``: the replica that held the call was lost; Ray Serve starts another."""


class ServerError(AiNotesError):
    """The server's set-up is wrong; the operator has to change it."""


class ConfigError(ServerError):
    """A setting has an unknown key or a value that is not allowed."""


class ModelUnavailableError(ServerError):
    """A configured model's checkpoint is missing or broken."""


def one_line(exc: ValidationError, *, what: str = "argument", root: str | None = None,
             names: Mapping[str, str] | None = None, allowed: Mapping[str, str] | None = None) -> str:
    """The first problem of a pydantic ``ValidationError`` as one sentence.

    ``what`` names the kind of thing validated ("argument", "setting"); ``root`` is the name of a value
    validated on its own (an argument's path then starts with it); ``names`` maps field paths to the
    names the user typed (CLI flags); ``allowed`` maps a parent path to the keys allowed under it, for
    unknown-key errors.
    """
    err = exc.errors()[0]
    if root is not None:
        err = {**err, "loc": (root, *err["loc"])}
    loc = ".".join(str(part) for part in err["loc"])
    shown_loc = (names or {}).get(loc, loc)
    if err["type"] == "extra_forbidden":
        parent = ".".join(str(part) for part in err["loc"][:-1])
        keys = (allowed or {}).get(parent)
        return f"unknown {what} {shown_loc!r}" + (f"; allowed here: {keys}" if keys else "")
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "string_too_short" and (err.get("ctx") or {}).get("min_length") == 1:
        message = "must not be empty"
    value = err.get("input")
    shown = "" if err["type"] == "missing" or not err["loc"] else _shown(value)
    # A check across fields (loc empty) says in its own words which fields disagree.
    return (f"bad {what} {shown_loc}: {message}{shown}" if err["loc"] else message)[:300]


def _shown(value: object) -> str:
    """The rejected value, when it is short enough to help; never a whole list or a long string."""
    if isinstance(value, bool | int | float) or value is None:
        return f" (got {value!r})"
    if isinstance(value, str):
        return f" (got {value!r})" if len(value) <= 60 else f" (got {value[:40]!r}... {len(value)} characters)"
    return ""
