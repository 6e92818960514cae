"""The command line: a thin front over the same services and result models as the MCP tools.

    ai-notes-mcp [serve]                      MCP over stdio (what MCP clients launch)
    ai-notes-mcp serve --http                 streamable HTTP at /mcp, the notes site at /notes/
    ai-notes-mcp serve --http --ray [ADDRESS] the same, its vision models on Ray Serve replicas
    ai-notes-mcp caption IMAGE... [options]   ai-notes-mcp ask IMAGE QUESTION   ai-notes-mcp match IMAGE TEXT...
    ai-notes-mcp explain IMAGE TEXT           ai-notes-mcp explain-caption IMAGE [--caption C]
    ai-notes-mcp models                       ai-notes-mcp notes search QUERY   ai-notes-mcp notes read REF
    ai-notes-mcp finetune --data DATA --out DIR [--model NAME] [--task caption|vqa] [--resume] [options]
    ai-notes-mcp caption-dataset SRC --out OUT [--tasks caption,vqa:QUESTION,embed] [--sidecars] [--ray [ADDRESS]]

``--json`` prints exactly what the matching tool returns as structured content. Option flags, their help and
their bounds come from the same option models and argument types as the tools' schemas. Bad input: one line
on stderr, exit 2, no traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from pydantic import BaseModel

from .arguments import field_info, help_text, make_options
from .datasets.options import JobOptions, RayOptions, SidecarOptions
from .errors import AiNotesError, BadInputError
from .image_index.options import DEFAULT_HITS, Hits, Match, MinScore, Threshold, WithCaptions
from .image_prompt import PromptMode
from .knowledge.options import DEFAULT_SEARCH_LIMIT, SearchLimit
from .training.options import FinetuneOptions
from .vision.options import AnswerOptions, CaptionOptions, ExplainText, MatchMethod, Method

if TYPE_CHECKING:
    from .services import Services

PROG = "ai-notes-mcp"
# Flags spelled differently from their option's name; every other option is --name-with-dashes.
FLAG_NAMES = {"num_beams": "--beams", "sampling": "--sample"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage block
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def flag(name: str, prefix: str = "") -> str:
    """A field's flag; with a prefix (``vqa``), ``--vqa-`` before it, for a second options model in one command."""
    bare = FLAG_NAMES.get(name, "--" + name.replace("_", "-"))
    return f"--{prefix}-{bare[2:]}" if prefix else bare


def add_option_flags(parser: argparse.ArgumentParser, options: type[BaseModel], *, skip: Sequence[str] = (),
                     prefix: str = "") -> None:
    """One flag per field of an options model: its type, its description and bounds as help, no default of its
    own (an absent flag leaves the model's default)."""
    for name, field in options.model_fields.items():
        if name in skip:
            continue
        help_ = help_text(field, default=field.default)
        dest = f"{prefix}_{name}" if prefix else name
        annotation = next((a for a in get_args(field.annotation) if a is not type(None)), field.annotation)
        if annotation is bool:
            parser.add_argument(flag(name, prefix), dest=dest, action="store_const", const=True, help=help_)
            continue
        kind = next((t for t in (int, float) if annotation is t), str)
        metavar = {int: "N", float: "X"}.get(kind, "TEXT")
        parser.add_argument(flag(name, prefix), dest=dest, type=kind, metavar=metavar, help=help_)


def options_from(args: argparse.Namespace, options: type[BaseModel], *, prefix: str = "") -> Any:
    dest = (lambda name: f"{prefix}_{name}") if prefix else (lambda name: name)
    values = {name: getattr(args, dest(name), None) for name in options.model_fields}
    return make_options(options, values, names={name: flag(name, prefix) for name in options.model_fields})


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS,
                        help="settings file (default: $AI_NOTES_MCP_CONFIG, else built-in defaults)")
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--json", action="store_true", help="print the tool's structured result as JSON")

    parser = _Parser(prog=PROG, description="Eyes and a cited memory of the AI field for LLM agents.",
                     parents=[common])
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    serve = sub.add_parser("serve", parents=[common], help="run the MCP server (stdio by default)")
    serve.add_argument("--http", action="store_true", help="streamable HTTP at /mcp plus the notes site at /notes/")
    serve.add_argument("--host", help="HTTP bind address (default from settings: 127.0.0.1)")
    serve.add_argument("--port", type=int, help="HTTP port (default from settings: 8765)")
    serve.add_argument("--preload", action="store_true", help="load the default models in the background at start")
    serve.add_argument("--ray", nargs="?", const="", metavar="ADDRESS", dest="ray_address",
                       help="run the vision models as Ray Serve deployments (with --http; the [ray] extra): join the "
                            "Ray cluster at ADDRESS ('auto': the one running here), else $RAY_ADDRESS's or the one "
                            "last started here, else start one on this machine; sized by the ray_serve settings")

    cap = sub.add_parser("caption", parents=[common, output], help="caption one or more images")
    cap.add_argument("images", nargs="+", metavar="IMAGE", help="path, file:// or data: URI, base64, or URL")
    add_option_flags(cap, CaptionOptions)
    cap.add_argument("--model", help="configured model name (see `models`)")

    ask = sub.add_parser("ask", parents=[common, output], help="answer a question about an image")
    ask.add_argument("image", metavar="IMAGE")
    ask.add_argument("question", metavar="QUESTION")
    add_option_flags(ask, AnswerOptions)
    ask.add_argument("--model", help="configured model name (see `models`)")

    match = sub.add_parser("match", parents=[common, output], help="score how well texts describe an image")
    match.add_argument("image", metavar="IMAGE")
    match.add_argument("texts", nargs="+", metavar="TEXT")
    match.add_argument("--method", choices=list(MatchMethod.__args__), default="itm",
                       help=help_text(field_info(Method), default="itm"))
    match.add_argument("--model", help="configured model name (see `models`)")

    explain = sub.add_parser("explain", parents=[common, output],
                             help="where in the image a text points (Grad-CAM heat maps per word)")
    explain.add_argument("image", metavar="IMAGE")
    explain.add_argument("text", metavar="TEXT", help=help_text(field_info(ExplainText)))
    explain.add_argument("--out", metavar="PNG", help="write the heat-map picture to this file")
    explain.add_argument("--model", help="configured BLIP matching model (see `models`)")

    explain_cap = sub.add_parser("explain-caption", parents=[common, output],
                                 help="caption an image and show where each word came from")
    explain_cap.add_argument("image", metavar="IMAGE")
    explain_cap.add_argument("--caption", help="explain this caption instead of writing one")
    explain_cap.add_argument("--out", metavar="PNG", help="write the contact sheet (one tile per word) to this file")
    explain_cap.add_argument("--model", help="configured BLIP captioning model (see `models`)")

    index = sub.add_parser("index", parents=[common, output],
                           help="index a folder of images for search (no folder: show what the index holds)")
    index.add_argument("folder", nargs="?", metavar="DIR")
    index.add_argument("--no-recursive", dest="recursive", action="store_false", help="leave sub-folders out")
    index.add_argument("--captions", action="store_true", help=help_text(field_info(WithCaptions)))

    find = sub.add_parser("search", parents=[common, output], help="find indexed images by text, an image or both")
    find.add_argument("text", nargs="*", metavar="TEXT")
    find.add_argument("--image", metavar="IMAGE", help="find images like this one")
    find.add_argument("-k", type=int, default=DEFAULT_HITS, metavar="N", help=help_text(field_info(Hits),
                                                                                          default=DEFAULT_HITS))
    find.add_argument("--folder", metavar="DIR", help="only images under this folder")
    find.add_argument("--min-score", type=float, metavar="X", help=help_text(field_info(MinScore)))
    find.add_argument("--match", choices=["meaning", "words", "both"], default="meaning",
                      help=help_text(field_info(Match), default="meaning"))

    dupes = sub.add_parser("dupes", parents=[common, output], help="group copies and near-copies in an indexed folder")
    dupes.add_argument("folder", metavar="DIR")
    dupes.add_argument("--threshold", type=float, default=0.95, metavar="X",
                       help=help_text(field_info(Threshold), default=0.95))

    prompt = sub.add_parser("prompt", parents=[common, output], help="turn an image into a text-to-image prompt")
    prompt.add_argument("image", metavar="IMAGE")
    prompt.add_argument("--mode", choices=["fast", "classic", "negative"], default="classic",
                        help=help_text(field_info(PromptMode), default="classic"))

    data = sub.add_parser("caption-dataset", parents=[common, output],
                          help="caption a whole dataset into Parquet, resumably (--ray: on a Ray cluster)")
    data.add_argument("source", metavar="SRC", help="a folder (recursive), a glob, a text file of paths, or a "
                                                    "Parquet / JSONL file with an image column")
    data.add_argument("--out", required=True, metavar="OUT",
                      help="the Parquet dataset folder to write; a rerun skips the rows it holds")
    data.add_argument("--tasks", action="append", metavar="TASK[,TASK]",
                      help="caption, vqa:QUESTION and embed (the ITC embedding), comma-separated or repeated "
                           "(default caption)")
    data.add_argument("--model", metavar="NAME", help="configured captioning model or adapter (see `models`)")
    data.add_argument("--vqa-model", metavar="NAME", help="configured question-answering model or adapter for vqa: "
                                                          "tasks")
    data.add_argument("--embed-model", metavar="NAME", help="configured BLIP matching model for the embed task")
    add_option_flags(data, CaptionOptions)
    add_option_flags(data, AnswerOptions, prefix="vqa")
    add_option_flags(data, JobOptions)
    add_option_flags(data, SidecarOptions)
    data.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                      help="run on Ray Data: a local instance, or the cluster at ADDRESS ('auto': the running one)")
    add_option_flags(data, RayOptions)

    sub.add_parser("models", parents=[common, output], help="list the configured models and their status")

    tune = sub.add_parser("finetune", parents=[common, output],
                          help="train a LoRA adapter on a model's text side (image encoder frozen)",
                          description="Train a LoRA adapter on the text side of a configured BLIP or BLIP-2 model, "
                                      "its image encoder frozen and each image encoded once; serve it by name from "
                                      "the settings' adapters section. What to decide: notes/small-models.md"
                                      "#lora-vision-language.")
    tune.add_argument("--data", required=True, metavar="DATA",
                      help="a folder of images with .txt captions beside them, or a .jsonl / .csv file of "
                           "image,caption or image,question,answer rows")
    tune.add_argument("--out", required=True, metavar="DIR", help="the adapter folder to write (checkpoints inside)")
    tune.add_argument("--model", help="configured base model (default: the task's default model)")
    tune.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    add_option_flags(tune, FinetuneOptions)

    notes = sub.add_parser("notes", parents=[common], help="search and read the AI notes")
    notes_sub = notes.add_subparsers(dest="notes_command", parser_class=_Parser, required=True)
    search = notes_sub.add_parser("search", parents=[common, output], help="full-text search, best sections first")
    search.add_argument("query", nargs="+")
    search.add_argument("--tags", action="append", metavar="TAG[,TAG]",
                        help="only pages with one of these tags (comma-separated, or repeat the flag)")
    search.add_argument("--limit", type=int, default=DEFAULT_SEARCH_LIMIT, metavar="N",
                        help=help_text(field_info(SearchLimit), default=DEFAULT_SEARCH_LIMIT))
    read = notes_sub.add_parser("read", parents=[common, output],
                                help="print a page or one section (path, URL or notes:// URI)")
    read.add_argument("ref")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, as Unix tools do, and keep Python's exit-time flush
        # from raising again on the closed pipe.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a tool ended by a closed pipe


def _run(args: argparse.Namespace) -> int:
    try:
        from .config import load_settings

        settings = load_settings(getattr(args, "config", None))
        if args.command in (None, "serve"):
            from .serve import serve

            return serve(settings, http=getattr(args, "http", False), host=getattr(args, "host", None),
                         port=getattr(args, "port", None), preload=getattr(args, "preload", False),
                         ray_address=getattr(args, "ray_address", None))
        from .services import Services

        with Services(settings) as services:
            return COMMANDS[args.command](services, args)
    except AiNotesError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


# -- commands: each calls a service and prints its result model --------------------------------


def _print(result: BaseModel, as_json: bool, human: str) -> None:
    """``--json``: the result exactly as the tool returns it in structured content."""
    print(json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=False) if as_json else human)


def cmd_caption(services: Services, args) -> int:
    options = options_from(args, CaptionOptions)
    if len(args.images) == 1:
        result = asyncio.run(services.vision.caption(args.images[0], options, args.model))
        _print(result, args.json, "\n".join(result.captions))
        return 0
    batch = asyncio.run(services.vision.caption_many(args.images, options, args.model))
    for item in batch.results:
        if item.error:
            print(f"{PROG}: {item.error}", file=sys.stderr)
    lines = [f"{ref}: " + " | ".join(item.captions) for ref, item in zip(args.images, batch.results, strict=True)
             if item.captions is not None]
    _print(batch, args.json, "\n".join(lines))
    return 2 if any(item.error for item in batch.results) else 0


def cmd_ask(services: Services, args) -> int:
    options = options_from(args, AnswerOptions)
    result = asyncio.run(services.vision.answer(args.image, args.question, options, args.model))
    _print(result, args.json, result.answer)
    return 0


def cmd_match(services: Services, args) -> int:
    result = asyncio.run(services.vision.match(args.image, args.texts, args.method, args.model))
    _print(result, args.json, "\n".join(f"{row.score:.4f}  {row.text}" for row in result.scores))
    return 0


def _save_picture(explained, out: str | None) -> None:
    if out:
        try:
            Path(out).write_bytes(explained.png)
        except OSError as exc:
            raise BadInputError(f"cannot write {out!r} ({exc.strerror or exc}); pass --out a writable path") from exc


def _where(word) -> str:
    box = word.regions[0] if word.regions else None
    return f"({box.x0},{box.y0})-({box.x1},{box.y1})" if box else "nowhere in particular"


def cmd_explain(services: Services, args) -> int:
    explained = asyncio.run(services.vision.explain_match(args.image, args.text, args.model))
    _save_picture(explained, args.out)
    result = explained.result
    lines = [f"match probability {result.probability:.4f}: {result.text}"]
    lines += [f"  {w.word:<16} {_where(w)}" for w in result.words]
    _print(result, args.json, "\n".join(lines))
    return 0


def cmd_explain_caption(services: Services, args) -> int:
    explained = asyncio.run(services.vision.explain_caption(args.image, args.caption, args.model))
    _save_picture(explained, args.out)
    result = explained.result
    lines = [result.caption] + [f"  {w.word:<16} p={w.probability:.3f}  {_where(w)}" for w in result.words]
    _print(result, args.json, "\n".join(lines))
    return 0


def cmd_caption_dataset(services: Services, args) -> int:
    from .datasets.job import caption_dataset
    from .datasets.options import DatasetJob
    from .datasets.tasks import split_tasks, task_specs

    specs = task_specs(split_tasks(args.tasks or []), services.settings, caption=options_from(args, CaptionOptions),
                       answer=options_from(args, AnswerOptions, prefix="vqa"), caption_model=args.model,
                       vqa_model=args.vqa_model, embed_model=args.embed_model)
    ray = options_from(args, RayOptions) if args.ray is not None else None
    request = DatasetJob(args.source, args.out, specs, options_from(args, JobOptions),
                         options_from(args, SidecarOptions), ray, args.ray or None)
    summary = caption_dataset(services.settings, request)
    lines = [f"{summary.done} images done, {summary.skipped} skipped (already in {summary.out}), {summary.failed} "
             f"failed; {summary.rows_written} rows in {summary.parts_written} parts, {summary.elapsed_s:.1f} s "
             f"({summary.images_per_s:.2f} images/s, {summary.mode})"]
    lines += [f"  {f.path}: {f.error}" + (" (not written: a rerun retries it)" if f.retry else "")
              for f in summary.failures[:10]]
    if summary.failed > 10:
        lines.append(f"  ... {summary.failed - 10} more in the error column")
    if summary.sidecars_written is not None:
        lines.append(f"sidecars: {summary.sidecars_written} written, {summary.sidecars_kept} kept as they were"
                     + (f", {summary.sidecars_failed} could not be written" if summary.sidecars_failed else ""))
    _print(summary, args.json, "\n".join(lines))
    return 0


def _progress_bar(label: str):
    """A one-line progress bar on stderr (only on a terminal), with items per second and time left."""
    start = time.monotonic()

    async def show(done: int, total: int) -> None:
        if not sys.stderr.isatty() or not total:
            return
        rate = done / max(time.monotonic() - start, 1e-6)
        left = (total - done) / rate if rate else 0
        bar = "#" * int(30 * done / total)
        print(f"\r{label} [{bar:<30}] {done}/{total} {rate:.1f}/s ETA {left:.0f}s", end="", file=sys.stderr,
              flush=True)
        if done == total:
            print(file=sys.stderr)

    return show


def cmd_index(services: Services, args) -> int:
    if args.folder is None:
        status = services.images.status()
        lines = [f"{status.index_path}: {status.images} images"] + [f"  {f.images:6d}  {f.folder}"
                                                                    for f in status.folders]
        _print(status, args.json, "\n".join(lines))
        return 0
    report = asyncio.run(services.images.index(args.folder, args.recursive, args.captions,
                                               progress=_progress_bar("indexing")))
    lines = [f"{report.folder}: {report.added} added, {report.updated} updated, {report.renamed} renamed, "
             f"{report.removed} removed, {report.unchanged} unchanged, {report.failed} failed"
             + ("" if report.complete else f"; {report.remaining} left: run it again")]
    lines += [f"  failed: {f.path}: {f.error}" for f in report.failures]
    _print(report, args.json, "\n".join(lines))
    return 0


def cmd_search(services: Services, args) -> int:
    found = asyncio.run(services.images.search(" ".join(args.text) or None, args.image, args.k, args.folder,
                                               args.min_score, args.match))
    human = "\n".join(f"{hit.score:7.4f}  {hit.path}" + (f"  ({hit.caption})" if hit.caption else "")
                      for hit in found.hits.hits)
    _print(found.hits, args.json, human or "no matches")
    return 0


def cmd_dupes(services: Services, args) -> int:
    result = asyncio.run(services.images.duplicates(args.folder, args.threshold))
    human = "\n\n".join(f"{g.kind} ({g.similarity:.3f}):\n" + "\n".join(f"  {p}" for p in g.paths)
                         for g in result.groups)
    _print(result, args.json, human or f"no duplicates among {result.images} indexed images")
    return 0


def cmd_prompt(services: Services, args) -> int:
    result = asyncio.run(services.prompts.image_to_prompt(args.image, args.mode))
    _print(result, args.json, result.prompt)
    return 0


def cmd_models(services: Services, args) -> int:
    result = services.vision.list_models()
    lines = [f"{m.name:<14} {m.status:<10} {','.join(m.tasks):<12} {m.source}" + (f"  ({m.hint})" if m.hint else "")
             for m in result.models]
    _print(result, args.json, "\n".join(lines))
    return 0


def cmd_notes(services: Services, args) -> int:
    if args.notes_command == "search":
        tags = [t.strip() for group in args.tags or () for t in group.split(",") if t.strip()] or None
        result = services.notes.search(" ".join(args.query), limit=args.limit, tags=tags)
        human = "\n".join(f"{hit.score:6.2f}  {hit.title} > {hit.section}\n        {hit.url}" for hit in result.hits)
        _print(result, args.json, human or "no matches")
    else:
        note = services.notes.read(args.ref)
        _print(note, args.json, note.markdown)
    return 0


def cmd_finetune(services: Services, args) -> int:
    from .training.finetune import finetune

    options = options_from(args, FinetuneOptions)
    try:
        result = finetune(services.settings, data=args.data, out=args.out, model=args.model, options=options,
                          resume=args.resume, progress=True)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; finished epochs are checkpointed in {args.out}: run the same command with "
              "--resume to continue", file=sys.stderr)
        return 130
    losses = f"train loss {result.train_loss[-1]:.4f}" if result.train_loss else "no epoch to run"
    if result.validation_loss:
        losses += f", validation loss {result.validation_loss[-1]:.4f}"
    human = (f"adapter for {result.model} ({result.task}) in {result.out}: {result.epochs} epochs, {losses}; "
             f"{result.trainable_params:,} trainable parameters ({result.trainable_share:.2%} of the model)\n"
             f"serve it by name with this in the settings:\n  {result.serve}")
    _print(result, args.json, human)
    return 0


COMMANDS = {"caption": cmd_caption, "ask": cmd_ask, "match": cmd_match, "explain": cmd_explain,
            "explain-caption": cmd_explain_caption, "index": cmd_index, "search": cmd_search, "dupes": cmd_dupes,
            "prompt": cmd_prompt, "caption-dataset": cmd_caption_dataset, "finetune": cmd_finetune,
            "models": cmd_models, "notes": cmd_notes}

