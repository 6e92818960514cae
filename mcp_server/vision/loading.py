"""From a configured model entry to a loaded ``VisionModel``: family, device, dtype, clear errors.

The family comes from the checkpoint's own config.json (``model_type``), never from its name.
Hub ids resolve through the normal Hugging Face cache (``HF_HOME``, ``HF_HUB_OFFLINE``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import AdapterSpec, ModelSpec
from ..errors import ConfigError, ModelUnavailableError
from . import hub

if TYPE_CHECKING:
    import torch

    from .protocol import VisionBackend

FAMILIES = {"blip": "blip", "blip-2": "blip-2"}  # config.json model_type -> our family name


def resolve_device(setting: str) -> str:
    """The device to run on; a device named in the settings must exist here (else one line with the fix)."""
    import torch

    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "mps" if mps else "cpu"
    if setting.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            build = f"torch {torch.__version__} has no CUDA support" if torch.version.cuda is None else (
                f"torch {torch.__version__} (CUDA {torch.version.cuda}) finds no CUDA device")
            raise ConfigError(f"bad setting device: {setting!r}, but {build}; set device to auto or cpu, "
                              "or install a CUDA build of torch on a machine with an NVIDIA GPU")
        index = int(setting.partition(":")[2] or 0)
        if index >= count:
            raise ConfigError(f"bad setting device: {setting!r}, but this machine has {count} CUDA device(s); "
                              f"use cuda:0 ... cuda:{count - 1}")
    if setting == "mps" and not mps:
        raise ConfigError("bad setting device: 'mps', but torch finds no Apple GPU here; set device to auto or cpu")
    return setting


def cpu_has_native_bf16() -> bool:
    """True where the CPU multiplies bf16 matrices natively (AMX or AVX-512 BF16); elsewhere bf16 is emulated."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    return " amx_bf16" in flags or " avx512_bf16" in flags


def resolve_dtype(setting: str, device: str) -> torch.dtype:
    import torch

    if setting == "auto":
        if device.startswith("cuda") or (device == "cpu" and cpu_has_native_bf16()):
            return torch.bfloat16
        return torch.float32
    if setting == "float16" and device == "cpu":
        raise ConfigError("bad setting dtype: float16 is not supported on the CPU; use auto, float32 or bfloat16")
    return getattr(torch, setting)


def quiet_libraries() -> None:
    """Our own one-line errors say what went wrong; the libraries' progress bars, retry warnings and advice are
    noise on the user's terminal and in the server log. Also used by the maintainers' scripts in tools/."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    hub.quiet()


def fetch_hint(spec: ModelSpec) -> str:
    if _is_local(spec.source):
        return f"the folder {spec.source} must hold a checkpoint (config.json and weights)"
    return (f"fetch it with `{hub.hf_command()} download {spec.source}` (needs the network once), "
            "or set its source to a local folder")


def _is_local(source: str) -> bool:
    return source.startswith(("/", ".", "~")) or Path(source).expanduser().exists()


def checkpoint_folder(spec: ModelSpec) -> Path | None:
    """The checkpoint's folder on this machine (a local folder, or its snapshot in the HF cache), if it has one."""
    if _is_local(spec.source):
        return Path(spec.source).expanduser()
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(spec.source, "config.json")
    return Path(cached).parent if isinstance(cached, str) else None


def local_config(spec: ModelSpec) -> dict | None:
    """The checkpoint's config.json if it is on this machine (local folder or HF cache), without loading anything."""
    folder = checkpoint_folder(spec)
    path = folder / "config.json" if folder is not None else None
    if path is None or not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def family_of(config: dict) -> str | None:
    return FAMILIES.get(str(config.get("model_type")))


def check_memory(name: str, spec: ModelSpec, device: str, dtype: torch.dtype) -> None:
    """Refuse, in one line, a checkpoint whose weights cannot fit in the memory available; nothing is loaded yet.

    Silent where it cannot tell: weights not on this machine yet (they download on load), or no memory figure.
    """
    import torch

    from . import memory

    folder = checkpoint_folder(spec)
    files = memory.weight_files(folder) if folder is not None else []
    if not files or not all(f.is_file() for f in files):
        return
    config = local_config(spec) or {}
    stored = getattr(torch, str(config.get("dtype") or config.get("torch_dtype") or "float32"), torch.float32)
    parameters = memory.parameter_count(files, stored.itemsize)
    available = memory.available_bytes(device)
    needed = memory.needed_bytes(parameters, dtype)
    if available is None or needed <= available:
        return
    smaller = memory.needed_bytes(parameters, torch.bfloat16)
    dtype_name = str(dtype).removeprefix("torch.")
    if dtype.itemsize > 2 and smaller <= available:
        advice = f"set dtype to bfloat16 (about {memory.gigabytes(smaller)}), or free memory"
    else:
        advice = "free memory, or configure a smaller checkpoint or a machine with more memory"
    where = "on this machine" if device == "cpu" else f"on {device}"
    raise ModelUnavailableError(
        f"model {name!r} ({spec.source}) needs about {memory.gigabytes(needed)} of memory in {dtype_name} "
        f"({parameters / 1e9:.2f}B parameters) but {memory.gigabytes(available)} is available {where}; {advice}")


def checkpoint_config(name: str, spec: ModelSpec):
    """The checkpoint's ``PretrainedConfig``, without its weights (fetched once if online); one line when missing.

    What ``load_model`` reads first; a job that loads its models elsewhere (on Ray actors) checks them with it.
    """
    from transformers import AutoConfig

    quiet_libraries()
    if not _is_local(spec.source) and not hub.offline() and local_config(spec) is None and not hub.reachable():
        raise ModelUnavailableError(
            f"model {name!r} ({spec.source}) is not on this machine and the Hugging Face hub ({hub.host()}) cannot "
            f"be reached: {fetch_hint(spec)}")
    try:
        return AutoConfig.from_pretrained(spec.source)
    except (OSError, ValueError) as exc:
        raise ModelUnavailableError(f"model {name!r} ({spec.source}) is not available: {fetch_hint(spec)}") from exc


def load_model(name: str, spec: ModelSpec, device: str, dtype: torch.dtype,
               adapters: dict[str, AdapterSpec] | None = None, for_training: bool = False) -> VisionBackend:
    """Load a checkpoint once, with the adapters declared on it; any failure becomes one line naming the model and
    the fix (an adapter's failure is its own: see vision/adapters.py). For inference its linear layers are packed
    where that pays (deviations/onednn_packing.py); ``for_training`` keeps them plain, since packed ones have no
    backward."""
    config = checkpoint_config(name, spec)
    family = FAMILIES.get(config.model_type)
    if family is None:
        raise ModelUnavailableError(
            f"model {name!r} ({spec.source}) is a {config.model_type!r} checkpoint; only BLIP and BLIP-2 are supported"
        )
    architecture = (config.architectures or [None])[0]
    if family == "blip":
        from .blip import ARCHITECTURES
        from .blip import BlipBackend as family_class

        if architecture not in ARCHITECTURES:  # fall back on the task the entry asks for
            by_task = {task: arch for arch, task in ARCHITECTURES.items()}
            architecture = by_task[spec.tasks[0]]
        served = {ARCHITECTURES[architecture]}
    elif architecture == "Blip2ForImageTextRetrieval":
        from .blip2 import Blip2RetrievalBackend as family_class

        served = set(family_class.tasks)
    else:
        from .blip2 import Blip2Backend as family_class

        served = set(family_class.tasks)
    unsupported = set(spec.tasks) - served
    if unsupported:
        raise ModelUnavailableError(
            f"model {name!r} is a {architecture or family} checkpoint, which cannot do "
            f"{', '.join(sorted(unsupported))}; set its tasks to {sorted(served)}"
        )
    check_memory(name, spec, device, dtype)
    from ..deviations.onednn_packing import can_pack, pack_linears

    try:
        loaded = family_class.load(spec.source, architecture, device, dtype)
        if adapters:  # before packing: PEFT wraps plain linear layers
            from .adapters import Adapters

            loaded.adapters = Adapters(loaded, name, spec.source, adapters)
        if not for_training and can_pack(device, dtype):
            pack_linears(loaded.model, keep_weights_in=getattr(loaded, "differentiable", list)())
        return loaded
    except Exception as exc:  # corrupt weights, missing files, out of memory: all one line for this model
        first = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise ModelUnavailableError(
            f"model {name!r} ({spec.source}) could not be loaded ({first}); re-download or rebuild the checkpoint"
        ) from exc
