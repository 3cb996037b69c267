"""What a file says about itself beyond pixels: GPS position, caption, keywords (Pillow only).

:func:`extract` reads an opened (not necessarily decoded) image and returns a small dict with the
keys that are present:

``gps``
    ``[latitude, longitude]`` in decimal degrees (EXIF GPS IFD; south and west negative).
``description``
    EXIF ImageDescription, XMP ``dc:description``, IPTC caption (2:120), or a PNG ``Description``
    text chunk, whichever comes first.
``comment``
    EXIF UserComment (its 8-byte character-code prefix decoded), XPComment, or a PNG/JPEG comment.
``keywords``
    XMP ``dc:subject`` items, IPTC keywords (2:25) and EXIF XPKeywords, de-duplicated in order.

Everything is best effort: damaged metadata yields nothing, never an error.

Nothing here decodes pixels. Pillow's ``PngImageFile.getexif()`` decodes the whole picture to
reach chunks stored after the pixel data (an ``eXIf`` or text chunk after IDAT); instead,
:func:`adopt_png_trailing_chunks` walks the chunk headers of the file (skipping the pixel data by
its length, no inflating) and parses those chunks with Pillow's own chunk parser, and
:func:`read_exif` then reads EXIF from what the file said, as Pillow would after a decode.
"""

from __future__ import annotations

import io
import re
import struct
from typing import IO, Any

from PIL import Image, PngImagePlugin

MAX_TEXT = 500
_GPS_IFD = 0x8825
_EXIF_IFD = 0x8769
_XMP_SUBJECT = re.compile(rb"<dc:subject[^>]*>(.*?)</dc:subject>", re.S)
_XMP_DESCRIPTION = re.compile(rb"<dc:description[^>]*>(.*?)</dc:description>", re.S)
_XMP_LI = re.compile(rb"<rdf:li[^>]*>(.*?)</rdf:li>", re.S)
_XML_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'"}


# Chunks after the pixel data that carry metadata; Pillow reads them only at the end of a decode.
_TRAILING_CHUNKS = (b"eXIf", b"tEXt", b"zTXt", b"iTXt")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def adopt_png_trailing_chunks(img: Image.Image) -> None:
    """Put the metadata chunks that follow a PNG's pixel data into ``img.info`` without decoding it.

    The pixel data (IDAT, APNG fdAT) is skipped by its length; only the small metadata chunks are
    read and handed to Pillow's own parser, so ``img.info`` holds what ``img.load()`` would have
    added (an ``eXIf`` chunk's EXIF, trailing text). Values seen before the pixels are kept.
    Best effort: a damaged chunk table just ends the walk.
    """
    fp = getattr(img, "fp", None)
    if img.format != "PNG" or fp is None or _decoded(img):
        return  # not a PNG, or already decoded (then Pillow has read the trailing chunks itself)
    try:
        start = fp.tell()
    except Exception:
        return
    try:
        found = _trailing_chunks(fp)
    except Exception:
        found = {}
    finally:
        fp.seek(start)
    for key, value in found.items():
        img.info.setdefault(key, value)


def _decoded(img: Image.Image) -> bool:
    if "_im" in dir(img):  # Pillow >= 11: the pixels live in ``_im`` behind the ``im`` property
        return getattr(img, "_im", None) is not None
    return getattr(img, "im", None) is not None


def _trailing_chunks(fp: IO[bytes]) -> dict[Any, Any]:
    fp.seek(0)
    if fp.read(8) != _PNG_SIGNATURE:
        return {}
    chunks: list[tuple[bytes, bytes]] = []
    seen_pixels = False
    while True:
        head = fp.read(8)
        if len(head) < 8:
            break
        length, cid = struct.unpack(">I4s", head)
        if cid == b"IEND":
            break
        if cid == b"IDAT":
            seen_pixels = True
        if seen_pixels and cid in _TRAILING_CHUNKS:
            body = fp.read(length)
            if len(body) < length:
                break
            chunks.append((cid, body))
            fp.seek(4, io.SEEK_CUR)  # CRC
        else:
            fp.seek(length + 4, io.SEEK_CUR)
    if not chunks:
        return {}
    stream = PngImagePlugin.PngStream(io.BytesIO(b"".join(body for _, body in chunks)))
    pos = 0
    for cid, body in chunks:
        try:
            stream.call(cid, pos, len(body))
        except Exception:
            pass
        pos += len(body)
        stream.fp.seek(pos)  # type: ignore[union-attr]
    return dict(stream.im_info)


def read_exif(img: Image.Image) -> Image.Exif | None:
    """The image's EXIF as Pillow parses it, never decoding pixels (None when it cannot be read).

    For a PNG, call :func:`adopt_png_trailing_chunks` first: Pillow's ``PngImageFile.getexif``
    would decode the picture to look for an ``eXIf`` chunk after the pixel data; the base
    ``Image.getexif`` reads ``img.info`` as it is (eXIf, ImageMagick's raw-profile text, XMP).
    """
    try:
        if img.format == "PNG":
            return Image.Image.getexif(img)
        return img.getexif()
    except Exception:
        return None


def extract(img: Image.Image) -> dict[str, Any]:
    out: dict[str, Any] = {}
    keywords: list[str] = []
    exif = read_exif(img)
    if exif is not None:
        _from_exif(exif, out, keywords)
    xmp = _xmp_bytes(img)
    if xmp:
        _from_xmp(xmp, out, keywords)
    _from_iptc(img, out, keywords)
    info = getattr(img, "info", {}) or {}
    for key in ("Description", "description", "Title"):
        value = info.get(key)
        if isinstance(value, str) and value.strip():
            out.setdefault("description", _clean(value))
    for key in ("Comment", "comment"):
        value = info.get(key)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, str) and value.strip():
            out.setdefault("comment", _clean(value))
    seen: set[str] = set()
    unique: list[str] = []
    for k in keywords:
        if k and k.lower() not in seen:
            seen.add(k.lower())
            unique.append(k)
    if unique:
        out["keywords"] = unique[:50]
    return out


def _clean(text: str) -> str:
    text = "".join(c if c.isprintable() else " " for c in text.replace("\x00", " ")).strip()
    return " ".join(text.split())[:MAX_TEXT]


def _from_exif(exif: Image.Exif, out: dict[str, Any], keywords: list[str]) -> None:
    try:
        gps = exif.get_ifd(_GPS_IFD)
        pos = _gps_position(gps) if gps else None
        if pos is not None:
            out["gps"] = pos
    except Exception:
        pass
    try:
        desc = exif.get(0x010E)
        if isinstance(desc, bytes):
            desc = desc.decode("utf-8", "replace")
        if isinstance(desc, str) and _clean(desc):
            out["description"] = _clean(desc)
    except Exception:
        pass
    try:
        comment = _user_comment(exif.get_ifd(_EXIF_IFD).get(0x9286))
        if comment:
            out["comment"] = comment
    except Exception:
        pass
    for tag, key in ((0x9C9C, "comment"), (0x9C9B, "description")):  # XPComment, XPTitle (UTF-16LE)
        text = _utf16(exif.get(tag))
        if text:
            out.setdefault(key, text)
    words = _utf16(exif.get(0x9C9E))  # XPKeywords, ';'-separated
    if words:
        keywords.extend(w.strip() for w in words.split(";"))


def _utf16(value: object) -> str:
    if isinstance(value, tuple | list):
        try:
            value = bytes(value)
        except (TypeError, ValueError):
            return ""
    if isinstance(value, bytes):
        return _clean(value.decode("utf-16-le", "replace"))
    return _clean(value) if isinstance(value, str) else ""


def _user_comment(value: object) -> str:
    if isinstance(value, str):
        return _clean(value)
    if not isinstance(value, bytes) or not value:
        return ""
    code, body = value[:8], value[8:]
    if code.startswith(b"UNICODE"):
        enc = "utf-16-be" if body[:1] == b"\x00" else "utf-16-le"
        return _clean(body.decode(enc, "replace"))
    if code.startswith(b"ASCII") or code.strip(b"\x00 ") == b"":
        return _clean(body.decode("utf-8", "replace"))
    return _clean(value.decode("utf-8", "replace"))


def _rational(value: object) -> float:
    if isinstance(value, tuple) and len(value) == 2:
        num, den = value
        return float(num) / float(den)
    return float(value)  # type: ignore[arg-type]


def _gps_position(gps: dict[int, Any]) -> list[float] | None:
    lat, lat_ref, lon, lon_ref = gps.get(2), gps.get(1), gps.get(4), gps.get(3)
    if not lat or not lon:
        return None

    def degrees(dms: Any) -> float:
        parts = [_rational(v) for v in dms]
        while len(parts) < 3:
            parts.append(0.0)
        return parts[0] + parts[1] / 60.0 + parts[2] / 3600.0

    la, lo = degrees(lat), degrees(lon)
    if str(lat_ref or "N").upper().startswith("S"):
        la = -la
    if str(lon_ref or "E").upper().startswith("W"):
        lo = -lo
    if not (-90 <= la <= 90 and -180 <= lo <= 180) or (la == 0 and lo == 0):
        return None
    return [round(la, 6), round(lo, 6)]


def _xmp_bytes(img: Image.Image) -> bytes:
    info = getattr(img, "info", {}) or {}
    for key in ("xmp", "XML:com.adobe.xmp"):
        value = info.get(key)
        if isinstance(value, str):
            return value.encode("utf-8")
        if isinstance(value, bytes):
            return value
    return b""


def _xml_text(raw: bytes) -> str:
    text = re.sub(r"<[^>]+>", " ", raw.decode("utf-8", "replace"))
    for entity, char in _XML_ENTITIES.items():
        text = text.replace(entity, char)
    return _clean(text)


def _from_xmp(xmp: bytes, out: dict[str, Any], keywords: list[str]) -> None:
    try:
        for block in _XMP_SUBJECT.findall(xmp):
            keywords.extend(_xml_text(li) for li in _XMP_LI.findall(block))
        m = _XMP_DESCRIPTION.search(xmp)
        if m:
            items = _XMP_LI.findall(m.group(1)) or [m.group(1)]
            text = _xml_text(items[0])
            if text:
                out.setdefault("description", text)
    except Exception:
        pass


def _from_iptc(img: Image.Image, out: dict[str, Any], keywords: list[str]) -> None:
    try:
        from PIL import IptcImagePlugin

        iptc = IptcImagePlugin.getiptcinfo(img)  # type: ignore[arg-type]
    except Exception:
        return
    if not iptc:
        return

    def texts(value: object) -> list[str]:
        values = value if isinstance(value, list) else [value]
        return [_clean(v.decode("utf-8", "replace")) for v in values if isinstance(v, bytes)]

    keywords.extend(texts(iptc.get((2, 25))))
    caption = texts(iptc.get((2, 120)))
    if caption and caption[0]:
        out.setdefault("description", caption[0])
