"""Caption files beside the images (``photo.jpg`` -> ``photo.txt``), the convention of image-training tools
such as kohya-ss sd-scripts: prefix + caption + suffix and a newline, UTF-8. An existing file is kept
unless overwriting is asked for; a new one is written to a temporary file and renamed, so a killed run
never leaves half a caption."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from .options import SidecarOptions

Written = Literal["written", "kept", "failed"]


def sidecar_path(image: Path, options: SidecarOptions) -> Path:
    return image.with_suffix(options.sidecar_ext)


def write_sidecar(image: Path, caption: str, options: SidecarOptions) -> Written:
    target = sidecar_path(image, options)
    if not options.overwrite_sidecars and target.exists():
        return "kept"
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        temp.write_text(f"{options.prefix}{caption}{options.suffix}\n", encoding="utf-8")
        os.replace(temp, target)
    except OSError:
        temp.unlink(missing_ok=True)
        return "failed"
    return "written"
