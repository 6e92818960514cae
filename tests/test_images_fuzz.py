"""Property: whatever the bytes, load_image returns an RGB image within the limits or raises ImageError.

Never another exception type, never a hang (hypothesis' deadline fails any slow example), and
PIL's decompression-bomb warning is turned into an error here so that it too must be caught.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mcp_server.config import Images
from mcp_server.errors import ImageError
from mcp_server.images import load_image

pytestmark = [
    pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),  # PIL's "Corrupt EXIF data" and the like: expected here
]

# Small pixel limit: a mutated header that claims a large size is refused before decoding,
# and what is decoded stays cheap, so a few hundred examples run in seconds.
LIMITS = Images(max_pixels=250_000, max_bytes=64 * 1024)
FUZZ = settings(
    max_examples=150,
    deadline=2000,  # ms per example: "never a hang"
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **params)
    return buf.getvalue()


def _seeds() -> dict[str, bytes]:
    gradient = Image.linear_gradient("L").resize((24, 16)).convert("RGB")
    deep = Image.new("I;16", (9, 9), 40_000)
    frames = [Image.new("P", (12, 8), i) for i in range(3)]
    exif = Image.Exif()
    exif[0x0112] = 6
    return {
        "png": _encode(gradient, "PNG"),
        "png16": _encode(deep, "PNG"),
        "png-palette": _encode(gradient.convert("P"), "PNG", transparency=0),
        "jpeg": _encode(gradient, "JPEG", quality=80, exif=exif.tobytes()),
        "jpeg-progressive": _encode(gradient, "JPEG", progressive=True),
        "jpeg-cmyk": _encode(gradient.convert("CMYK"), "JPEG"),
        "gif": _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=20),
        "webp": _encode(gradient, "WEBP", quality=70),
        "webp-lossless": _encode(gradient.convert("RGBA"), "WEBP", lossless=True),
        "bmp": _encode(gradient, "BMP"),
        "tiff": _encode(gradient, "TIFF", compression="tiff_lzw"),
        "tiff-raw": _encode(gradient.convert("LA"), "TIFF"),
    }


SEEDS = _seeds()


def _check(ref: str, limits: Images = LIMITS) -> None:
    try:
        loaded = load_image(ref, limits)
    except ImageError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert loaded.image.mode == "RGB"
    assert loaded.image.size == (loaded.width, loaded.height)
    assert 1 <= loaded.width * loaded.height <= limits.max_pixels


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "overwrite", "delete"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=32))
        elif op == "overwrite":
            # Extreme values where sizes and counts live: the classic way to reach a decoder's edge.
            chunk = draw(st.sampled_from([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff", b"\x80"]))
            data[at : at + len(chunk)] = chunk
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 64))]
    return bytes(data)


@FUZZ
@given(data=mutated(), as_file=st.booleans())
def test_mutated_real_images(tmp_path: Path, data: bytes, as_file: bool) -> None:
    if as_file:
        path = tmp_path / "mutated.img"
        path.write_bytes(data)
        _check(str(path))
    else:
        _check("data:image/png;base64," + base64.b64encode(data).decode())


@FUZZ
@given(data=st.binary(max_size=2048), ext=st.sampled_from([".png", ".jpg", ".gif", ".webp", ".bmp", ".tif", ".svg"]))
def test_garbage_with_image_extensions(tmp_path: Path, data: bytes, ext: str) -> None:
    path = tmp_path / f"garbage{ext}"
    path.write_bytes(data)
    _check(str(path))


POLYGLOT_PARTS = [
    *SEEDS.values(),
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    b"<html><body><img src=x onerror=alert(1)></body></html>",
    b"GIF89a/*\x00\x00\x00\x00*/=alert(1)//",
    b"%PDF-1.4\n1 0 obj<<>>endobj\n",
    b"PK\x03\x04" + b"\x00" * 26,
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    b"II*\x00\x08\x00\x00\x00",
    b"BM\xff\xff\xff\xff\x00\x00\x00\x00\x36\x00\x00\x00",
]


@FUZZ
@given(parts=st.lists(st.sampled_from(POLYGLOT_PARTS), min_size=2, max_size=4), cut=st.integers(0, 200))
def test_polyglots(parts: list[bytes], cut: int) -> None:
    # Headers of one format glued to bodies of others, with a random prefix cut off the join.
    data = parts[0] + b"".join(part[cut % (len(part) or 1) :] for part in parts[1:])
    _check(base64.b64encode(data).decode())


@FUZZ
@given(
    ref=st.one_of(
        st.text(max_size=200),
        st.builds(lambda t, p: f"data:{t};base64,{p}", st.text(max_size=30), st.text(max_size=100)),
        st.builds(lambda p: f"file://{p}", st.text(max_size=80)),
    )
)
def test_arbitrary_reference_strings(ref: str) -> None:
    _check(ref)
