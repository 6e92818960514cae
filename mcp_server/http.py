"""Streamable HTTP: the MCP endpoint at /mcp, the built notes site at /notes/, an optional bearer token."""

from __future__ import annotations

import hmac
import json
import math
import os
import socket
import sys
from pathlib import Path

from mcp.server.transport_security import TransportSecuritySettings

from .config import Settings
from .server import create_server, is_loopback


class BearerTokenMiddleware:
    """Pure ASGI: every HTTP request must carry ``Authorization: Bearer <token>``, else 401."""

    def __init__(self, app, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                body = b'{"error": "unauthorized: send Authorization: Bearer <token>"}'
                await send({"type": "http.response.start", "status": 401, "headers": [
                    (b"content-type", b"application/json"), (b"www-authenticate", b'Bearer realm="ai-notes"'),
                    (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def body_limit(settings: Settings) -> int:
    """The largest allowed image, base64-encoded inside a JSON-RPC request, plus room for the rest."""
    return math.ceil(settings.images.max_bytes / 3) * 4 + 256 * 1024


def site_dir() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "ai-notes-mcp" / "site"


def ensure_site(settings: Settings, base_url: str) -> Path | None:
    """Build the notes site when missing or older than the notes; None (with a line on stderr) if it cannot be."""
    from .knowledge.site import build_site, site_needs_build

    target = site_dir()
    try:
        from .knowledge.pages import find_notes_dir

        if site_needs_build(target, find_notes_dir(settings)):
            print(f"building the notes site into {target} ...", file=sys.stderr)
            build_site(target, site_url=base_url)
    except Exception as exc:  # the MCP endpoint works without the site; say why it is missing
        print(f"ai-notes-mcp: notes site not served at /notes/ ({exc})", file=sys.stderr)
        return None
    return target


def build_app(settings: Settings, *, host: str, port: int, preload: bool = False, serve_site: bool = True):
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    public_host = host if is_loopback(host) or host not in ("0.0.0.0", "::") else socket.gethostname()
    base_url = settings.notes.site_url or f"http://{_netloc(public_host, port)}/notes/"
    server = create_server(settings, local_paths=bool(settings.images.allowed_roots), base_url=base_url,
                           preload=preload)
    security = None  # the SDK's own loopback defaults
    if not is_loopback(host):
        names = {host, public_host, "127.0.0.1", "localhost"}
        security = TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=[f"{_netloc(n, '*')}" for n in names],
            allowed_origins=[f"{scheme}://{_netloc(n, '*')}" for n in names for scheme in ("http", "https")],
        )
    app = server.streamable_http_app(streamable_http_path="/mcp", max_request_body_size=body_limit(settings),
                                     transport_security=security, host=host)
    if serve_site:
        built = ensure_site(settings, base_url)
        if built is not None:
            app.router.routes.append(Mount("/notes", app=StaticFiles(directory=built, html=True), name="notes"))
    if settings.http.token:
        return BearerTokenMiddleware(app, settings.http.token), base_url
    return app, base_url


def _netloc(host: str, port: int | str) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def run_http(settings: Settings, *, host: str, port: int, preload: bool = False) -> int:
    import uvicorn

    app, base_url = build_app(settings, host=host, port=port, preload=preload)
    mcp_url = base_url.removesuffix("notes/") + "mcp"
    client = {"mcpServers": {"ai-notes": {"type": "http", "url": mcp_url}}}
    if settings.http.token:
        client["mcpServers"]["ai-notes"]["headers"] = {"Authorization": "Bearer <your token>"}
    print(f"MCP endpoint: {mcp_url}\nNotes site:   {base_url}\nClient configuration:\n"
          f"{json.dumps(client, indent=2)}", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0
