"""Whether the Hugging Face hub can be reached, asked once in a while instead of on every call.

Without a network and without ``HF_HUB_OFFLINE``, ``from_pretrained`` on a checkpoint that is not in the cache
makes the hub client retry for 20-30 s, printing a dozen warnings, on every call. One HTTP request to the
hub answers the same question in milliseconds (or at most ``PROBE_TIMEOUT_S``: a TCP connection alone is
not enough, since proxies and sandboxes accept connections they never answer); a failed probe is remembered
for ``REMEMBER_S`` so that later calls fail at once.
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

PROBE_TIMEOUT_S = 3.0
REMEMBER_S = 60.0

_lock = threading.Lock()
_down_until: dict[str, float] = {}


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT") or "https://huggingface.co"


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def reachable() -> bool:
    """True when the hub answers an HTTP request at all (any status); a failure is remembered for ``REMEMBER_S``."""
    base = endpoint().rstrip("/")
    with _lock:
        if _down_until.get(base, 0.0) > time.monotonic():
            return False
    try:
        urllib.request.urlopen(urllib.request.Request(base + "/api/models", method="HEAD"), timeout=PROBE_TIMEOUT_S)
        return True
    except urllib.error.HTTPError:  # it answered: reachable, whatever it thinks of the request
        return True
    except (OSError, ValueError):  # DNS, refused, timeout, a bad endpoint URL
        with _lock:
            _down_until[base] = time.monotonic() + REMEMBER_S
        return False


def host() -> str:
    return urlsplit(endpoint()).hostname or endpoint()


def hf_command() -> str:
    """The ``hf`` CLI as the user can run it: the one installed beside this Python (a venv's bin/), else ``hf``."""
    beside = Path(sys.executable).parent / ("hf.exe" if os.name == "nt" else "hf")
    return shlex.quote(str(beside)) if beside.is_file() else "hf"


def quiet() -> None:
    """Keep the hub client's retry warnings and progress bars off the user's terminal and the server log:
    the one-line error says what happened."""
    from huggingface_hub.utils import disable_progress_bars
    from huggingface_hub.utils import logging as hub_logging

    hub_logging.set_verbosity_error()
    disable_progress_bars()
    for name in ("httpx", "httpcore", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)
