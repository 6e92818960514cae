"""What every front shares about arguments: validation into one line, and bounds as text for CLI help.

Each domain defines its argument types once, as ``Annotated[type, Field(...)]`` (``vision/options.py``,
``knowledge/options.py``). The MCP tools use them as parameter annotations (so the bounds reach the tool
schemas), the services validate what they receive through the same types with :func:`validated`, and the
CLI builds its flags and their help from them (:func:`help_text`). A bound is written in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Annotated, Any, TypeVar, get_args

from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from .errors import BadInputError, one_line

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

ImageRef = Annotated[str, Field(min_length=1, description=(
    "The image: a local file path, a file:// URI, a data:image/...;base64 URI, bare base64, "
    "or an http(s) URL when the server allows URLs."))]
ModelName = Annotated[str | None, Field(description="A configured model name from list_models; omit for the default.")]


@cache
def _adapter(annotation: Any) -> TypeAdapter:
    return TypeAdapter(annotation)


def validated(annotation: Any, value: T, name: str) -> T:
    """``value`` checked against an argument type; BadInputError with one line naming ``name`` otherwise."""
    try:
        return _adapter(annotation).validate_python(value)
    except ValidationError as exc:
        raise BadInputError(one_line(exc, root=name)) from exc


def make_options(cls: type[M], values: Mapping[str, Any], *, names: Mapping[str, str] | None = None) -> M:
    """An options model from the given values (None means the default); one line naming the argument if bad.

    ``names`` maps field names to what the caller typed (the CLI's flags), so the message names those.
    """
    try:
        return cls(**{k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        raise BadInputError(one_line(exc, names=names)) from exc


def field_info(annotation: Any) -> FieldInfo:
    """The merged ``Field(...)`` of an ``Annotated`` argument type."""
    return FieldInfo.merge_field_infos(*[a for a in get_args(annotation)[1:] if isinstance(a, FieldInfo)])


def help_text(info: FieldInfo, *, default: Any = None) -> str:
    """A field's description with its bounds and default, for a CLI flag's help: "Beam width (1 to 8, default 3)"."""
    limits: dict[str, Any] = {}
    for item in info.metadata:
        for key in ("ge", "gt", "le", "lt", "min_length", "max_length"):
            if getattr(item, key, None) is not None:
                limits[key] = getattr(item, key)
    parts = []
    if "max_length" in limits:
        parts.append(f"at most {limits['max_length']} {'items' if 'list' in str(info.annotation) else 'characters'}")
    low = f"{limits['ge']}" if "ge" in limits else f"over {limits['gt']}" if "gt" in limits else None
    high = limits.get("le", limits.get("lt"))
    if low is not None and high is not None:
        parts.append(f"{low} to {high}")
    if default is not None and default is not False and default != "":
        parts.append(f"default {default}")
    extra = f" ({', '.join(parts)})" if parts else ""
    return (info.description or "").rstrip(".") + extra
