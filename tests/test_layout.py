"""The package's shape, as the README's "How it is built" describes it: no import cycles, tools callable
alone, one definition per bound shared by the CLI and the tool schemas, and every deviation from library
behaviour listed with the test that holds it."""

from __future__ import annotations

import ast
import asyncio
import inspect
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mcp_server"


# --------------------------------------------------------------------------- the import graph


def _module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, package: Path) -> set[str]:
    """The package's modules this file imports, at the top or inside functions."""
    name = _module_name(path, package)
    here = name if path.name == "__init__.py" else name.rpartition(".")[0]
    root = package.name

    def exists(module: str) -> bool:
        rel = package.parent.joinpath(*module.split("."))
        return rel.with_suffix(".py").is_file() or (rel / "__init__.py").is_file()

    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == root}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != root:
                continue
            for alias in node.names:  # "from . import x" may name a submodule
                found.add(f"{target}.{alias.name}" if exists(f"{target}.{alias.name}") else target)
    return found - {name}


def import_graph(package: Path) -> dict[str, set[str]]:
    return {_module_name(p, package): _imports(p, package) for p in package.rglob("*.py") if "_site" not in p.parts}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*trail[trail.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt, [*trail, nxt])):
                return cycle
        state[node] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module, [module])):
            return cycle
    return None


def test_the_import_graph_has_no_cycles_function_level_imports_included():
    graph = import_graph(PACKAGE)
    assert {"mcp_server.server", "mcp_server.http", "mcp_server.cli", "mcp_server.serve"} <= set(graph)
    assert "mcp_server.services" in graph["mcp_server.server"]  # the walk sees the imports
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_a_cycle_through_function_level_imports_is_found(tmp_path):
    package = tmp_path / "mcp_server"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from . import b\n")
    (package / "b.py").write_text("import os\n\ndef g():\n    from .a import f\n")
    assert find_cycle(import_graph(package)) == ["mcp_server.a", "mcp_server.b", "mcp_server.a"]


def test_wiring_and_running_live_apart():
    graph = import_graph(PACKAGE)
    assert "mcp_server.http" not in graph["mcp_server.server"] and "mcp_server.serve" not in graph["mcp_server.server"]
    source = inspect.getsource(__import__("mcp_server.server", fromlist=["create_server"]).create_server)
    assert len(source.splitlines()) <= 40  # create_server fits on a screen


# --------------------------------------------------------------------------- tools callable alone


def test_a_tool_is_a_plain_function_callable_without_an_mcp_client(settings):
    from mcp_server.services import Services
    from mcp_server.tools import notes

    ctx = SimpleNamespace(request_context=SimpleNamespace(lifespan_context=Services(settings)))
    result = asyncio.run(notes.search_notes("Q-Former learnable queries", ctx, limit=2))
    assert len(result.hits) == 2 and result.hits[0].path == "vision-language.md"
    note = asyncio.run(notes.read_note("vision-language.md#blip-2", ctx))
    assert note.uri == "notes://vision-language.md#blip-2"


# --------------------------------------------------------------------------- one home for every bound


def _schemas(settings) -> dict[str, dict]:
    from mcp import Client

    from mcp_server.server import create_server

    async def go():
        async with Client(create_server(settings)) as client:
            return {t.name: t.input_schema["properties"] for t in (await client.list_tools()).tools}

    return asyncio.run(go())


def _flag_help(command: list[str]) -> dict[str, str]:
    """flag -> its help text, from the real parser."""
    from mcp_server.cli import build_parser

    parser = build_parser()
    for word in command:
        parser = next(a for a in parser._actions if a.dest in ("command", "notes_command")).choices[word]
    return {opt: action.help for action in parser._actions for opt in action.option_strings}


@pytest.mark.parametrize("tool, command, renames", [
    ("caption_image", ["caption"], {"num_beams": "--beams", "sampling": "--sample"}),
    ("answer_question", ["ask"], {"num_beams": "--beams"}),
    ("search_notes", ["notes", "search"], {}),
])
def test_cli_flags_and_their_help_match_the_tool_schemas(settings, tool, command, renames):
    schema = _schemas(settings)[tool]
    helps = _flag_help(command)
    compared = 0
    for name, prop in schema.items():
        if name in ("image", "images", "question", "query", "model", "tags"):
            continue  # positional arguments and free names: no bounds to compare
        flag = renames.get(name, "--" + name.replace("_", "-"))
        assert flag in helps, f"{tool}.{name} has no CLI flag {flag}"
        help_ = helps[flag]
        if "description" in prop:
            assert help_.startswith(prop["description"].rstrip(".")), (flag, help_)
        low = prop.get("minimum", prop.get("exclusiveMinimum"))
        high = prop.get("maximum", prop.get("exclusiveMaximum"))
        if low is not None and high is not None:
            assert f"{low} to {high}" in help_, (flag, help_)
        if prop.get("default") not in (None, False):
            assert f"default {prop['default']}" in help_, (flag, help_)
        compared += 1
    assert compared >= 1


# --------------------------------------------------------------------------- deviations, listed and tested


def test_every_deviation_is_listed_with_why_versions_and_its_test():
    from mcp_server.deviations import DEVIATIONS

    tests = {node.name for path in (ROOT / "tests").glob("test_*.py")
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}
    modules = {p.stem for p in (PACKAGE / "deviations").glob("*.py") if p.stem != "__init__"}
    assert {d.module for d in DEVIATIONS} == modules  # every module listed, every entry a module
    for deviation in DEVIATIONS:
        assert deviation.why and deviation.checked_with and deviation.used_by
        assert deviation.test in tests, f"{deviation.module}: no test named {deviation.test}"
