"""The README's promises that code can check: the tool table and the test command."""

from __future__ import annotations

from pathlib import Path

from gen_reference import END, START, tools_table

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_tool_table_matches_the_server():
    table = README.split(START, 1)[1].split(END, 1)[0].strip()
    assert table == tools_table(), "run: python tools/gen_reference.py --write"


def test_ci_runs_the_readme_test_command():
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "test-command" in ci
    command = README.split("<!-- test-command -->", 1)[1].split("```bash", 1)[1].split("```", 1)[0].strip()
    assert "pytest" in command and "check_notes.py" in command and "--strict" in command
