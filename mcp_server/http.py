"""The HTTP app: the MCP endpoint at /mcp (behind a bearer token when one is set), the notes site at /notes/.

    /mcp      streamable HTTP, the SDK's app; DNS-rebinding protection on; the token, when set, is needed here
    /notes/   the built notes site, gzip-compressed; public, since the notes hold nothing secret and the
              citations the tools hand out must open in a browser
    /         redirects to /notes/

Building the app is wiring; ``serve.py`` runs it.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import math
import os
import re
import socket
import sys
from pathlib import Path

from mcp.server.transport_security import TransportSecuritySettings

from .config import Settings
from .server import create_server

SITE_PREFIX = "/notes"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def netloc(host: str, port: int | str) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def public_base_url(settings: Settings, host: str, port: int) -> str:
    """The URL the notes site is cited at: ``notes.site_url`` if set, else this server's own /notes/."""
    public_host = host if is_loopback(host) or host not in ("0.0.0.0", "::") else socket.gethostname()
    return settings.notes.site_url or f"http://{netloc(public_host, port)}{SITE_PREFIX}/"


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


class Routes:
    """Pure ASGI dispatch by path: the site under /notes, a redirect at /, everything else (and the lifespan,
    which runs the MCP session manager) to the MCP app."""

    def __init__(self, mcp_app, site_app=None) -> None:
        self.mcp_app = mcp_app
        self.site_app = site_app

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and self.site_app is not None:
            if path in ("/", SITE_PREFIX):
                await _redirect(send, SITE_PREFIX + "/")
                return
            if path.startswith(SITE_PREFIX + "/"):
                await self.site_app({**scope, "root_path": scope.get("root_path", "") + SITE_PREFIX}, receive, send)
                return
        await self.mcp_app(scope, receive, send)


async def _redirect(send, location: str) -> None:
    await send({"type": "http.response.start", "status": 307,
                "headers": [(b"location", location.encode()), (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


class OversizeAsToolError:
    """Pure ASGI: a POST body over ``limit`` is answered as a tool error with one actionable line.

    The SDK answers an oversized body with a plain-text 413, which MCP clients report only as "Server returned
    an error response". The JSON-RPC id and method sit at the start of the body, so this reads up to the
    limit, and past it answers that request itself: a tools/call gets an ``isError`` result with ``message``.
    Bodies that declare a length within the limit pass through untouched.
    """

    HEAD = 64 * 1024  # where the id and method are looked for
    DRAIN = 256 * 1024 * 1024  # past this, stop reading a body and let the connection close

    def __init__(self, app, limit: int, message: str) -> None:
        self.app, self.limit, self.message = app, limit, message

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) <= self.limit:
            await self.app(scope, receive, send)
            return
        chunks, size, more = [], 0, True
        while more and size <= self.limit:
            event = await receive()
            if event["type"] != "http.request":
                await self.app(scope, _replay(chunks, event, receive), send)
                return
            chunks.append(event.get("body", b""))
            size += len(chunks[-1])
            more = event.get("more_body", False)
        if size <= self.limit:
            await self.app(scope, _replay(chunks, None, receive), send)
            return
        head = b"".join(chunks)[: self.HEAD]
        chunks.clear()
        # Read the rest before answering: a reply sent while the client is still writing is lost to a reset.
        while more and size <= self.DRAIN:
            event = await receive()
            size += len(event.get("body", b""))
            more = event["type"] == "http.request" and event.get("more_body", False)
        await self._refuse(head, send)

    async def _refuse(self, head: bytes, send) -> None:
        found_id = re.search(rb'"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)', head)
        method = re.search(rb'"method"\s*:\s*"([^"]+)"', head)
        if found_id is None:
            status, payload = 413, {"error": self.message}
        elif method is not None and method.group(1) == b"tools/call":
            from mcp_types import CallToolResult, TextContent

            result = CallToolResult(content=[TextContent(type="text", text=self.message)], is_error=True)
            status, payload = 200, {"jsonrpc": "2.0", "id": json.loads(found_id.group(1)),
                                    "result": result.model_dump(by_alias=True, exclude_none=True, mode="json")}
        else:
            status, payload = 200, {"jsonrpc": "2.0", "id": json.loads(found_id.group(1)),
                                    "error": {"code": -32600, "message": self.message}}
        body = json.dumps(payload).encode()
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _replay(chunks: list[bytes], pending, receive):
    """A receive() that gives back the body already read, then carries on with the real one."""
    events = [{"type": "http.request", "body": b"".join(chunks), "more_body": pending is not None}]
    if pending is not None:
        events.append(pending)

    async def replayed():
        return events.pop(0) if events else await receive()

    return replayed


def body_limit(settings: Settings) -> int:
    """The largest allowed image, base64-encoded inside a JSON-RPC request, plus room for the rest."""
    return math.ceil(settings.images.max_bytes / 3) * 4 + 256 * 1024


def site_dir() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "ai-notes-mcp" / "site"


def ensure_site(settings: Settings, base_url: str) -> Path | None:
    """Build the notes site when missing or older than the notes; None (with a line on stderr) if it cannot be."""
    from .knowledge.pages import find_notes_dir
    from .knowledge.site import build_site, site_needs_build

    target = site_dir()
    try:
        if site_needs_build(target, find_notes_dir(settings)):
            print(f"building the notes site into {target} ...", file=sys.stderr)
            build_site(target, site_url=base_url)
    except Exception as exc:  # the MCP endpoint works without the site; say why it is missing
        print(f"ai-notes-mcp: notes site not served at /notes/ ({exc})", file=sys.stderr)
        return None
    return target


def build_app(settings: Settings, *, host: str, port: int, preload: bool = False, serve_site: bool = True,
              ray_address: str | None = None):
    """The ASGI app for ``serve --http`` and the base URL its citations use; ``ray_address``: see ``services.py``."""
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.staticfiles import StaticFiles

    base_url = public_base_url(settings, host, port)
    server = create_server(settings, local_paths=bool(settings.images.allowed_roots), base_url=base_url,
                           preload=preload, ray_address=ray_address)
    security = None  # the SDK's own loopback defaults
    if not is_loopback(host):
        public_host = base_url.split("//", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0].strip("[]")
        names = {host, public_host, "127.0.0.1", "localhost"}
        security = TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=[f"{netloc(n, '*')}" for n in names],
            allowed_origins=[f"{scheme}://{netloc(n, '*')}" for n in names for scheme in ("http", "https")],
        )
    mcp_app = server.streamable_http_app(streamable_http_path="/mcp", max_request_body_size=body_limit(settings),
                                         transport_security=security, host=host)
    limit = body_limit(settings)
    mcp_app = OversizeAsToolError(mcp_app, limit, (
        f"image: larger than {settings.images.max_bytes:,} bytes (images.max_bytes): this request was over "
        f"{limit:,} bytes; pass a smaller image"))
    if settings.http.token:
        mcp_app = BearerTokenMiddleware(mcp_app, settings.http.token)
    site_app = None
    if serve_site:
        built = ensure_site(settings, base_url)
        if built is not None:
            site_app = GZipMiddleware(StaticFiles(directory=built, html=True), minimum_size=1024)
    return Routes(mcp_app, site_app), base_url
