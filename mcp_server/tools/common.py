"""What every tool module shares: the annotations, the way to the services, and options as parameters."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo

from ..arguments import make_options

if TYPE_CHECKING:
    from ..services import Services

M = TypeVar("M", bound=BaseModel)

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)


def add_tool(server: MCPServer, fn: Callable[..., Any], annotations: ToolAnnotations = READ_ONLY) -> None:
    """Register a module-level tool; its docstring, dedented, is the description the model reads."""
    server.add_tool(fn, description=inspect.cleandoc(fn.__doc__ or ""), annotations=annotations)


def services(ctx: Context) -> Services:
    """The services the server's lifespan built (see server.py)."""
    return ctx.request_context.lifespan_context


def option_parameters(cls: type[BaseModel]) -> list[inspect.Parameter]:
    """One keyword parameter per field of ``cls``, with the field's type, bounds, description and default."""
    def typed(field: FieldInfo) -> Any:
        return Annotated[(field.annotation, *field.metadata, Field(description=field.description))]

    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    return [inspect.Parameter(name, kind, default=field.default, annotation=typed(field))
            for name, field in cls.model_fields.items()]


def takes_options(cls: type[M]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Turn a tool's ``options: cls`` parameter into one parameter per option, as MCP clients expect.

    The tool's schema gets the fields of ``cls`` (names, bounds, defaults and descriptions from the model
    itself, so they cannot drift or be dropped), and the tool body receives them as one validated ``options``.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(fn, eval_str=True)
        params = list(signature.parameters.values())
        at = [p.name for p in params].index("options")
        params[at : at + 1] = option_parameters(cls)

        @functools.wraps(fn)
        async def tool(**kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name in cls.model_fields if name in kwargs}
            return await fn(**kwargs, options=make_options(cls, values))

        tool.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        tool.__annotations__ = {p.name: p.annotation for p in params} | {"return": signature.return_annotation}
        del tool.__wrapped__  # the SDK must read the signature above, not the body's
        return tool

    return decorate
