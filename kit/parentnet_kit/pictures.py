"""Pictures as members send them, made safe to show: decoded (never trusted by name or
Content-Type), bounded, turned upright, stripped of every piece of metadata and resized.

A phone photo taken at home carries where home is (EXIF GPS), the phone's make and serial, and
an embedded thumbnail that may still show what was cropped out. None of it may reach anyone:
what leaves ``process`` is pixels only, re-encoded from scratch, and ``metadata_free`` checks
that by walking the encoded file's own segments and chunks (not by asking Pillow, which wrote
them). No I/O here.

Bounds, all checked before the pixels are decoded: ``Limits.max_bytes`` (10 MB), and
``Limits.max_pixels`` (50 megapixels: a 12-50 MP phone photo passes; a 20-byte PNG that
claims 100,000 x 100,000 pixels, a "decompression bomb", is refused from its header alone).
Decoding is left to Pillow; its own text-chunk limits hold too.
"""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from .i18n import t

# What members may send, by Pillow's format name, and what they are served as.
ACCEPTED = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# Variants, largest first: each is the picture fitted within a square of that many pixels,
# never enlarged. There is no "original": the large variant is the most anybody gets.
SIZES: tuple[tuple[str, int], ...] = (("large", 2048), ("medium", 1024), ("thumbnail", 320))
EXTENSIONS = {"image/jpeg": "jpg", "image/webp": "webp", "image/png": "png"}


@dataclass(frozen=True)
class Limits:
    """``max_bytes``: the file as sent; ``max_pixels``: width x height as its header says."""

    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 50_000_000


class PictureRefused(ValueError):
    """Not a picture we take. ``code`` is a userErrors code: ``TOO_LARGE`` (bytes or pixels),
    ``NOT_AN_IMAGE`` (not a JPEG, PNG or WebP once decoded, or damaged), ``REQUIRED`` (empty)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Variant:
    """One encoded size: ``size`` a name of SIZES, ``width``/``height`` in pixels,
    ``content_type`` image/jpeg or image/webp, ``data`` the file, ``sha256`` its hex digest."""

    size: str
    width: int
    height: int
    content_type: str
    data: bytes
    sha256: str


def process(data: bytes, limits: Limits = Limits()) -> list[Variant]:
    """The variants of SIZES (largest first) of the picture in ``data``, without any metadata.

    Opaque pictures become JPEG; pictures with transparency become WebP (with alpha). An
    animated picture keeps its first frame. Raises ``PictureRefused``."""
    if not data:
        raise PictureRefused("REQUIRED", t("The file is empty."))
    if len(data) > limits.max_bytes:
        raise PictureRefused(
            "TOO_LARGE", t("The file is larger than {megabytes} MB.", megabytes=limits.max_bytes // (1024 * 1024))
        )
    image = _open(data, limits)
    image = _upright_pixels(image)
    variants: list[Variant] = []
    current = image
    for size, edge in SIZES:
        if max(current.size) > edge:
            current = current.copy()
            current.thumbnail((edge, edge), Image.Resampling.LANCZOS)
        variants.append(_encode(size, current))
    return variants


def _open(data: bytes, limits: Limits) -> Image.Image:
    """The picture, decoded, after its header passed the bounds. Raises ``PictureRefused``."""
    not_an_image = PictureRefused("NOT_AN_IMAGE", t("The file is not a JPEG, PNG or WebP picture."))
    try:
        with warnings.catch_warnings():
            # Pillow warns past its own MAX_IMAGE_PIXELS and raises past twice that; ours is lower.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=tuple(ACCEPTED))
            width, height = image.size
            if width < 1 or height < 1:
                raise not_an_image
            if width * height > limits.max_pixels:
                raise PictureRefused(
                    "TOO_LARGE",
                    t(
                        "The picture is {width} x {height} pixels: at most {megapixels} megapixels.",
                        width=str(width),
                        height=str(height),
                        megapixels=limits.max_pixels // 1_000_000,
                    ),
                )
            if image.format == "JPEG":
                # Decode a big JPEG at 1/2, 1/4 or 1/8 scale when that still covers the largest size.
                edge = SIZES[0][1]
                image.draft("RGB", (edge, edge))
            image.seek(0)
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        message = t("The picture has more than {megapixels} megapixels.", megapixels=limits.max_pixels // 1000000)
        raise PictureRefused("TOO_LARGE", message) from None
    except PictureRefused:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error):
        raise not_an_image from None
    return image


def _upright_pixels(image: Image.Image) -> Image.Image:
    """The picture turned as its EXIF orientation says, as 8-bit RGB (RGBA when it has any
    transparent pixel), with nothing of its metadata."""
    factor = max(image.size) // SIZES[0][1]
    if factor >= 2 and image.mode in ("RGB", "RGBA", "L", "LA"):
        # Shrink by a whole factor (a box filter; the largest size still gets >= 2048 px to
        # resample from) before the copies below: a 48 MP PNG peaked at 756 MB of memory without.
        image = image.reduce(factor)  # keeps info, so the orientation below still applies
    oriented = ImageOps.exif_transpose(image)
    has_alpha = oriented.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        oriented.mode == "P" and "transparency" in oriented.info
    )
    pixels = _in_srgb(oriented, "RGBA" if has_alpha else "RGB")
    if has_alpha and pixels.getchannel("A").getextrema() == (255, 255):
        pixels = pixels.convert("RGB")
    # A fresh image of the same pixels: no info (EXIF, XMP, ICC, text chunks, comments), no
    # cached EXIF, no embedded thumbnail; resizes of it inherit the empty info.
    clean = Image.new(pixels.mode, pixels.size)
    clean.paste(pixels)
    clean.info = {}
    return clean


def _in_srgb(image: Image.Image, mode: str) -> Image.Image:
    """The pixels in ``mode``, converted from the picture's own colour profile to sRGB when it
    has one (a phone's Display P3 photo would look dull once its profile is dropped); a profile
    that cannot be read is ignored."""
    icc = image.info.get("icc_profile")
    if icc and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=mode)
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass
    return image.convert(mode)


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _encode(size: str, image: Image.Image) -> Variant:
    out = io.BytesIO()
    if image.mode == "RGBA":
        image.save(out, "WEBP", quality=85, method=4, exif=b"", xmp=b"", icc_profile=None)
        content_type = "image/webp"
    else:
        image.save(out, "JPEG", quality=85, optimize=True, progressive=True, exif=b"", icc_profile=None)
        content_type = "image/jpeg"
    data = out.getvalue()
    problems = metadata_free(data)
    if problems:  # our own encoder wrote metadata: a bug, never a file to store
        raise RuntimeError(f"encoded {size} variant carries metadata: {problems}")
    return Variant(size, image.width, image.height, content_type, data, hashlib.sha256(data).hexdigest())


# -- checking a file for metadata, by its own structure --------------------------------------

# JPEG markers allowed before the scan: APP0 (JFIF), quantisation and Huffman tables, frame
# headers, restart interval. Everything else before SOS (APP1 EXIF/XMP, APP2 ICC, APP13
# IPTC/Photoshop, COM comments, ...) counts as metadata.
_JPEG_ALLOWED = {0xE0, 0xDB, 0xC4, 0xDD, *range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), 0xCD, 0xCE, 0xCF}
_PNG_ALLOWED = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}
_WEBP_ALLOWED = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"}


def metadata_free(data: bytes) -> list[str]:
    """What in ``data`` (a JPEG, PNG or WebP file) is metadata rather than pixels: segment or
    chunk names such as ``"JPEG APP1"``, ``"PNG eXIf"``, ``"WebP EXIF"``; [] when there is none.
    A file of another kind, or too damaged to walk, is ``["unknown format"]``."""
    try:
        if data[:2] == b"\xff\xd8":
            return _jpeg_metadata(data)
        if data[:8] == b"\x89PNG\r\n\x1a\n":
            return _png_metadata(data)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp_metadata(data)
    except (IndexError, struct.error):
        pass
    return ["unknown format"]


def _jpeg_metadata(data: bytes) -> list[str]:
    found, at = [], 2
    while True:
        if data[at] != 0xFF:
            return ["unknown format"]
        marker = data[at + 1]
        if marker == 0xDA:  # start of scan: pixels follow
            return found
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker not in _JPEG_ALLOWED:
            name = "COM" if marker == 0xFE else f"APP{marker - 0xE0}" if 0xE0 <= marker <= 0xEF else hex(marker)
            found.append(f"JPEG {name}")
        elif marker == 0xE0 and not data[at + 4 : at + 9].startswith(b"JFIF\x00"):
            found.append("JPEG APP0 (not JFIF)")  # JFXX carries a thumbnail
        at += 2 + length


def _png_metadata(data: bytes) -> list[str]:
    found, at = [], 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        if kind not in _PNG_ALLOWED:
            found.append(f"PNG {kind.decode('latin-1')}")
        if kind == b"IEND":
            return found
        at += 12 + length
    return ["unknown format"]


def _webp_metadata(data: bytes) -> list[str]:
    found, at = [], 12
    while at + 8 <= len(data):
        kind, length = struct.unpack("<4sI", data[at : at + 8])
        if kind not in _WEBP_ALLOWED:
            found.append(f"WebP {kind.decode('latin-1').strip()}")
        elif kind == b"VP8X" and data[at + 8] & 0b0010_1100:  # ICC, EXIF or XMP flagged
            found.append("WebP VP8X metadata flags")
        at += 8 + length + (length & 1)
    return found
