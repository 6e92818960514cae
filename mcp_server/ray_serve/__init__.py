"""``serve --http --ray``: the vision models on Ray Serve, behind the same MCP front.

    MCP front (http.py, server.py, tools/)      one process: tools, auth, the site, limits, one-line errors
      services.vision = RemoteVisionService     images loaded and checked here; pixels prepared, ids decoded here
        RemoteEngine (remote.py) --handle-->    one Ray Serve deployment per configured model (replica.py):
                                                  @serve.batch -> the model's Engine -> its compute thread

A model is deployed on its first call (or at start with ``--preload``) as the application
``ray_serve.app_prefix + name``, sized by the ``ray_serve`` settings, and deleted when the server stops. The
notes tools never leave the front.

Ray is an optional extra (``pip install 'ai-notes-mcp[ray]'``): nothing here imports it until ``connect``.
"""

from __future__ import annotations

import logging
import signal
import threading

from ..errors import ServerError

INSTALL = "pip install 'ai-notes-mcp[ray]' (in a checkout: pip install -e '.[ray]')"


def require_ray() -> None:
    """One line saying how to install Ray Serve, where it is missing."""
    try:
        import ray.serve  # noqa: F401
    except ImportError as exc:
        raise ServerError(f"--ray needs Ray Serve, which is not installed: {INSTALL}") from exc


def connect(address: str | None) -> None:
    """Join the Ray cluster at ``address`` (``auto``: the one running here), else ``$RAY_ADDRESS``'s, else start one
    on this machine; then start Serve there without its HTTP proxy (the front reaches the replicas by handles)."""
    require_ray()
    import ray
    from ray import serve

    if not ray.is_initialized():
        main = threading.current_thread() is threading.main_thread()
        sigterm = signal.getsignal(signal.SIGTERM) if main else None
        try:
            ray.init(address=address or None, logging_level=logging.WARNING, include_dashboard=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ServerError(f"cannot start or reach Ray at {address or 'a local instance'} "
                              f"({' '.join(str(exc).split())[:160]}); check --ray ADDRESS") from exc
        finally:
            # ray.init replaces SIGTERM's handler with sys.exit(15); the server's own shutdown (uvicorn's: close the
            # services, which deletes the deployments) must stay what SIGTERM does, as without --ray.
            if sigterm is not None:
                signal.signal(signal.SIGTERM, sigterm)
    # Ray's router warns once per call that was on a lost replica; the caller gets its own line (remote.py).
    logging.getLogger("ray.serve").setLevel(logging.ERROR)
    serve.start(proxy_location="Disabled", logging_config={"log_level": "WARNING", "enable_access_log": False})
