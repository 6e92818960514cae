"""Tool errors as our one line, using the exception the SDK chains under its own ``ToolError``.

Why: ``MCPServer`` wraps whatever a tool raises in a ``ToolError`` whose text starts "Error executing tool
<name>:" and, for arguments that fail the schema, carries pydantic's multi-line report. What the tool raised
stays reachable as ``__cause__`` (``Tool.run``'s docstring, mcp 2.3, says so), so the server can answer
with the cause's own one-line message instead: our errors as they are, a ``ValidationError`` through
``errors.one_line``, a timeout as "retry". When the cause is anything else the SDK's text stands (for a
crash it is a generic line that hides the details).
"""

from __future__ import annotations

import asyncio

from pydantic import ValidationError

from ..errors import AiNotesError, CallTimeoutError, one_line


def one_line_cause(error: BaseException) -> AiNotesError | None:
    """The one-line error for what a tool raised (the ``__cause__`` of the SDK's ToolError), or None."""
    cause = error.__cause__
    if isinstance(cause, AiNotesError):
        return cause
    if isinstance(cause, ValidationError):
        return AiNotesError(one_line(cause))
    if isinstance(cause, TimeoutError | asyncio.TimeoutError):
        return CallTimeoutError("the call timed out; retry, or ask for less work")
    return None
