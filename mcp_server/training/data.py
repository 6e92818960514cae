"""Training data: a folder of images with sidecar captions, or a JSONL / CSV file of rows, as checked examples.

- A folder: every image in it (sub-folders included) with a caption in a ``.txt`` file of the same name beside it
  (``photos/cat.jpg`` and ``photos/cat.txt``), the convention of image-training tools such as kohya-ss sd-scripts.
- A ``.jsonl`` file (one JSON object per line) or a ``.csv`` file (a header row), each row either
  ``{image, caption}`` or ``{image, question, answer}``; relative image paths are read from the file's folder.

Each problem is one line that names the row or the file: an image that cannot be read, a row without its text,
texts the base model's tokenizer cannot spell, a set too small to train on.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadInputError
from .options import MIN_EXAMPLES

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
MAX_UNKNOWN_SHARE = 0.01  # above this share of [UNK] tokens the adapter would learn to write [UNK]
NOTES = "notes/small-models.md#lora-data"
LANGUAGES = "notes/small-models.md#lora-languages"


@dataclass(frozen=True)
class Example:
    image: Path
    text: str  # the caption, or the answer
    where: str  # the row or file, for messages: "data.jsonl line 3", "photos/cat.txt"
    question: str | None = None


def read_examples(data: str | Path) -> list[Example]:
    """The examples in a folder, a .jsonl or a .csv file; one line naming the place of the first problem."""
    path = Path(data).expanduser()
    if path.is_dir():
        examples = _read_folder(path)
    elif path.suffix.lower() == ".jsonl" and path.is_file():
        examples = _read_rows(path, _jsonl_rows(path))
    elif path.suffix.lower() == ".csv" and path.is_file():
        examples = _read_rows(path, _csv_rows(path))
    elif not path.exists():
        raise BadInputError(f"--data {str(data)!r}: no such file or folder")
    else:
        raise BadInputError(f"--data {str(data)!r} must be a folder of images with .txt captions, or a .jsonl or "
                            ".csv file of image and caption (or image, question and answer) rows")
    if not examples:
        raise BadInputError(f"--data {str(data)!r} holds no examples")
    if len(examples) < MIN_EXAMPLES:
        raise BadInputError(f"--data {str(data)!r} holds only {len(examples)} example(s); training needs at least "
                            f"{MIN_EXAMPLES}, and an adapter that generalises some hundreds (see {NOTES})")
    kinds = {e.question is not None for e in examples}
    if len(kinds) > 1:
        first_vqa = next(e for e in examples if e.question is not None)
        raise BadInputError(f"--data {str(data)!r} mixes caption rows with question rows ({first_vqa.where}); "
                            "train captions and answers as two adapters")
    return examples


def _read_folder(folder: Path) -> list[Example]:
    images = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not images:
        raise BadInputError(f"--data {str(folder)!r} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    examples = []
    for image in images:
        sidecar = image.with_suffix(".txt")
        where = str(sidecar.relative_to(folder))
        if not sidecar.is_file():
            raise BadInputError(f"{image.relative_to(folder)} has no caption: write it in {where} beside the image "
                                "(one caption per image)")
        try:
            caption = sidecar.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInputError(f"{where} cannot be read as UTF-8 text ({exc})") from exc
        if not caption:
            raise BadInputError(f"{where} is empty: write the image's caption in it")
        examples.append(Example(image=image, text=" ".join(caption.split()), where=where))
    return examples


def _jsonl_rows(path: Path) -> Iterable[tuple[str, dict]]:
    for number, line in enumerate(_lines(path), start=1):
        if not line.strip():
            continue
        where = f"{path.name} line {number}"
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise BadInputError(f"{where} is not JSON ({exc.args[0] if exc.args else exc})") from exc
        if not isinstance(row, dict):
            raise BadInputError(f"{where} must be a JSON object such as {{\"image\": ..., \"caption\": ...}}")
        yield where, row


def _csv_rows(path: Path) -> Iterable[tuple[str, dict]]:
    reader = csv.DictReader(_lines(path))
    if not reader.fieldnames or "image" not in reader.fieldnames:
        raise BadInputError(f"{path.name} needs a header row naming its columns: image,caption or "
                            "image,question,answer")
    for row in reader:
        yield f"{path.name} line {reader.line_num}", row


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"--data {str(path)!r} cannot be read as UTF-8 text ({exc})") from exc


def _read_rows(path: Path, rows: Iterable[tuple[str, dict]]) -> list[Example]:
    examples = []
    for where, row in rows:
        values = {k: " ".join(str(v).split()) for k, v in row.items() if k is not None and v is not None}
        image = values.get("image")
        if not image:
            raise BadInputError(f"{where} has no image")
        if values.get("question") or values.get("answer"):
            if not (values.get("question") and values.get("answer")):
                missing = "answer" if values.get("question") else "question"
                raise BadInputError(f"{where} has no {missing}: a question row needs image, question and answer")
            text, question = values["answer"], values["question"]
        elif values.get("caption"):
            text, question = values["caption"], None
        else:
            raise BadInputError(f"{where} has no caption (a row needs image and caption, or image, question and "
                                f"answer; found {', '.join(k for k in row if k) or 'nothing'})")
        examples.append(Example(image=(path.parent / image).expanduser(), text=text, where=where, question=question))
    return examples


def check_spelling(examples: list[Example], tokenizer, model: str, advice: str) -> None:
    """Refuse texts the tokenizer cannot represent: above MAX_UNKNOWN_SHARE unknown tokens, one line with examples
    of the words it cannot spell and what to use instead (``advice``)."""
    unknown = tokenizer.unk_token_id
    if unknown is None:  # byte-level BPE: every text can be written
        return
    total = misses = 0
    words: dict[str, None] = {}
    for example in examples:
        for text in (example.text, example.question):
            if not text:
                continue
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            total += len(ids)
            if unknown in ids:
                misses += ids.count(unknown)
                words.update(dict.fromkeys(w for w in text.split()
                                           if unknown in tokenizer(w, add_special_tokens=False)["input_ids"]))
    if total and misses / total > MAX_UNKNOWN_SHARE:
        shown = ", ".join(repr(w) for w in list(words)[:4])
        raise BadInputError(f"{misses / total:.0%} of the tokens of the training texts are unknown to model "
                            f"{model!r}'s tokenizer (e.g. {shown}): {advice} (see {LANGUAGES})")


def split(examples: list[Example], share: float, seed: int) -> tuple[list[Example], list[Example]]:
    """Training and validation examples, split by image (all questions about an image fall on one side)."""
    images = sorted({e.image for e in examples})
    random.Random(seed).shuffle(images)
    held = set(images[: int(len(images) * share)])
    return [e for e in examples if e.image not in held], [e for e in examples if e.image in held]


def fingerprint(examples: list[Example], image_digests: dict[Path, str]) -> str:
    """A digest of the data as trained on: each image's bytes and its texts, in order."""
    digest = hashlib.sha256()
    for e in examples:
        digest.update(json.dumps([image_digests[e.image], e.question, e.text]).encode())
    return digest.hexdigest()[:16]
