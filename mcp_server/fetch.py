"""Fetch one image URL for ``images.py``: public addresses only, size- and time-bounded.

Why by hand (standard library only): a safe fetch must vet the addresses a host resolves to and
then connect to exactly the vetted address, so that a DNS answer that changes between the check
and the connect (DNS rebinding) cannot point the request at this machine or its network. Common
HTTP clients resolve again when they connect and follow redirects themselves, so each hop would
escape the check. Here every hop is resolved, checked, connected by IP (Host header and TLS SNI
still name the host) and bounded by one overall deadline. Environment proxies are ignored on
purpose: a proxy would make the address check meaningless.

Errors are :class:`FetchError` with a one-line reason that does not echo the URL; ``images.py``
adds which input it was.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
from urllib.parse import quote, urljoin, urlsplit

MAX_REDIRECTS = 5
_REDIRECTS = {301, 302, 303, 307, 308}
_CHUNK = 64 * 1024
_HOST = re.compile(r"[A-Za-z0-9._:-]{1,253}")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Tests put ip_network("127.0.0.1/32") here to reach a local server; empty in real use.
_ALLOWED_TEST_NETWORKS: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []


class FetchError(Exception):
    """The URL could not be fetched; the message says why in one line."""


class TooLargeError(FetchError):
    """The body is longer than the byte limit."""


def fetch_url(url: str, *, max_bytes: int, timeout_s: float) -> bytes:
    """GET ``url`` and return its body, following at most ``MAX_REDIRECTS`` vetted redirects."""
    deadline = time.monotonic() + timeout_s
    for _hop in range(MAX_REDIRECTS + 1):
        status, location, body = _get_once(url, max_bytes, deadline, timeout_s)
        if status not in _REDIRECTS:
            return body
        if not location:
            raise FetchError(f"the server answered HTTP {status} without a Location; check the URL")
        try:
            url = urljoin(url, location)
        except ValueError as exc:
            raise FetchError("the server redirected to an invalid URL; pass the image's final URL") from exc
    raise FetchError(f"more than {MAX_REDIRECTS} redirects; pass the image's final URL")


def _get_once(url: str, max_bytes: int, deadline: float, timeout_s: float) -> tuple[int, str | None, bytes]:
    scheme, host, port, target = _parse(url)
    addresses = _resolve(host, port, deadline, timeout_s)
    for address in addresses:
        if not _allowed(address):
            where = str(address) if host.strip("[]") == str(address) else f"{host} resolves to {address}, which"
            raise FetchError(f"refused: {where} is a {_kind(address)} address; only public addresses are fetched")
    conn_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    conn = conn_class(host, port, addresses, timeout=_remaining(deadline, timeout_s))
    # The socket timeout bounds each read; this timer bounds the whole exchange, so a server that
    # trickles bytes just inside the socket timeout still cannot hold the caller past the deadline.
    watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), conn.abort)
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.putrequest("GET", target)
        conn.putheader("User-Agent", "ai-notes-mcp")
        conn.putheader("Accept", "image/*")
        conn.endheaders()
        response = conn.getresponse()
        if response.status in _REDIRECTS:
            return response.status, response.getheader("Location"), b""
        if response.status != 200:
            raise FetchError(f"the server answered HTTP {response.status} {response.reason[:40]}; check the URL")
        declared = response.getheader("Content-Length")
        if declared and declared.strip().isdigit() and int(declared) > max_bytes:
            raise TooLargeError("body too large")
        body = _read_capped(conn, response, max_bytes, deadline, timeout_s)
        if conn.aborted:  # the watchdog cut the body short: what was read is incomplete
            raise _timed_out(timeout_s)
        return response.status, None, body
    except FetchError:
        raise
    except ssl.SSLError as exc:
        raise FetchError(f"TLS with {host} failed ({exc.reason or 'handshake error'}); check the URL") from exc
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if conn.aborted or time.monotonic() >= deadline or isinstance(exc, TimeoutError):
            raise _timed_out(timeout_s) from exc
        if isinstance(exc, ConnectionRefusedError):
            raise FetchError(f"{host} refused the connection; check the URL") from exc
        raise FetchError(f"the request to {host} failed ({type(exc).__name__}); check the URL") from exc
    finally:
        watchdog.cancel()
        conn.close()


def _read_capped(
    conn: http.client.HTTPConnection,
    response: http.client.HTTPResponse,
    max_bytes: int,
    deadline: float,
    timeout_s: float,
) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        left = _remaining(deadline, timeout_s)
        if conn.live_sock is not None and conn.live_sock.fileno() != -1:  # -1: the body is done, socket closed
            conn.live_sock.settimeout(left)
        chunk = response.read(min(_CHUNK, max_bytes + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            raise TooLargeError("body too large")


def _parse(url: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError("not a valid URL; check it") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(f"scheme {scheme[:20]!r} is not fetched; only http and https URLs are")
    if not parts.hostname:
        raise FetchError("the URL has no host; check it")
    if parts.username is not None or parts.password is not None:
        raise FetchError("URLs with credentials are not supported; pass a URL without user:password@")
    try:
        host = parts.hostname.encode("idna").decode("ascii")  # also what goes in Host and SNI
    except UnicodeError as exc:
        raise FetchError("the URL's host name is not valid; check it") from exc
    if not _HOST.fullmatch(host):  # no control characters or zone ids reach the resolver or a header
        raise FetchError("the URL's host name is not valid; check it")
    # Non-ASCII or spaces in the path would make http.client raise; percent-encode, keep existing escapes.
    target = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        target += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    return scheme, host, port or (443 if scheme == "https" else 80), target


def _resolve(host: str, port: int, deadline: float, timeout_s: float) -> list[IPAddress]:
    # getaddrinfo has no timeout of its own: run it on a daemon thread and stop waiting at the deadline.
    answers: list[list[tuple]] = []
    errors: list[Exception] = []

    def lookup() -> None:
        try:
            answers.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except Exception as exc:  # noqa: BLE001 - gaierror, or UnicodeError/ValueError for odd names
            errors.append(exc)

    thread = threading.Thread(target=lookup, name="ai-notes-dns", daemon=True)
    thread.start()
    thread.join(_remaining(deadline, timeout_s))
    if errors:
        raise FetchError(f"cannot resolve host {host[:60]}; check the URL") from errors[0]
    if not answers:
        raise _timed_out(timeout_s)
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in answers[0]:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])  # drop an IPv6 zone
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise FetchError(f"cannot resolve host {host[:60]}; check the URL")
    return addresses


def _allowed(address: IPAddress) -> bool:
    if any(address in network for network in _ALLOWED_TEST_NETWORKS):
        return True
    return _kind(address) == "public"


def _kind(address: IPAddress) -> str:
    """'public', or the reason an address is refused."""
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv6 form that carries an IPv4 address is judged by that address.
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None and _kind(embedded) != "public":
            return _kind(embedded)
    for attribute, name in (
        ("is_unspecified", "unspecified"),
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_reserved", "reserved"),
        ("is_private", "private"),
    ):
        if getattr(address, attribute):
            return name
    return "public" if address.is_global else "non-public"


def _remaining(deadline: float, timeout_s: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _timed_out(timeout_s)
    return left


def _timed_out(timeout_s: float) -> FetchError:
    return FetchError(f"no complete answer within {timeout_s:g} s (images.url_timeout_s); try again or pass the image")


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the vetted addresses while Host still names the URL's host."""

    def __init__(self, host: str, port: int, addresses: list[IPAddress], *, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._addresses = addresses
        self._aborted = threading.Event()
        # http.client drops self.sock once a response will close the connection, while the
        # response still reads from it; keep a handle so the deadline can still reach it.
        self.live_sock: socket.socket | None = None

    def connect(self) -> None:
        self.sock = self.live_sock = self._connect_pinned()

    def _connect_pinned(self) -> socket.socket:
        error: OSError | None = None
        for address in self._addresses:
            if self._aborted.is_set():
                break
            try:
                return socket.create_connection((str(address), self.port), self.timeout)
            except OSError as exc:
                error = exc
        raise error or TimeoutError("deadline reached")

    @property
    def aborted(self) -> bool:
        return self._aborted.is_set()

    def abort(self) -> None:
        # Called from the watchdog thread: shutting the socket down wakes a blocked read at once.
        self._aborted.set()
        sock = self.live_sock
        if sock is not None:
            # The plain socket's shutdown, also for TLS: SSLSocket.shutdown would drop its SSL
            # state under the reading thread's feet.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    """The same, with TLS verified against the URL's host name (SNI and certificate)."""

    default_port = http.client.HTTPS_PORT

    def __init__(self, host: str, port: int, addresses: list[IPAddress], *, timeout: float) -> None:
        super().__init__(host, port, addresses, timeout=timeout)
        self._tls = ssl.create_default_context()

    def connect(self) -> None:
        raw = self._connect_pinned()
        try:
            self.sock = self.live_sock = self._tls.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise
