"""load_image: every image source, every refusal as one exact line, every odd-but-valid image as RGB."""

from __future__ import annotations

import base64
import hashlib
import io
import struct
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from mcp_server.config import Images
from mcp_server.errors import ImageError
from mcp_server.images import LoadedImage, load_image

ALLOWED = "use JPEG, PNG, GIF, WEBP, BMP or TIFF"
DEFAULT = Images()


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **params)
    return buf.getvalue()


def noisy(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    # Random pixels, so compressed files are long enough to cut in half meaningfully.
    raw = hashlib.shake_256(b"seed").digest(size[0] * size[1] * len(mode))
    return Image.frombytes(mode, size, raw)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_claiming(width: int, height: int) -> bytes:
    """A well-formed PNG header (valid CRCs) that claims a size its data never delivers."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 4)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


# --- refusals -----------------------------------------------------------------------------

SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
PNG_BYTES = encode(noisy((64, 64)), "PNG")
JPEG_BYTES = encode(noisy((64, 64)), "JPEG", quality=95)

# (case id, builds the ref from tmp_path, limits, local_paths, exact message)
BAD: list[tuple[str, Callable[[Path], str], Images, bool, str]] = [
    (
        "missing file",
        lambda d: "photos/missing.png",
        DEFAULT,
        True,
        "image missing.png: no such file 'photos/missing.png'; check the path",
    ),
    (
        "directory",
        lambda d: str(d),
        DEFAULT,
        True,
        "image {name}: is a directory, not a file; pass the path of an image file",
    ),
    (
        "empty file",
        lambda d: write(d, "empty.png", b""),
        DEFAULT,
        True,
        "image empty.png: the file is empty; pass an image file",
    ),
    (
        "text named .png",
        lambda d: write(d, "notes.png", b"just some text, not pixels\n" * 4),
        DEFAULT,
        True,
        f"image notes.png: not a recognised image; {ALLOWED}",
    ),
    (
        "truncated PNG",
        lambda d: write(d, "cut.png", PNG_BYTES[: len(PNG_BYTES) // 2]),
        DEFAULT,
        True,
        "image cut.png: the PNG data is truncated or damaged; pass a complete image file",
    ),
    (
        "PNG signature only",
        lambda d: write(d, "stub.png", PNG_BYTES[:8]),
        DEFAULT,
        True,
        "image stub.png: the PNG data is truncated or damaged; pass a complete image file",
    ),
    (
        "truncated JPEG",
        lambda d: write(d, "cut.jpg", JPEG_BYTES[: len(JPEG_BYTES) // 2]),
        DEFAULT,
        True,
        "image cut.jpg: the JPEG data is truncated or damaged; pass a complete image file",
    ),
    (
        "PNG header claims 100000x100000",
        lambda d: write(d, "bomb.png", png_claiming(100_000, 100_000)),
        DEFAULT,
        True,
        "image bomb.png: 100000x100000 pixels is more than the limit of 40,000,000 (images.max_pixels); "
        "pass a smaller image",
    ),
    (
        "over max_pixels, under PIL's own limit",
        lambda d: write(d, "wide.png", png_claiming(5000, 5000)),
        Images(max_pixels=1_000_000),
        True,
        "image wide.png: 5000x5000 pixels is more than the limit of 1,000,000 (images.max_pixels); "
        "pass a smaller image",
    ),
    (
        "SVG",
        lambda d: write(d, "drawing.svg", SVG),
        DEFAULT,
        True,
        f"image drawing.svg: SVG is not a supported image format; {ALLOWED}",
    ),
    (
        "SVG as base64 data URI",
        lambda d: "data:image/svg+xml;base64," + base64.b64encode(SVG).decode(),
        DEFAULT,
        True,
        f"image data URI: SVG is not a supported image format; {ALLOWED}",
    ),
    (
        "PDF",
        lambda d: write(d, "paper.pdf", b"%PDF-1.7\n" + b"0" * 100),
        DEFAULT,
        True,
        f"image paper.pdf: PDF is not a supported image format; {ALLOWED}",
    ),
    (
        "invalid base64 in a data URI",
        lambda d: "data:image/png;base64,@@not*base64@@",
        DEFAULT,
        True,
        "image data URI: not valid base64; pass the image file's bytes base64-encoded",
    ),
    (
        "invalid bare base64",
        lambda d: "iVBORw0KGgoAA",
        DEFAULT,
        True,
        "image base64 input: not valid base64; pass the image file's bytes base64-encoded",
    ),
    (
        "data URI of type text/plain",
        lambda d: "data:text/plain;base64,aGVsbG8=",
        DEFAULT,
        True,
        "image data URI: type 'text/plain' is not an image; pass data:image/png;base64,<data>",
    ),
    (
        "data URI not base64",
        lambda d: "data:image/png,rawbytes",
        DEFAULT,
        True,
        "image data URI: the data is not base64-encoded; pass data:image/png;base64,<data>",
    ),
    (
        "data URI without a comma",
        lambda d: "data:image/png;base64",
        DEFAULT,
        True,
        "image data URI: no ',' before the data; pass data:image/png;base64,<data>",
    ),
    (
        "URL while URLs are off",
        lambda d: "https://example.com/cat.png",
        DEFAULT,
        True,
        "image example.com: URLs are turned off; pass a local path or base64 data, or set images.allow_urls: true",
    ),
    (
        "unsupported scheme",
        lambda d: "ftp://example.com/cat.png",
        DEFAULT,
        True,
        "image 'ftp://example.com/cat.png': unsupported scheme 'ftp'; pass a local path, a file:// URI, "
        "a data:image/...;base64, URI, base64 or an http(s) URL",
    ),
    (
        "file URI on another host",
        lambda d: "file://server/share/cat.png",
        DEFAULT,
        True,
        "image 'file://server/share/cat.png': file:// URIs on another host are not supported; use file:///path",
    ),
    (
        "empty reference",
        lambda d: "   ",
        DEFAULT,
        True,
        "image: the reference is empty; pass a local path, a file:// URI, a data:image/...;base64, URI, "
        "base64 or an http(s) URL",
    ),
    (
        "local path with local_paths=False",
        lambda d: write(d, "ok.png", PNG_BYTES),
        DEFAULT,
        False,
        "image ok.png: local files are not readable over HTTP unless images.allowed_roots is set; "
        "pass the image as a data: URI or base64 instead",
    ),
    (
        "file URI with local_paths=False",
        lambda d: Path(write(d, "ok.png", PNG_BYTES)).as_uri(),
        DEFAULT,
        False,
        "image ok.png: local files are not readable over HTTP unless images.allowed_roots is set; "
        "pass the image as a data: URI or base64 instead",
    ),
    (
        "over-size file",
        lambda d: write(d, "big.png", PNG_BYTES),
        Images(max_bytes=1024),
        True,
        "image big.png: larger than 1,024 bytes (images.max_bytes); pass a smaller image",
    ),
    (
        "over-size base64, refused before decoding",
        lambda d: base64.b64encode(PNG_BYTES).decode(),
        Images(max_bytes=1024),
        True,
        "image base64 input: larger than 1,024 bytes (images.max_bytes); pass a smaller image",
    ),
    (
        "zero-width image",
        lambda d: write(d, "flat.png", png_claiming(0, 10)),
        DEFAULT,
        True,
        "image flat.png: the PNG data is truncated or damaged; pass a complete image file",
    ),
]


@pytest.mark.parametrize(("make", "limits", "local_paths", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_is_one_clear_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make: Callable[[Path], str],
    limits: Images,
    local_paths: bool,
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)  # relative paths resolve here
    ref = make(tmp_path)
    with pytest.raises(ImageError) as caught:
        load_image(ref, limits, local_paths=local_paths)
    assert str(caught.value) == message.format(name=tmp_path.name)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("escalate", [False, True], ids=["warnings shown", "warnings made errors"])
def test_pils_bomb_guard_is_ours_one_line_with_the_dimensions(escalate: bool) -> None:
    # 100 M pixels: over PIL's own warning threshold (~89 M), which printed two lines before ours.
    ref = base64.b64encode(png_claiming(10_000, 10_000)).decode()
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("error" if escalate else "always")
        with pytest.raises(ImageError) as caught:
            load_image(ref, DEFAULT)
    assert str(caught.value) == ("image base64 input: 10000x10000 pixels is more than the limit of 40,000,000 "
                                 "(images.max_pixels); pass a smaller image")
    assert not [w for w in shown if issubclass(w.category, Image.DecompressionBombWarning)]


def test_long_input_is_never_echoed_whole(tmp_path: Path) -> None:
    ref = str(tmp_path / ("x" * 300) / "missing.png")
    with pytest.raises(ImageError) as caught:
        load_image(ref, DEFAULT)
    assert "x" * 61 not in str(caught.value)


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Images, Path, Path]:
    inside = tmp_path / "allowed"
    inside.mkdir()
    outside = tmp_path / "secret.png"
    outside.write_bytes(PNG_BYTES)
    (inside / "ok.png").write_bytes(PNG_BYTES)
    (inside / "link.png").symlink_to(outside)
    return Images(allowed_roots=[str(inside)]), inside, outside


@pytest.mark.parametrize(
    "ref", ["secret.png", "allowed/link.png", "allowed/../secret.png"], ids=["plain path", "symlink", "dot-dot"]
)
def test_path_outside_allowed_roots_is_refused(
    roots: tuple[Images, Path, Path], monkeypatch: pytest.MonkeyPatch, ref: str
) -> None:
    limits, inside, _ = roots
    monkeypatch.chdir(inside.parent)
    with pytest.raises(ImageError) as caught:
        load_image(ref, limits)
    root = str(inside) if len(str(inside)) <= 60 else f"{str(inside)[:28]}...{str(inside)[-28:]}"
    assert str(caught.value) == (
        f"image {Path(ref).name}: {ref!r} is outside images.allowed_roots; use a file under {root}"
    )


def test_path_inside_allowed_roots_is_read(roots: tuple[Images, Path, Path]) -> None:
    limits, inside, _ = roots
    loaded = load_image(str(inside / "ok.png"), limits)
    assert (loaded.width, loaded.height, loaded.label) == (64, 64, "ok.png")


# --- valid oddities -----------------------------------------------------------------------


def cmyk_jpeg() -> bytes:
    return encode(Image.new("CMYK", (30, 20), (0, 255, 255, 0)), "JPEG", quality=100)


def png16() -> bytes:
    image = Image.new("I;16", (12, 7))
    image.putpixel((0, 0), 32768)  # half of the 16-bit range: must become ~128, not clip to 255
    return encode(image, "PNG")


def palette_with_transparency() -> bytes:
    image = Image.new("P", (8, 8), 0)
    image.putpalette([0, 0, 0, 200, 0, 0] + [0] * 762)
    image.paste(1, (4, 0, 8, 8))
    return encode(image, "PNG", transparency=0)


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (10, 6), color) for color in ((255, 0, 0), (0, 0, 255))]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)


def exif_rotated_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": width and height swap
    return encode(Image.new("RGB", (40, 20), (0, 128, 0)), "JPEG", exif=exif.tobytes())


def rgba_png() -> bytes:
    image = Image.new("RGBA", (5, 5), (255, 0, 0, 255))
    image.putpixel((0, 0), (0, 0, 0, 0))
    return encode(image, "PNG")


def float_tiff() -> bytes:
    image = Image.new("F", (3, 3), 0.0)
    image.putpixel((0, 0), 1.0)
    return encode(image, "TIFF")


# (case id, bytes, file name, size after loading, (pixel, expected RGB) or None)
GOOD: list[
    tuple[str, Callable[[], bytes], str, tuple[int, int], tuple[tuple[int, int], tuple[int, int, int]] | None]
] = [
    ("CMYK JPEG", cmyk_jpeg, "cmyk.jpg", (30, 20), None),
    ("16-bit PNG", png16, "deep.png", (12, 7), ((0, 0), (128, 128, 128))),
    ("palette PNG with transparency", palette_with_transparency, "pal.png", (8, 8), ((0, 0), (255, 255, 255))),
    ("RGBA PNG", rgba_png, "alpha.png", (5, 5), ((0, 0), (255, 255, 255))),
    ("LA PNG", lambda: encode(Image.new("LA", (4, 4), (0, 0)), "PNG"), "la.png", (4, 4), ((1, 1), (255, 255, 255))),
    ("1-bit PNG", lambda: encode(Image.new("1", (9, 3), 1), "PNG"), "bw.png", (9, 3), ((0, 0), (255, 255, 255))),
    ("float TIFF", float_tiff, "float.tif", (3, 3), ((0, 0), (255, 255, 255))),
    ("animated GIF, first frame", animated_gif, "anim.gif", (10, 6), ((0, 0), (255, 0, 0))),
    ("EXIF orientation 6", exif_rotated_jpeg, "rotated.jpg", (20, 40), None),
    ("WebP", lambda: encode(Image.new("RGB", (7, 3), (0, 0, 255)), "WEBP", lossless=True), "x.webp", (7, 3), None),
    ("BMP", lambda: encode(Image.new("RGB", (6, 2), (1, 2, 3)), "BMP"), "x.bmp", (6, 2), ((5, 1), (1, 2, 3))),
    ("TIFF", lambda: encode(Image.new("RGB", (6, 2), (9, 8, 7)), "TIFF"), "x.tiff", (6, 2), ((0, 0), (9, 8, 7))),
    ("1x1", lambda: encode(Image.new("RGB", (1, 1), (4, 5, 6)), "PNG"), "dot.png", (1, 1), ((0, 0), (4, 5, 6))),
    ("1x5000", lambda: encode(Image.new("L", (1, 5000), 77), "PNG"), "tall.png", (1, 5000), ((0, 4999), (77, 77, 77))),
]


@pytest.mark.parametrize(("make", "name", "size", "probe"), [c[1:] for c in GOOD], ids=[c[0] for c in GOOD])
def test_valid_oddities_become_rgb(
    tmp_path: Path,
    make: Callable[[], bytes],
    name: str,
    size: tuple[int, int],
    probe: tuple[tuple[int, int], tuple[int, int, int]] | None,
) -> None:
    data = make()
    loaded = load_image(write(tmp_path, name, data), DEFAULT)
    assert loaded.image.mode == "RGB"
    assert (loaded.width, loaded.height) == loaded.image.size == size
    assert loaded.sha256 == hashlib.sha256(data).hexdigest()
    assert loaded.label == name
    if probe is not None:
        assert loaded.image.getpixel(probe[0]) == probe[1]


def test_cmyk_colour_survives() -> None:
    loaded = load_image("data:image/jpeg;base64," + base64.b64encode(cmyk_jpeg()).decode(), DEFAULT)
    red, green, blue = loaded.image.getpixel((15, 10))
    assert red > 200 and green < 60 and blue < 60  # C=0 M=255 Y=255 K=0 is red


PNG_SMALL = encode(Image.new("RGB", (3, 2), (10, 20, 30)), "PNG")
B64 = base64.b64encode(PNG_SMALL).decode()

SOURCES: list[tuple[str, Callable[[Path], str], str]] = [
    ("path", lambda d: write(d, "small.png", PNG_SMALL), "small.png"),
    ("file URI", lambda d: Path(write(d, "small.png", PNG_SMALL)).as_uri(), "small.png"),
    ("file URI, escaped", lambda d: Path(write(d, "a b.png", PNG_SMALL)).as_uri(), "a b.png"),
    ("data URI", lambda d: f"data:image/png;base64,{B64}", "data URI"),
    ("data URI, line-wrapped", lambda d: f"data:image/png;base64,{B64[:40]}\n{B64[40:]}", "data URI"),
    ("bare base64", lambda d: B64, "base64 input"),
    ("bare base64 without padding", lambda d: B64.rstrip("="), "base64 input"),
    ("URL-safe base64", lambda d: base64.urlsafe_b64encode(PNG_SMALL).decode(), "base64 input"),
    ("home-relative path", lambda d: "~/" + str(Path(write(d, "small.png", PNG_SMALL))), "small.png"),
]


@pytest.mark.parametrize(("make", "label"), [c[1:] for c in SOURCES], ids=[c[0] for c in SOURCES])
def test_every_source_gives_the_same_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: Callable[[Path], str], label: str
) -> None:
    monkeypatch.setenv("HOME", "/")  # so "~/<absolute path>" names the same file
    loaded = load_image(make(tmp_path), DEFAULT)
    assert loaded == LoadedImage(loaded.image, hashlib.sha256(PNG_SMALL).hexdigest(), 3, 2, label)
    assert loaded.image.mode == "RGB" and loaded.image.getpixel((2, 1)) == (10, 20, 30)


def test_exactly_max_bytes_is_accepted(tmp_path: Path) -> None:
    data = PNG_SMALL + b"\x00" * (2048 - len(PNG_SMALL))  # trailing bytes after IEND are ignored by decoders
    loaded = load_image(write(tmp_path, "edge.png", data), Images(max_bytes=2048))
    assert loaded.image.size == (3, 2)
