"""Image sources -> RGB PIL images, within the configured limits.

An ``image`` argument is one string: a local path, a ``file://`` URI, a ``data:image/...;base64,``
URI, bare base64, or an ``http(s)://`` URL (only when ``images.allow_urls`` is on). Whatever the
source, the bytes are capped by ``max_bytes`` while they are read, the pixel count is checked
from the header before anything is decoded, and every failure (OS, PIL, network) becomes one
:class:`ImageError` line that names the input and says what to do; this module is the one place
where those foreign exceptions are translated.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import SplitResult, unquote, urlsplit
from urllib.request import url2pathname

from PIL import Image, ImageOps, UnidentifiedImageError

from . import fetch
from .config import Images
from .errors import ImageError

ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")
_ALLOWED_TEXT = "JPEG, PNG, GIF, WEBP, BMP or TIFF"
_SOURCES = "a local path, a file:// URI, a data:image/...;base64, URI, base64 or an http(s) URL"
_SHOWN = 60  # never echo more of the caller's string than this

# PIL's process-wide guard warns (two lines on stderr, before our own) above 89M pixels and fails above
# 178M without saying the dimensions. images.max_pixels replaces it: checked from the header, before any
# pixel is decoded, with the dimensions in the message.
Image.MAX_IMAGE_PIXELS = None

_B64 = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
# Base64 of the allowed formats' signatures (and of SVG/XML, so those get a precise refusal),
# which tell bare base64 from a path even when the string is short.
_B64_MAGIC = ("iVBORw0KGgo", "/9j/", "R0lGOD", "UklGR", "SUkq", "TU0AK", "PHN2Zy", "PD94bW")

# Signatures checked only after PIL (limited to ALLOWED_FORMATS) gave up, to say what the data is.
_KNOWN_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
    (b"%PDF", "PDF"),
    (b"8BPS", "PSD"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL ", "JPEG XL"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"%!PS", "PostScript"),
    (b"\x1f\x8b", "gzip"),
)


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image ready for a model, with what a result needs to say about it."""

    image: Image.Image  # RGB, fully loaded
    sha256: str  # of the raw image bytes (decoded base64, fetched body, file contents)
    width: int
    height: int
    label: str  # short description of the input, for messages


def load_image(ref: str, limits: Images, *, local_paths: bool = True) -> LoadedImage:
    """Read, check and decode one image reference; raise :class:`ImageError` on any problem.

    ``local_paths=False`` refuses paths and ``file://`` URIs (the HTTP front passes it unless
    ``images.allowed_roots`` is set).
    """
    return decode_image(*read_image_bytes(ref, limits, local_paths=local_paths), limits)


def read_image_bytes(ref: str, limits: Images, *, local_paths: bool = True) -> tuple[bytes, str]:
    """The first half of :func:`load_image`: the raw bytes within ``max_bytes``, and a short label for messages.

    A dataset job hashes the bytes to skip images it has already done before paying for decoding them.
    """
    return _read_source(ref, limits, local_paths)


def decode_image(data: bytes, label: str, limits: Images) -> LoadedImage:
    """The second half of :func:`load_image`: bytes (read, fetched or taken from a table) -> a checked RGB image."""
    if len(data) > limits.max_bytes:
        raise _too_large(label, limits)
    if not data:
        raise ImageError(f"image {label}: no image data; pass an image file")
    image = _decode(data, label, limits)
    return LoadedImage(image, hashlib.sha256(data).hexdigest(), image.width, image.height, label)


# --- sources -------------------------------------------------------------------------------


def _read_source(ref: str, limits: Images, local_paths: bool) -> tuple[bytes, str]:
    text = ref.strip()
    if not text:
        raise ImageError(f"image: the reference is empty; pass {_SOURCES}")
    lowered = text[:16].lower()
    if lowered.startswith("data:"):
        return _read_data_uri(text, limits), "data URI"
    if lowered.startswith(("http://", "https://")):
        return _read_url(text, limits)
    if lowered.startswith("file:"):
        return _read_file(_file_uri_path(text), limits, local_paths)
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]{1,15}):", text)
    if scheme and text[scheme.end() :].startswith("//"):
        raise ImageError(f"image {_short(text)!r}: unsupported scheme {scheme.group(1)!r}; pass {_SOURCES}")
    if _looks_like_base64(text, strict=local_paths) and not (local_paths and _is_file(text)):
        return _decode_base64(text, "base64 input", limits), "base64 input"
    if not _looks_like_path(text) and not (local_paths and _is_file(text)):
        # Words, a sentence, a stray token: say what the string is not, without echoing it.
        raise ImageError(f"image: not an image reference (not a file path, base64 image data or a data: URI); "
                         f"pass {_SOURCES}")
    return _read_file(text, limits, local_paths)


def _looks_like_base64(text: str, *, strict: bool = True) -> bool:
    """Whether a string is base64 data rather than a file path.

    A path can be made of base64 letters too ("/tmp/photo"), so where paths are read (``strict``) only long
    strings, padded ones or ones that begin like an encoded image are taken as data, and a mistyped path still
    reads "no such file". Where paths are not read, any base64-shaped string is data.
    """
    compact = "".join(text.split())
    if not _B64.fullmatch(compact):
        return False
    if not strict:
        return True
    plain_word = "/" not in compact and "." not in compact
    return len(compact) >= 64 or compact.startswith(_B64_MAGIC) or (compact.endswith("=") and plain_word) or (
        len(compact) >= 16 and len(compact) % 4 == 0 and plain_word and not compact.isalpha())


def _looks_like_path(text: str) -> bool:
    return text.startswith(("/", "~", ".", "\\")) or bool(re.match(r"[A-Za-z]:[\\/]", text)) or (
        " " not in text and bool(re.search(r"\.[A-Za-z0-9]{2,5}$", text)))


def _is_file(text: str) -> bool:
    try:
        return Path(os.path.expanduser(text)).is_file()
    except (OSError, ValueError):
        return False


def _read_data_uri(text: str, limits: Images) -> bytes:
    header, comma, payload = text[5:].partition(",")
    if not comma:
        raise ImageError("image data URI: no ',' before the data; pass data:image/png;base64,<data>")
    params = [p.strip().lower() for p in header.split(";")]
    media = params[0] or "text/plain"  # RFC 2397's default
    if not media.startswith("image/"):
        raise ImageError(f"image data URI: type {media[:40]!r} is not an image; pass data:image/png;base64,<data>")
    if "base64" not in params[1:]:
        raise ImageError("image data URI: the data is not base64-encoded; pass data:image/png;base64,<data>")
    return _decode_base64(unquote(payload) if "%" in payload else payload, "data URI", limits)


def _decode_base64(text: str, label: str, limits: Images) -> bytes:
    compact = "".join(text.split()).translate(str.maketrans("-_", "+/"))  # URL-safe alphabet too
    compact += "=" * (-len(compact) % 4) if len(compact) % 4 != 1 else ""  # tolerate dropped padding
    # Check the size from the encoded length so an oversized payload is never decoded.
    if len(compact) // 4 * 3 - compact[-2:].count("=") > limits.max_bytes:
        raise _too_large(label, limits)
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageError(f"image {label}: not valid base64; pass the image file's bytes base64-encoded") from exc
    if not data:
        raise ImageError(f"image {label}: no image data after decoding; pass the image file's bytes base64-encoded")
    return data


def _read_url(url: str, limits: Images) -> tuple[bytes, str]:
    label = _short(_split(url).hostname or "URL")
    if not limits.allow_urls:
        raise ImageError(
            f"image {label}: URLs are turned off; pass a local path or base64 data, or set images.allow_urls: true"
        )
    try:
        data = fetch.fetch_url(url, max_bytes=limits.max_bytes, timeout_s=limits.url_timeout_s)
    except fetch.TooLargeError as exc:
        raise _too_large(label, limits) from exc
    except fetch.FetchError as exc:
        raise ImageError(f"image {label}: {exc}") from exc
    if not data:
        raise ImageError(f"image {label}: the server sent an empty body; check the URL")
    return data, label


def _file_uri_path(uri: str) -> str:
    parts = _split(uri)
    if parts.netloc not in ("", "localhost"):
        raise ImageError(f"image {_short(uri)!r}: file:// URIs on another host are not supported; use file:///path")
    return url2pathname(parts.path)


def _split(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsed lazily; a bad port raises here, at the boundary
    except ValueError as exc:  # e.g. an unclosed "[" or a port that is not a number
        raise ImageError(f"image {_short(url)!r}: not a valid URL; check it") from exc
    return parts


def _read_file(path_text: str, limits: Images, local_paths: bool) -> tuple[bytes, str]:
    path = Path(os.path.expanduser(path_text))  # unlike Path.expanduser, leaves "~nobody" as is
    label = _short(path.name or path_text)
    if not local_paths:
        raise ImageError(
            f"image {label}: local files are not readable over HTTP unless images.allowed_roots is set; "
            "pass the image as a data: URI or base64 instead"
        )
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    # O_NONBLOCK: opening a FIFO must not wait for a writer (fstat below then refuses it).
    flags |= getattr(os, "O_NONBLOCK", 0)
    if limits.allowed_roots:
        path = _inside_roots(path, path_text, label, limits.allowed_roots)
        # The checked path has no symlinks left; refuse one swapped in since the check.
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError as exc:
        raise ImageError(f"image {label}: no such file {_short(path_text)!r}; check the path") from exc
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        if isinstance(exc, IsADirectoryError) or _is_dir(path):
            raise _is_directory(label) from exc
        reason = getattr(exc, "strerror", None) or "not a valid path"
        raise ImageError(f"image {label}: cannot read the file ({reason}); check the path and its permissions") from exc
    _check_opened(fd, label, limits)
    with open(fd, "rb") as file:
        try:
            data = file.read(limits.max_bytes + 1)  # +1 tells "exactly the limit" from "over it"
        except OSError as exc:
            raise ImageError(f"image {label}: cannot read the file ({exc.strerror or exc}); check the file") from exc
    if len(data) > limits.max_bytes:
        raise _too_large(label, limits)
    if not data:
        raise ImageError(f"image {label}: the file is empty; pass an image file")
    return data, label


def _check_opened(fd: int, label: str, limits: Images) -> None:
    """Check what was opened (not what the path named a moment earlier); close ``fd`` when refusing."""
    info = os.fstat(fd)
    problem = None
    if stat.S_ISDIR(info.st_mode):
        problem = _is_directory(label)
    elif not stat.S_ISREG(info.st_mode):
        problem = ImageError(f"image {label}: not a regular file; pass an image file")
    elif info.st_size > limits.max_bytes:
        problem = _too_large(label, limits)
    if problem is not None:
        os.close(fd)
        raise problem


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def _inside_roots(path: Path, path_text: str, label: str, roots: list[str]) -> Path:
    # resolve() follows symlinks and folds "..", so a link or a climb out of a root is caught.
    try:
        resolved = path.resolve()
        allowed = [Path(os.path.expanduser(root)).resolve() for root in roots]
    except (OSError, RuntimeError, ValueError) as exc:  # RuntimeError: a symlink loop
        raise ImageError(f"image {label}: cannot resolve the path; check it") from exc
    if not any(resolved.is_relative_to(root) for root in allowed):
        raise ImageError(
            f"image {label}: {_short(path_text)!r} is outside images.allowed_roots; "
            f"use a file under {', '.join(_short(str(root)) for root in allowed)}"
        )
    return resolved


# --- decoding ------------------------------------------------------------------------------


def _decode(data: bytes, label: str, limits: Images) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # PIL's own guard fired inside open() (the warning only when filters make it an error).
        raise _too_many_pixels(label, limits, None) from exc
    except UnidentifiedImageError as exc:
        raise _unidentified(data, label) from exc
    except Exception as exc:  # noqa: BLE001 - Pillow's header parsers raise many types on bad data
        raise _damaged(label, _sniff(data)) from exc
    with image:
        width, height = image.size
        if width < 1 or height < 1:
            raise ImageError(f"image {label}: has no pixels ({width}x{height}); pass a real image")
        if width * height > limits.max_pixels:
            raise _too_many_pixels(label, limits, (width, height))
        try:
            image.load()  # the first frame only: animations and multi-page files use frame 0
            rgb = _to_rgb(_oriented(image))
            rgb.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _too_many_pixels(label, limits, None) from exc
        except MemoryError as exc:
            raise ImageError(f"image {label}: too large to decode in memory; pass a smaller image") from exc
        except Exception as exc:  # noqa: BLE001 - decoders raise OSError, SyntaxError, ValueError, struct.error...
            raise _damaged(label, image.format) from exc
    return rgb


def _oriented(image: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001 - a garbled EXIF block should not cost the user the picture
        return image


def _to_rgb(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode.startswith("I;16"):
        # convert() clips wide integers to 255 instead of scaling; 16-bit data spans 0..65535.
        image, mode = image.convert("I").point(lambda v: v / 256), "I"
    if mode in ("I", "F"):
        image = _scale_to_8bit(image)
    elif mode == "La":
        image = image.convert("LA")  # Pillow converts premultiplied La only to LA
    if image.mode in ("RGBA", "LA", "PA", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def _scale_to_8bit(image: Image.Image) -> Image.Image:
    # 32-bit integer and float images have no fixed range: map what they hold onto 0..255
    # (floats in 0..1 are the common "normalised" case).
    low, high = image.getextrema()
    if image.mode == "F" and low >= 0 and high <= 1:
        return image.point(lambda v: v * 255).convert("L")
    if low >= 0 and high <= 255:
        return image.convert("L")
    if low >= 0 and high <= 65535:
        return image.point(lambda v: v / 256).convert("L")
    span = (high - low) or 1
    return image.point(lambda v: (v - low) * 255 / span).convert("L")


def _sniff(data: bytes) -> str | None:
    """Name the format of bytes PIL would not open, from their signature."""
    head = data[:1024]
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return "AVIF" if brand.startswith(b"avi") else "HEIC" if brand[:3] in (b"hei", b"mif", b"msf") else "ISO media"
    for magic, name in _KNOWN_MAGIC:
        if head.startswith(magic):
            return name
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<svg", b"<?xml", b"<!doctype svg")) and b"<svg" in text:
        return "SVG"
    return None


def _unidentified(data: bytes, label: str) -> ImageError:
    name = _sniff(data)
    if name in ALLOWED_FORMATS:
        return _damaged(label, name)
    if name is not None:
        return ImageError(f"image {label}: {name} is not a supported image format; use {_ALLOWED_TEXT}")
    return ImageError(f"image {label}: not a recognised image; use {_ALLOWED_TEXT}")


def _damaged(label: str, fmt: str | None) -> ImageError:
    what = f"the {fmt} data" if fmt else "the image data"
    return ImageError(f"image {label}: {what} is truncated or damaged; pass a complete image file")


def _too_large(label: str, limits: Images) -> ImageError:
    return ImageError(f"image {label}: larger than {limits.max_bytes:,} bytes (images.max_bytes); pass a smaller image")


def _too_many_pixels(label: str, limits: Images, size: tuple[int, int] | None) -> ImageError:
    what = f"{size[0]}x{size[1]} pixels is" if size else "has"
    more = "more than" if size else "more pixels than"
    return ImageError(
        f"image {label}: {what} {more} the limit of {limits.max_pixels:,} (images.max_pixels); pass a smaller image"
    )


def _is_directory(label: str) -> ImageError:
    return ImageError(f"image {label}: is a directory, not a file; pass the path of an image file")


def _short(text: str) -> str:
    """At most ~60 characters of a caller's string, so messages never echo whole payloads."""
    return text if len(text) <= _SHOWN else f"{text[:28]}...{text[-28:]}"
