"""Running the server: stdio (what MCP clients launch) or HTTP with uvicorn. ``server.py`` and ``http.py``
build what runs here."""

from __future__ import annotations

import errno
import json
import socket
import sys

from .config import Settings
from .errors import BadInputError, ConfigError
from .http import SITE_PREFIX, build_app, is_loopback, netloc

STDIO_NOTE = """\
ai-notes-mcp is waiting for an MCP client on stdin/stdout (this is what Claude Desktop, Claude Code, Cursor or
VS Code launch). To try it by hand, run `ai-notes-mcp serve --http` and open the printed URL, or use the CLI
(`ai-notes-mcp caption IMAGE`, `ai-notes-mcp notes search QUERY`). Press Ctrl-C to stop."""


def serve(settings: Settings, *, http: bool = False, host: str | None = None, port: int | None = None,
          preload: bool = False, ray_address: str | None = None) -> int:
    """``ray_address``: the vision models on Ray Serve at that cluster ("" for $RAY_ADDRESS's or a local one)."""
    if ray_address is not None and not http:
        raise BadInputError("--ray serves over HTTP only: add --http (MCP clients that launch a stdio server "
                            "can reach the HTTP endpoint instead)")
    if not http:
        from .server import create_server

        if sys.stdin.isatty():  # a person typed it: say what is happening instead of waiting in silence
            print(STDIO_NOTE, file=sys.stderr, flush=True)
        create_server(settings, preload=preload).run("stdio")
        return 0
    host = host or settings.http.host
    port = settings.http.port if port is None else port
    if not is_loopback(host) and not settings.http.token:
        raise ConfigError(f"refusing to bind {host}: a non-loopback address needs a bearer token; set http.token in "
                          "the config or AI_NOTES_MCP_TOKEN")
    return serve_http(settings, host=host, port=port, preload=preload, ray_address=ray_address)


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything is announced; a busy port is one line naming the fix."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise BadInputError(f"port {port} on {host} is already in use (another server?); "
                                f"stop it or pick another with --port") from exc
        raise BadInputError(f"cannot listen on {netloc(host, port)} ({exc.strerror or exc}); "
                            "check --host and --port") from exc
    sock.listen(2048)
    return sock


def serve_http(settings: Settings, *, host: str, port: int, preload: bool = False,
               ray_address: str | None = None) -> int:
    import uvicorn

    sock = bind(host, port)
    port = sock.getsockname()[1]  # the real one when --port 0 asked for any free port
    if ray_address is not None:  # before the URLs are printed: a cluster that cannot be reached is one line now
        from .ray_serve import connect

        try:
            connect(ray_address)
        except BaseException:
            sock.close()
            raise
    app, base_url = build_app(settings, host=host, port=port, preload=preload, ray_address=ray_address)
    mcp_url = base_url.removesuffix(SITE_PREFIX.lstrip("/") + "/") + "mcp" if not settings.notes.site_url else (
        f"http://{netloc(host, port)}/mcp")
    print(ready_message(mcp_url, base_url, token=bool(settings.http.token)), file=sys.stderr, flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    server.run(sockets=[sock])
    return 0


def ready_message(mcp_url: str, site_url: str, *, token: bool) -> str:
    """What `serve --http` prints once it listens: the URLs, and each client's way of adding the server."""
    headers = {"Authorization": "Bearer <your token>"} if token else None
    entry: dict[str, object] = {"type": "http", "url": mcp_url} | ({"headers": headers} if headers else {})
    header_flag = ' --header "Authorization: Bearer <your token>"' if token else ""
    return "\n".join([
        f"MCP endpoint: {mcp_url}",
        f"Notes site:   {site_url}",
        "Add it to a client:",
        f"  Claude Code:     claude mcp add --transport http ai-notes {mcp_url}{header_flag}",
        "  Cursor (.cursor/mcp.json), Claude Code (.mcp.json), Windsurf and other mcpServers clients:",
        "    " + json.dumps({"mcpServers": {"ai-notes": entry}}),
        "  VS Code (.vscode/mcp.json):",
        "    " + json.dumps({"servers": {"ai-notes": entry}}),
    ])
