"""Generate the README's tool reference from the server itself, so the two cannot drift.

    python tools/gen_reference.py          print the table
    python tools/gen_reference.py --write  rewrite it in README.md between its markers

tests/test_readme.py fails when README.md's table differs from what this prints.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- tools-table:start -->", "<!-- tools-table:end -->"


def list_tools() -> list:
    """The tools as an MCP client sees them (default settings)."""
    from mcp import Client

    from mcp_server.config import Settings
    from mcp_server.server import create_server

    async def go():
        async with Client(create_server(Settings())) as client:
            return (await client.list_tools()).tools

    return asyncio.run(go())


def tools_table() -> str:
    rows = ["| tool | arguments (defaults) | result fields | what it is for |", "|---|---|---|---|"]
    for tool in list_tools():
        props, required = tool.input_schema["properties"], set(tool.input_schema.get("required", []))
        args = ", ".join(name if name in required else f"{name}={props[name].get('default')!r}" for name in props)
        summary = tool.description.strip().splitlines()[0]
        rows.append(f"| `{tool.name}` | {args or '-'} | {', '.join(tool.output_schema['properties'])} | {summary} |")
    return "\n".join(rows)


def replace_table(text: str, table: str) -> str:
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}\n{END}{tail}"


def main() -> int:
    table = tools_table()
    if "--write" in sys.argv[1:]:
        README.write_text(replace_table(README.read_text(encoding="utf-8"), table), encoding="utf-8")
    else:
        print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
