"""Adopting a signature: a typed name rendered as a signature, or a drawing from the canvas.

Both end as a PNG the server made itself: a drawing is decoded, checked (a real PNG, within
size limits, not blank) and re-encoded, so nothing the browser sent is stored verbatim.
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError

MAX_DATA_URL_CHARS = 400_000
MAX_PNG_BYTES = 256 * 1024
MAX_WIDTH, MAX_HEIGHT = 2000, 800
MIN_INK_PIXELS = 30
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_PREFIX = "data:image/png;base64,"
_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Italic.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerifCondensed-Italic.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Italic.ttf",
)


@dataclass(frozen=True)
class Adopted:
    kind: str  # "typed" | "drawn"
    text: str
    png: bytes


def _refuse(message: str) -> ValidationError:
    return ValidationError({"signature": message})


def clean_name(name: str) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise _refuse("Type your name to sign.")
    if len(name) > 100:
        raise _refuse("That name is too long (100 characters at most).")
    if any(ord(ch) < 32 for ch in name):
        raise _refuse("The name holds characters that cannot be shown.")
    return name


def render_typed(name: str) -> bytes:
    """The typed name in an italic serif, as a transparent PNG."""
    from PIL import Image, ImageDraw, ImageFont

    font = None
    for path in _FONTS:
        if Path(path).exists():
            font = ImageFont.truetype(path, 56)
            break
    if font is None:
        font = ImageFont.load_default(size=56)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    left, top, right, bottom = probe.textbbox((0, 0), name, font=font)
    width, height = min(right - left + 40, MAX_WIDTH), bottom - top + 40
    image = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    ImageDraw.Draw(image).text((20 - left, 20 - top), name, font=font, fill=(20, 30, 80, 255))
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def decode_drawing(data_url: str) -> bytes:
    """Check a canvas PNG data URL and return a re-encoded PNG; refuse anything else."""
    from PIL import Image, UnidentifiedImageError

    data_url = str(data_url or "").strip()
    if not data_url:
        raise _refuse("Draw your signature in the box first.")
    if len(data_url) > MAX_DATA_URL_CHARS:
        raise _refuse("The drawing is too large. Clear it and draw again.")
    if not data_url.startswith(_PREFIX):
        raise _refuse("The drawing must be a PNG image.")
    try:
        raw = base64.b64decode(data_url[len(_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _refuse("The drawing could not be read. Clear it and draw again.") from exc
    if len(raw) > MAX_PNG_BYTES:
        raise _refuse("The drawing is too large. Clear it and draw again.")
    if not raw.startswith(PNG_MAGIC):
        raise _refuse("The drawing must be a PNG image.")
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            if probe.format != "PNG":
                raise _refuse("The drawing must be a PNG image.")
            if probe.width > MAX_WIDTH or probe.height > MAX_HEIGHT:
                raise _refuse("The drawing is too large. Clear it and draw again.")
            probe.verify()
        with Image.open(io.BytesIO(raw)) as image:
            image = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _refuse("The drawing could not be read. Clear it and draw again.") from exc
    alpha = image.getchannel("A")
    ink = sum(alpha.histogram()[16:])
    if ink < MIN_INK_PIXELS:
        raise _refuse("The signature box is empty. Draw your signature first.")
    bbox = alpha.point(lambda v: 255 if v >= 16 else 0).getbbox()
    if bbox:
        left, top, right, bottom = bbox
        image = image.crop((max(left - 8, 0), max(top - 8, 0), right + 8, bottom + 8))
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def adopt(kind: str, *, name: str = "", drawing: str = "") -> Adopted:
    if kind == "typed":
        text = clean_name(name)
        return Adopted("typed", text, render_typed(text))
    if kind == "drawn":
        text = " ".join(str(name or "").split())[:100]
        return Adopted("drawn", text, decode_drawing(drawing))
    raise _refuse("Choose how to sign: type your name or draw your signature.")


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(bytes(png)).decode()
