"""URL images against a real HTTP server on 127.0.0.1 (the only traffic these tests make)."""

from __future__ import annotations

import datetime
import hashlib
import io
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from mcp_server import fetch
from mcp_server.config import Images
from mcp_server.errors import ImageError
from mcp_server.images import load_image

buf = io.BytesIO()
Image.new("RGB", (4, 3), (200, 10, 10)).save(buf, "PNG")
PNG = buf.getvalue()
URLS_ON = Images(allow_urls=True, max_bytes=4096, url_timeout_s=1.0)


class Handler(BaseHTTPRequestHandler):
    requests: list[str] = []  # paths asked for, to prove a refused URL was never requested
    hosts: list[str | None] = []  # their Host headers

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        Handler.requests.append(self.path)
        Handler.hosts.append(self.headers["Host"])
        route = self.path.split("?")[0]
        if route == "/cat.png":
            self._send(200, PNG, "image/png")
        elif route == "/big.png":
            self._send(200, PNG + b"\x00" * 8192, "image/png")
        elif route == "/big-chunked.png":
            self._send_chunked(PNG + b"\x00" * 8192)
        elif route == "/slow.png":
            time.sleep(3)
            self._send(200, PNG, "image/png")
        elif route == "/trickle.png":
            self._trickle()
        elif route == "/to-cat":
            self._redirect("/cat.png")
        elif route == "/to-metadata":
            self._redirect("http://169.254.169.254/latest/meta-data/")
        elif route == "/to-private":
            self._redirect("http://10.1.2.3/cat.png")
        elif route == "/loop":
            self._redirect("/loop")
        elif route == "/page":
            self._send(200, b"<html><body>hello</body></html>", "text/html")
        else:
            self._send(404, b"no", "text/plain")

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_chunked(self, body: bytes) -> None:
        # No Content-Length: the cap must hold while streaming, not only from the header.
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for start in range(0, len(body), 1000):
            part = body[start : start + 1000]
            self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def _trickle(self) -> None:
        # Each byte arrives well inside a socket timeout; only a total limit stops this.
        self.send_response(200)
        self.send_header("Content-Length", str(len(PNG)))
        self.end_headers()
        try:
            for byte in PNG:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass

    def _redirect(self, where: str) -> None:
        self.send_response(302)
        self.send_header("Location", where)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - silence the access log
        pass


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up (the time-limit tests) is expected, not worth a traceback


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def loopback_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch, "_ALLOWED_TEST_NETWORKS", [ipaddress.ip_network("127.0.0.1/32")])


@pytest.fixture(autouse=True)
def fresh_log() -> None:
    Handler.requests.clear()
    Handler.hosts.clear()


def test_loopback_is_refused_by_default(server: str) -> None:
    with pytest.raises(ImageError) as caught:
        load_image(f"{server}/cat.png", URLS_ON)
    assert str(caught.value) == (
        "image 127.0.0.1: refused: 127.0.0.1 is a loopback address; only public addresses are fetched"
    )
    assert Handler.requests == []


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("localhost", "loopback"),
        ("10.0.0.7", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("[::1]", "loopback"),
        ("[::ffff:127.0.0.1]", "loopback"),
        ("[fe80::1]", "link-local"),
        ("[fc00::1]", "private"),
        ("100.64.0.1", "non-public"),
    ],
)
def test_non_public_addresses_are_refused_before_connecting(host: str, kind: str) -> None:
    with pytest.raises(fetch.FetchError) as caught:
        fetch.fetch_url(f"http://{host}:9/x.png", max_bytes=4096, timeout_s=1.0)
    message = str(caught.value)
    assert message.startswith(f"refused: {host.strip('[]')} ")
    assert message.endswith(f" is a {kind} address; only public addresses are fetched")


def test_image_is_fetched_from_an_allowed_address(server: str, loopback_allowed: None) -> None:
    loaded = load_image(f"{server}/cat.png", URLS_ON)
    assert (loaded.width, loaded.height, loaded.label) == (4, 3, "127.0.0.1")
    assert loaded.sha256 == hashlib.sha256(PNG).hexdigest()
    assert loaded.image.getpixel((0, 0)) == (200, 10, 10)


def test_redirect_to_an_allowed_address_is_followed(server: str, loopback_allowed: None) -> None:
    assert fetch.fetch_url(f"{server}/to-cat", max_bytes=4096, timeout_s=1.0) == PNG
    assert Handler.requests == ["/to-cat", "/cat.png"]


BAD: list[tuple[str, str]] = [
    (
        "/to-metadata",
        "refused: 169.254.169.254 is a link-local address; only public addresses are fetched",
    ),
    ("/to-private", "refused: 10.1.2.3 is a private address; only public addresses are fetched"),
    ("/loop", "more than 5 redirects; pass the image's final URL"),
    ("/missing.png", "the server answered HTTP 404 Not Found; check the URL"),
    ("/page", "not a recognised image; use JPEG, PNG, GIF, WEBP, BMP or TIFF"),
    ("/big.png", "larger than 4,096 bytes (images.max_bytes); pass a smaller image"),
    ("/big-chunked.png", "larger than 4,096 bytes (images.max_bytes); pass a smaller image"),
]


@pytest.mark.parametrize(("path", "why"), BAD, ids=[path for path, _ in BAD])
def test_bad_urls_are_refused(server: str, loopback_allowed: None, path: str, why: str) -> None:
    with pytest.raises(ImageError) as caught:
        load_image(server + path, URLS_ON)
    assert str(caught.value) == f"image 127.0.0.1: {why}"


@pytest.mark.parametrize("path", ["/slow.png", "/trickle.png"], ids=["slow to answer", "trickles the body"])
def test_slow_server_hits_the_total_time_limit(server: str, loopback_allowed: None, path: str) -> None:
    started = time.monotonic()
    with pytest.raises(ImageError) as caught:
        load_image(server + path, URLS_ON)
    elapsed = time.monotonic() - started
    assert str(caught.value) == (
        "image 127.0.0.1: no complete answer within 1 s (images.url_timeout_s); try again or pass the image"
    )
    assert 0.9 <= elapsed < 1.8


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://a\x00b/cat.png", "the URL's host name is not valid; check it"),
        ("http://[::1/cat.png", "not a valid URL; check it"),
        ("http://127.0.0.1:99999/cat.png", "not a valid URL; check it"),
        ("ftp://127.0.0.1/cat.png", "scheme 'ftp' is not fetched; only http and https URLs are"),
        ("gopher://127.0.0.1/cat.png", "scheme 'gopher' is not fetched; only http and https URLs are"),
        (
            "http://user:pw@127.0.0.1/cat.png",
            "URLs with credentials are not supported; pass a URL without user:password@",
        ),
        ("http:///cat.png", "the URL has no host; check it"),
    ],
)
def test_bad_url_forms_are_refused(url: str, why: str) -> None:
    with pytest.raises(fetch.FetchError) as caught:
        fetch.fetch_url(url, max_bytes=4096, timeout_s=1.0)
    assert str(caught.value) == why


def test_redirect_to_another_scheme_is_refused(
    server: str, loopback_allowed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Handler, "do_GET", lambda self: Handler._redirect(self, "file:///etc/passwd"))
    with pytest.raises(fetch.FetchError) as caught:
        fetch.fetch_url(f"{server}/anything", max_bytes=4096, timeout_s=1.0)
    assert str(caught.value) == "scheme 'file' is not fetched; only http and https URLs are"


# --- HTTPS: connect to the vetted IP, while SNI, certificate check and Host name the host ---------


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, list[str]]]:
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    seen_sni: list[str] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    context.sni_callback = lambda sock, server_name, ctx: seen_sni.append(server_name)  # type: ignore[assignment]
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"https://localhost:{httpd.server_address[1]}", str(cert_file), seen_sni
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def localhost_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    # "localhost" may resolve to ::1 as well; every resolved address must pass the check.
    networks = [ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128")]
    monkeypatch.setattr(fetch, "_ALLOWED_TEST_NETWORKS", networks)


def test_https_verifies_the_certificate(tls_server: tuple[str, str, list[str]], localhost_allowed: None) -> None:
    url, _, _ = tls_server
    with pytest.raises(fetch.FetchError) as caught:
        fetch.fetch_url(f"{url}/cat.png", max_bytes=4096, timeout_s=2.0)
    assert str(caught.value) == "TLS with localhost failed (CERTIFICATE_VERIFY_FAILED); check the URL"


def test_https_names_the_host_while_connecting_to_the_vetted_ip(
    tls_server: tuple[str, str, list[str]], localhost_allowed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, cert_file, seen_sni = tls_server
    trusting = ssl.create_default_context(cafile=cert_file)
    monkeypatch.setattr(fetch.ssl, "create_default_context", lambda: trusting)
    seen_sni.clear()
    assert fetch.fetch_url(f"{url}/cat.png", max_bytes=4096, timeout_s=2.0) == PNG
    assert seen_sni == ["localhost"]
    assert Handler.hosts == [url.removeprefix("https://")]


# --- DNS: every answer is checked, and the connection goes to the checked address ------------


def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> list[str]:
    """Make getaddrinfo answer for made-up names; returns the names looked up, in order."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: str, port: int, *args: object, **kwargs: object) -> list[tuple]:
        if host not in answers:
            return real(host, port, *args, **kwargs)  # e.g. create_connection on an IP literal
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in answers[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_every_resolved_address_must_be_public(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {"images.test": ["93.184.216.34", "127.0.0.1"]})
    with pytest.raises(fetch.FetchError) as caught:
        fetch.fetch_url("http://images.test/cat.png", max_bytes=4096, timeout_s=1.0)
    assert str(caught.value) == (
        "refused: images.test resolves to 127.0.0.1, which is a loopback address; only public addresses are fetched"
    )


def test_the_connection_goes_to_the_vetted_address(
    server: str, loopback_allowed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One lookup per hop, and http.client never resolves the name itself (it could get a
    # different, rebound answer): the made-up name is only known to the fake resolver.
    asked = fake_dns(monkeypatch, {"images.test": ["127.0.0.1"]})
    port = server.rsplit(":", 1)[1]
    assert fetch.fetch_url(f"http://images.test:{port}/to-cat", max_bytes=4096, timeout_s=1.0) == PNG
    assert asked == ["images.test", "images.test"]
    assert Handler.hosts == [f"images.test:{port}", f"images.test:{port}"]
