"""Whether a checkpoint fits: the memory its weights take in the dtype it will run in, against what is available.

Checked before anything is loaded, so that a machine without room for a model gets one line naming the model,
the figures and the fix, instead of an out-of-memory kill half-way through ``from_pretrained``. The weights are
counted from the safetensors headers (a few KB read per file, whatever dtype they are stored in), else from the
weight files' sizes; what is available is the kernel's estimate (``MemAvailable``, page cache included, since
the weights' own file pages are reclaimable) within the process's cgroup limit, or the device's free memory.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

# Beyond the weights: activations, the one layer being repacked at a time, transformers' loading buffers, the
# parts that stay in float32 (BLIP-2's Q-Former). Measured peaks were within 10% of the weights (the README).
MARGIN = 0.10
MARGIN_BYTES = 512 * 1024**2
STORED_BYTES = {"F64": 8, "I64": 8, "F32": 4, "I32": 4, "BF16": 2, "F16": 2, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
                "F8_E4M3": 1, "F8_E5M2": 1}


def weight_files(folder: Path) -> list[Path]:
    """The checkpoint's weight files: the shards its index names, else every safetensors or PyTorch file."""
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        names = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        return [folder / name for name in names]
    return sorted(folder.glob("*.safetensors")) or sorted(folder.glob("pytorch_model*.bin"))


def parameter_count(files: list[Path], stored_dtype_bytes: int = 4) -> int:
    """Elements in the weight files: exact from safetensors headers; otherwise (a .bin file, or a header that does
    not parse, which loading then reports) the file's size over its stored dtype."""
    return sum(_safetensors_elements(file) or file.stat().st_size // stored_dtype_bytes for file in files)


def _safetensors_elements(file: Path) -> int | None:
    if file.suffix != ".safetensors":
        return None
    try:
        with file.open("rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            if length > file.stat().st_size:
                return None
            header = json.loads(handle.read(length))
        return sum(math.prod(entry["shape"]) for key, entry in header.items() if key != "__metadata__")
    except (OSError, ValueError, struct.error, TypeError, KeyError, AttributeError):
        return None


def needed_bytes(parameters: int, dtype: torch.dtype) -> int:
    return int(parameters * dtype.itemsize * (1 + MARGIN)) + MARGIN_BYTES


def available_bytes(device: str) -> int | None:
    """Memory this process can still take on ``device``; None where it cannot be told (then nothing is checked)."""
    if device.startswith("cuda"):
        import torch

        return torch.cuda.mem_get_info(torch.device(device))[0]
    if device != "cpu":
        return None
    try:
        meminfo = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in meminfo.splitlines() if ":" in line)
    if "MemAvailable" not in fields:
        return None
    available = int(fields["MemAvailable"].split()[0]) * 1024
    limited = _cgroup_available()
    return available if limited is None else min(available, limited)


def _cgroup_available() -> int | None:
    """Room left under a cgroup v2 memory limit (a container's), counting its reclaimable file cache as free."""
    try:
        line = next(x for x in Path("/proc/self/cgroup").read_text().splitlines() if x.startswith("0::"))
        group = Path("/sys/fs/cgroup") / line[3:].lstrip("/")
        limit = (group / "memory.max").read_text().strip()
        if limit == "max":
            return None
        current = int((group / "memory.current").read_text())
        stat = dict(x.split() for x in (group / "memory.stat").read_text().splitlines())
        return int(limit) - current + int(stat.get("inactive_file", 0))
    except (OSError, StopIteration, ValueError):
        return None


def gigabytes(n: int) -> str:
    return f"{n / 1e9:.1f} GB"
