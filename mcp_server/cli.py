"""The command line: a thin front over the same services and result models as the MCP tools.

    ai-notes-mcp [serve]                      MCP over stdio (what MCP clients launch)
    ai-notes-mcp serve --http                 streamable HTTP at /mcp, the notes site at /notes/
    ai-notes-mcp caption IMAGE... [options]   ai-notes-mcp ask IMAGE QUESTION   ai-notes-mcp match IMAGE TEXT...
    ai-notes-mcp models                       ai-notes-mcp notes search QUERY   ai-notes-mcp notes read REF

``--json`` prints the tools' structured results. Bad input: one line on stderr, exit 2, no traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from .errors import AiNotesError

PROG = "ai-notes-mcp"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage block
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS,
                        help="settings file (default: $AI_NOTES_MCP_CONFIG, else built-in defaults)")
    return common


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the structured result as JSON")


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = _Parser(prog=PROG, description="Eyes and a cited memory of the AI field for LLM agents.",
                     parents=[common])
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    serve = sub.add_parser("serve", parents=[common], help="run the MCP server (stdio by default)")
    serve.add_argument("--http", action="store_true", help="streamable HTTP at /mcp plus the notes site at /notes/")
    serve.add_argument("--host", help="HTTP bind address (default from settings: 127.0.0.1)")
    serve.add_argument("--port", type=int, help="HTTP port (default from settings: 8765)")
    serve.add_argument("--preload", action="store_true", help="load the default models in the background at start")

    cap = sub.add_parser("caption", parents=[common], help="caption one or more images")
    cap.add_argument("images", nargs="+", metavar="IMAGE", help="path, file:// or data: URI, base64, or URL")
    cap.add_argument("--prompt", help="text the caption continues, e.g. 'a photo of'")
    cap.add_argument("--num-captions", type=int, help="captions per image (1-5)")
    cap.add_argument("--max-new-tokens", type=int, help="longest caption in tokens (1-100)")
    cap.add_argument("--min-new-tokens", type=int, help="shortest caption in tokens")
    cap.add_argument("--beams", type=int, dest="num_beams", help="beam width (1-8; 1 is greedy)")
    cap.add_argument("--sample", action="store_true", dest="sampling", help="sample instead of beam search")
    cap.add_argument("--temperature", type=float, help="sampling temperature")
    cap.add_argument("--top-p", type=float, help="nucleus sampling mass")
    cap.add_argument("--repetition-penalty", type=float, help=">1 discourages repeated words")
    cap.add_argument("--model", help="configured model name (see `models`)")
    _json_flag(cap)

    ask = sub.add_parser("ask", parents=[common], help="answer a question about an image")
    ask.add_argument("image", metavar="IMAGE")
    ask.add_argument("question", metavar="QUESTION")
    ask.add_argument("--max-new-tokens", type=int, help="longest answer in tokens (1-50)")
    ask.add_argument("--beams", type=int, dest="num_beams", help="beam width (1-8)")
    ask.add_argument("--model", help="configured model name")
    _json_flag(ask)

    match = sub.add_parser("match", parents=[common], help="score how well texts describe an image")
    match.add_argument("image", metavar="IMAGE")
    match.add_argument("texts", nargs="+", metavar="TEXT")
    match.add_argument("--method", choices=["itm", "itc"], default="itm",
                       help="itm: match probability (default); itc: embedding cosine")
    match.add_argument("--model", help="configured model name")
    _json_flag(match)

    models = sub.add_parser("models", parents=[common], help="list the configured models and their status")
    _json_flag(models)

    notes = sub.add_parser("notes", parents=[common], help="search and read the AI notes")
    notes_sub = notes.add_subparsers(dest="notes_command", parser_class=_Parser, required=True)
    search = notes_sub.add_parser("search", parents=[common], help="full-text search, best sections first")
    search.add_argument("query", nargs="+")
    search.add_argument("--tags", nargs="+", help="only pages with these tags")
    search.add_argument("--limit", type=int, default=5)
    _json_flag(search)
    read = notes_sub.add_parser("read", parents=[common],
                                help="print a page or one section (path, URL or notes:// URI)")
    read.add_argument("ref")
    _json_flag(read)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from .config import load_settings

        settings = load_settings(getattr(args, "config", None))
        if args.command in (None, "serve"):
            from .server import serve

            return serve(settings, http=getattr(args, "http", False), host=getattr(args, "host", None),
                         port=getattr(args, "port", None), preload=getattr(args, "preload", False))
        return COMMANDS[args.command](settings, args)
    except AiNotesError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


# -- commands ----------------------------------------------------------------------------------


def _print(result: BaseModel | list[Any], as_json: bool, human: str) -> None:
    if as_json:
        data = [r.model_dump() if isinstance(r, BaseModel) else r for r in result] if isinstance(result, list) \
            else result.model_dump()
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print(human)


def _vision(settings):
    from .knowledge.service import NotesService
    from .vision.service import VisionService

    return VisionService(settings, citations=NotesService(settings).citations)


def cmd_caption(settings, args) -> int:
    from .vision.options import CaptionOptions, make_options

    options = make_options(CaptionOptions, prompt=args.prompt, num_captions=args.num_captions,
                           max_new_tokens=args.max_new_tokens, min_new_tokens=args.min_new_tokens,
                           num_beams=args.num_beams, sampling=args.sampling or None, temperature=args.temperature,
                           top_p=args.top_p, repetition_penalty=args.repetition_penalty)
    service = _vision(settings)
    if len(args.images) == 1:
        result = asyncio.run(service.caption(args.images[0], options, args.model))
        _print(result, args.json, "\n".join(result.captions))
        return 0
    batch = asyncio.run(service.caption_many(args.images, options, args.model))
    rows: list[Any] = []
    lines = []
    for ref, item in zip(args.images, batch.results, strict=True):
        if item.error:
            print(f"{PROG}: {item.error}", file=sys.stderr)
            rows.append({"image": item.image, "error": item.error})
        else:
            rows.append({"captions": item.captions, "model": batch.model, "image": item.info.model_dump(),
                         "elapsed_ms": batch.elapsed_ms, "citations": [c.model_dump() for c in batch.citations]})
            lines.append(f"{ref}: " + " | ".join(item.captions))
    _print(rows, args.json, "\n".join(lines))
    return 2 if any(item.error for item in batch.results) else 0


def cmd_ask(settings, args) -> int:
    from .vision.options import AnswerOptions, make_options

    options = make_options(AnswerOptions, max_new_tokens=args.max_new_tokens, num_beams=args.num_beams)
    result = asyncio.run(_vision(settings).answer(args.image, args.question, options, args.model))
    _print(result, args.json, result.answer)
    return 0


def cmd_match(settings, args) -> int:
    result = asyncio.run(_vision(settings).match(args.image, args.texts, args.method, args.model))
    human = "\n".join(f"{row.score:.4f}  {row.text}" for row in result.scores)
    _print(result, args.json, human)
    return 0


def cmd_models(settings, args) -> int:
    from .vision.service import VisionService

    result = VisionService(settings).list_models()
    lines = [f"{m.name:<14} {m.status:<10} {','.join(m.tasks):<12} {m.source}" + (f"  ({m.hint})" if m.hint else "")
             for m in result.models]
    _print(result, args.json, "\n".join(lines))
    return 0


def cmd_notes(settings, args) -> int:
    from .knowledge.service import NotesService

    notes = NotesService(settings)
    if args.notes_command == "search":
        result = notes.search(" ".join(args.query), limit=args.limit, tags=args.tags)
        human = "\n".join(f"{hit.score:6.2f}  {hit.title} > {hit.section}\n        {hit.url}" for hit in result.hits)
        _print(result, args.json, human or "no matches")
    else:
        note = notes.read(args.ref)
        _print(note, args.json, note.markdown)
    return 0


COMMANDS = {"caption": cmd_caption, "ask": cmd_ask, "match": cmd_match, "models": cmd_models, "notes": cmd_notes}
