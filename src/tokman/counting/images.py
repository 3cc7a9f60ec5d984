"""Image sizes read from image bytes, and the token cost of an image for a model.

The API bills an ``image_url`` part by its pixel size, never by its bytes, so only the size
matters. It is read from the header of a ``data:`` URL (PNG, JPEG, GIF, WebP parsed here, with
no imaging library). A remote ``https://`` image is never downloaded: its size must be given.

Two billing schemes exist, chosen per model by ``_families``:

* **tiles** (gpt-4o, gpt-4.1, o3, ...): ``low`` costs a flat ``base``; ``high``/``auto`` fit
  the image into 2048x2048, shrink it so the short side is at most 768, and add ``per_tile``
  for every 512px tile. Images are never scaled *up* (pamelafox's 1126x488 image is 3 tiles).
* **patches** (gpt-4.1-mini/nano, o4-mini, ...): 32px patches, at most 1536 (larger images
  are shrunk first), times a per-model multiplier; ``detail`` has no effect.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
from dataclasses import dataclass
from typing import NoReturn

from tokman.errors import InvalidRequestError

__all__ = [
    "PatchRule",
    "TileRule",
    "image_size",
    "image_size_from_bytes",
    "image_tokens",
]

_TILE_FIT = 2048
_TILE_SHORT_SIDE = 768
_TILE = 512
_PATCH = 32
_PATCH_BUDGET = 1536
_HEADER_CHARS = 4096  # base64 chars decoded first: enough for PNG/GIF/WebP and most JPEGs


@dataclass(frozen=True)
class TileRule:
    """Tile billing: ``base`` always, plus ``per_tile`` per 512px tile unless detail is low."""

    base: int
    per_tile: int


@dataclass(frozen=True)
class PatchRule:
    """Patch billing: ``ceil(patches * multiplier) + extra``; ``detail`` is ignored.

    ``extra`` is 1 on every model observed so far (gpt-4.1-mini 26, gpt-4.1-nano 33 and o4-mini
    26 for a 128x64 image, community.openai.com/t/1262691); the documented formula without it
    is one token short on all three.
    """

    multiplier: float
    extra: int = 1


def _bad_image(field: str, value: object, expected: str) -> NoReturn:
    raise InvalidRequestError(field, value, expected)


def tile_count(width: int, height: int) -> int:
    """Number of 512px tiles after the API's downscaling (never upscaling)."""
    w, h = float(width), float(height)
    if max(w, h) > _TILE_FIT:
        scale = _TILE_FIT / max(w, h)
        w, h = w * scale, h * scale
    if min(w, h) > _TILE_SHORT_SIDE:
        scale = _TILE_SHORT_SIDE / min(w, h)
        w, h = w * scale, h * scale
    return math.ceil(w / _TILE) * math.ceil(h / _TILE)


def patch_count(width: int, height: int) -> int:
    """Number of 32px patches, shrinking the image first when it exceeds the 1536 budget."""
    patches = math.ceil(width / _PATCH) * math.ceil(height / _PATCH)
    if patches <= _PATCH_BUDGET:
        return patches
    shrink = math.sqrt(_PATCH * _PATCH * _PATCH_BUDGET / (width * height))
    w, h = width * shrink, height * shrink
    # shrink a little more so that a whole number of patches covers the width or the height
    shrink *= min(math.floor(w / _PATCH) / (w / _PATCH), math.floor(h / _PATCH) / (h / _PATCH))
    w, h = width * shrink, height * shrink
    return min(_PATCH_BUDGET, math.ceil(w / _PATCH) * math.ceil(h / _PATCH))


def image_tokens(rule: TileRule | PatchRule, detail: str, size: tuple[int, int] | None) -> int:
    """Tokens billed for one image; ``size`` may be ``None`` only for a low-detail tile image.

    >>> image_tokens(TileRule(85, 170), "high", (1024, 1024))
    765
    >>> image_tokens(TileRule(85, 170), "low", None)
    85
    """
    if isinstance(rule, TileRule):
        if detail == "low":
            return rule.base
        assert size is not None  # callers resolve the size whenever it is needed
        return rule.base + rule.per_tile * tile_count(*size)
    assert size is not None
    return math.ceil(patch_count(*size) * rule.multiplier) + rule.extra


def size_needed(rule: TileRule | PatchRule, detail: str) -> bool:
    """Whether the pixel size changes the cost (a low-detail tile image is a flat fee)."""
    return not (isinstance(rule, TileRule) and detail == "low")


def _png(data: bytes) -> tuple[int, int] | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    return None


def _gif(data: bytes) -> tuple[int, int] | None:
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    return None


def _webp(data: bytes) -> tuple[int, int] | None:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8L" and len(data) >= 25:  # lossless: 14 bits width-1, 14 bits height-1
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if len(data) < 30:
        return None
    if chunk == b"VP8 ":  # lossy: 14-bit sizes after the 3-byte start code
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8X":  # extended: 24-bit width-1 and height-1
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


# start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) share the range
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_NO_LENGTH = frozenset({0x01, *range(0xD0, 0xDA)})


def _jpeg(data: bytes) -> tuple[int, int] | None:
    if data[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _JPEG_NO_LENGTH:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _JPEG_SOF:
            if pos + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return int(width), int(height)
        pos += 2 + length
    return None


def image_size_from_bytes(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` from the header of a PNG, JPEG, GIF or WebP file, else ``None``.

    >>> image_size_from_bytes(b"GIF89a\\x80\\x00\\x40\\x00")
    (128, 64)
    """
    for parse in (_png, _jpeg, _gif, _webp):
        size = parse(data)
        if size is not None:
            return size
    return None


def _decode(field: str, url: str, payload: str) -> bytes:
    try:
        return base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError):
        _bad_image(field, url, "the data: URL's base64 payload does not decode")


def image_size(field: str, url: str) -> tuple[int, int]:
    """The size of the image in a ``data:...;base64,`` URL, reading only what is needed.

    Raises:
        InvalidRequestError: not a base64 data URL, or not a PNG/JPEG/GIF/WebP image.
    """
    head, sep, payload = url.partition(",")
    if not sep or not head.startswith("data:") or not head.endswith(";base64"):
        _bad_image(field, url, "expected a data:image/...;base64,... URL")
    payload = payload.strip()
    prefix = payload[:_HEADER_CHARS]
    size = image_size_from_bytes(_decode(field, url, prefix[: len(prefix) // 4 * 4]))
    if size is None and len(payload) > _HEADER_CHARS:
        # a JPEG whose frame header sits after large EXIF/ICC segments
        size = image_size_from_bytes(_decode(field, url, payload))
    if size is None:
        _bad_image(field, url, "the data: URL is not a PNG, JPEG, GIF or WebP image")
    if size[0] <= 0 or size[1] <= 0:
        _bad_image(field, url, f"the image header gives an empty size {size[0]}x{size[1]}")
    return size
