"""Fingerprint one image file: content digest, facts, perceptual hash and a tiny signature.

Each file is read once; the bytes feed the digest and the decoder. Only as many pixels are decoded
as the hash needs: JPEGs are decoded at 1/2..1/8 scale inside the codec (``Image.draft``), other
formats are reduced right after decoding. The picture is turned upright by its EXIF orientation and
transparency is composited over a fixed grey before hashing, so two pictures that live only in the
alpha channel do not hash alike.

Besides the hash, every fingerprint carries a 16×16 greyscale and a 4×4 colour signature, used to
verify candidate pairs (see :mod:`imgreview.verify`), and a ``lowinfo`` flag for near-uniform
images (flat fills, smooth gradients) whose hashes are degenerate.
"""

from __future__ import annotations

import functools
import io
import json
import os
import stat
import warnings
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from PIL import Image, UnidentifiedImageError

from imgreview.errors import ImgreviewError
from imgreview.fs import digest_bytes
from imgreview.scan import metadata, quality
from imgreview.scan.variants import pack_routes, route_hashes
from imgreview.settings import HashSettings

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp"})
OPTIONAL_EXTENSIONS = {".heic": "heif", ".heif": "heif", ".avif": "avif"}

BACKGROUND = (128, 128, 128)  # transparency is composited over this
GRAY_SIDE = 16
COLOR_SIDE = 4
# A picture decoded in full for its hash (PNG, WebP, TIFF, ...: formats without a reduced decode) with
# at least this many pixels also gets its local features (imgreview.scan.localfeat) from that same
# decode, when the scan will verify candidates: the second stage would otherwise decode it in full
# a second time, which costs several times the features themselves (docs/benchmarks.md).
EARLY_FEATURE_PIXELS = 3_000_000
# A picture whose 16×16 thumbnail deviates from its best-fitting plane by less than this
# (standard deviation, 0..255 levels) carries too little structure for its hash to mean anything.
LOWINFO_RESIDUAL = 3.0

_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _register_optional_plugins() -> set[str]:
    """Register HEIF/AVIF openers when their Pillow plugins are installed."""
    available: set[str] = set()
    try:
        from PIL import features

        if features.check("avif"):
            available.add("avif")
    except Exception:  # pragma: no cover - older Pillow
        pass
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        available.add("heif")
        if hasattr(pillow_heif, "register_avif_opener") and "avif" not in available:
            pillow_heif.register_avif_opener()
            available.add("avif")
    except Exception:
        pass
    try:
        import pillow_avif  # noqa: F401

        available.add("avif")
    except Exception:
        pass
    return available


_OPTIONAL = _register_optional_plugins()


def image_extensions() -> frozenset[str]:
    """Extensions scanned: the common formats, plus HEIC/AVIF when a plugin can open them."""
    extra = {ext for ext, plugin in OPTIONAL_EXTENSIONS.items() if plugin in _OPTIONAL}
    return IMAGE_EXTENSIONS | extra


@dataclass(slots=True)
class Fingerprint:
    path: str
    size: int
    mtime_ns: int
    digest: str
    width: int
    height: int
    format: str
    mode: str
    taken: str | None
    camera: str | None
    hash: bytes  # packed bits, big-endian, padded to whole 64-bit words
    lowinfo: bool
    gray: bytes  # 16×16 greyscale signature
    color: bytes  # 4×4 RGB signature
    routes: bytes = b""  # query hashes of the hard edits (see imgreview.scan.variants), pHash only
    quality: bytes = b""  # quality statistics + features (imgreview.scan.quality.encode)
    meta: str | None = None  # JSON: GPS, description, comment, keywords (imgreview.scan.metadata)
    # Local features computed from the hash's own full decode (see EARLY_FEATURE_PIXELS), as
    # localfeat.Features.to_bytes(mirror=False); handed to the feature cache, not kept with the fingerprint.
    features: bytes = b""


@dataclass(slots=True)
class Failure:
    path: str
    size: int
    mtime_ns: int
    error: str


class ImageRejected(ImgreviewError):
    """The file is not an image we can fingerprint; the message says why, for a person."""


def fingerprint_file(path: str, settings: HashSettings) -> Fingerprint | Failure:
    """Fingerprint the file at ``path``. Never raises for bad input: returns a :class:`Failure`."""
    size = mtime_ns = 0
    try:
        # O_NONBLOCK: a FIFO swapped in after the walk must not hang the scan (no effect on files).
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            st = os.fstat(fd)
            size, mtime_ns = st.st_size, st.st_mtime_ns
            if stat.S_ISDIR(st.st_mode):
                return Failure(path, size, mtime_ns, "is a directory")
            if not stat.S_ISREG(st.st_mode):
                return Failure(path, size, mtime_ns, "not a regular file")
            with open(fd, "rb", closefd=False) as fh:
                data = fh.read()
        finally:
            os.close(fd)
    except FileNotFoundError:
        return Failure(path, size, mtime_ns, "vanished before it could be read")
    except PermissionError:
        return Failure(path, size, mtime_ns, "permission denied")
    except IsADirectoryError:
        return Failure(path, size, mtime_ns, "is a directory")
    except OSError as exc:
        return Failure(path, size, mtime_ns, f"cannot read: {exc.strerror or exc}")
    try:
        return fingerprint_bytes(path, data, size, mtime_ns, settings)
    except ImageRejected as exc:
        return Failure(path, size, mtime_ns, str(exc))
    except Exception as exc:  # a decoder bug must not abort a scan
        return Failure(path, size, mtime_ns, f"cannot decode: {type(exc).__name__}: {exc}")


def fingerprint_bytes(path: str, data: bytes, size: int, mtime_ns: int, settings: HashSettings) -> Fingerprint:
    """The fingerprint of a file's bytes (with ``settings.with_features``: and the local features of
    a large full decode, see :data:`EARLY_FEATURE_PIXELS`)."""
    if not data:
        raise ImageRejected("empty file (0 bytes)")
    digest = digest_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # we enforce our own pixel limit, with a clearer message
        try:
            img = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            raise ImageRejected("not an image (format not recognised)") from None
        except Image.DecompressionBombError as exc:
            raise ImageRejected(f"too many pixels (decompression-bomb guard): {exc}") from None
        except OSError as exc:
            raise ImageRejected(f"corrupt image header: {exc}") from None
        fmt = img.format or ""
        width, height = img.size
        if width <= 0 or height <= 0:
            raise ImageRejected(f"invalid dimensions {width}×{height}")
        if width * height > settings.max_pixels:
            raise ImageRejected(
                f"too large: {width}×{height} = {width * height / 1e6:.0f} MP exceeds the limit of "
                f"{settings.max_pixels / 1e6:.0f} MP (decompression-bomb guard; raise it with --max-pixels)"
            )
        mode = img.mode
        metadata.adopt_png_trailing_chunks(img)
        orientation, taken, camera = _exif_facts(img)
        meta = _metadata(img)
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        try:
            decoded = _decode_pixels(img, settings, data)
            small = _reduce_for_hash(decoded, settings)
        except OSError as exc:
            raise ImageRejected(f"truncated or corrupt image data: {exc}") from None
        except (ValueError, SyntaxError) as exc:
            raise ImageRejected(f"corrupt image data: {exc}") from None
        early = b""
        if settings.with_features and fmt != "JPEG" and decoded.width * decoded.height >= EARLY_FEATURE_PIXELS:
            early = _early_features(decoded, orientation)
        del decoded
    transpose = _ORIENTATION.get(orientation)
    if transpose is not None:
        small = small.transpose(transpose)
    rgb = _to_rgb(small)
    stats, stats_features = quality.measure(rgb, width, height)  # the same thumbnail: no second decode
    routes = b""
    if settings.algorithm == "phash":
        hash_bits, queries = route_hashes(rgb, settings.hash_size)
        routes = pack_routes(queries, len(pack_bits(hash_bits)))
    else:
        hash_bits = _perceptual_hash(rgb, settings)
    gray_img = rgb.convert("L").resize((GRAY_SIDE, GRAY_SIDE), Image.Resampling.BOX)
    gray = np.asarray(gray_img, dtype=np.uint8)
    color = np.asarray(rgb.resize((COLOR_SIDE, COLOR_SIDE), Image.Resampling.BOX), dtype=np.uint8)
    return Fingerprint(
        path=path,
        size=size,
        mtime_ns=mtime_ns,
        digest=digest,
        width=width,
        height=height,
        format=fmt,
        mode=mode,
        taken=taken,
        camera=camera,
        hash=pack_bits(hash_bits),
        lowinfo=is_low_information(gray, hash_bits),
        gray=gray.tobytes(),
        color=color.tobytes(),
        routes=routes,
        quality=quality.encode(stats, stats_features),
        meta=meta,
        features=early,
    )


def _metadata(img: Image.Image) -> str | None:
    """GPS, caption and keywords as compact JSON, or None when the file carries none."""
    found = metadata.extract(img)
    return json.dumps(found, ensure_ascii=True, separators=(",", ":")) if found else None


def decode_upright(path: str, side: int) -> Image.Image | None:
    """The picture at ``path`` turned upright, in RGB, decoded at about ``side`` pixels (at least)."""
    with Image.open(path) as img:
        metadata.adopt_png_trailing_chunks(img)
        orientation = _exif_facts(img)[0]
        if img.format == "JPEG":
            img.draft("RGB", (side, side))
        out: Image.Image = _decode_webp(img, None) or _loaded(img)
        return _upright_view(out, orientation, side)


def _upright_view(out: Image.Image, orientation: int, side: int) -> Image.Image:
    """A decoded picture reduced to about ``side`` pixels (at least), turned upright, in RGB."""
    longest = max(out.size)
    if longest > 2 * side:
        if out.mode in ("P", "PA", "1", "I;16", "I;16B", "I;16L", "I;16N"):
            out = out.convert("RGBA" if _has_alpha(out) else _wide_mode(out))
        out = out.reduce(longest // side)
    transpose = _ORIENTATION.get(orientation)
    if transpose is not None:
        out = out.transpose(transpose)
    return _to_rgb(out)


def _early_features(decoded: Image.Image, orientation: int) -> bytes:
    """The local features of a fully decoded picture, as :func:`localfeat.features_of_file` computes
    them from its own decode (the same pixels: ``decode_upright`` decodes a non-JPEG in full too);
    empty if they cannot be computed (the second stage then tries again from the file)."""
    from imgreview.scan.localfeat import FEATURE_SIDE, compute_features

    try:
        return compute_features(_upright_view(decoded, orientation, FEATURE_SIDE), mirrored=False).to_bytes(mirror=False)
    except Exception:
        return b""


def _exif_facts(img: Image.Image) -> tuple[int, str | None, str | None]:
    """EXIF orientation, capture date (ISO 8601) and camera; corrupt EXIF yields nothing, never an error."""
    exif = metadata.read_exif(img)  # never decodes pixels (a PNG's trailing chunks: adopt_png_trailing_chunks)
    if exif is None:
        return 1, None, None
    orientation = 1
    taken = camera = None
    try:
        value = exif.get(0x0112)
        if isinstance(value, int) and 1 <= value <= 8:
            orientation = value
    except Exception:
        pass
    try:
        raw = None
        try:
            raw = exif.get_ifd(0x8769).get(0x9003)  # DateTimeOriginal
        except Exception:
            pass
        raw = raw or exif.get(0x0132)  # DateTime
        if isinstance(raw, bytes):
            raw = raw.decode("ascii", "replace")
        if isinstance(raw, str):
            taken = datetime.strptime(raw.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S").isoformat()
    except Exception:
        taken = None
    try:
        make = exif.get(0x010F)
        model = exif.get(0x0110)
        parts = [str(p).strip("\x00 ") for p in (make, model) if isinstance(p, str | bytes) and str(p).strip("\x00 ")]
        if len(parts) == 2 and parts[1].lower().startswith(parts[0].lower()):
            parts = parts[1:]
        camera = " ".join(parts) or None
    except Exception:
        camera = None
    return orientation, taken, camera


def _loaded(img: Image.Image) -> Image.Image:
    img.load()
    return img


def _decode_webp(img: Image.Image, data: bytes | None) -> Image.Image | None:
    """A still WebP decoded by OpenCV's libwebp, or None to let Pillow decode it.

    Pillow decodes every WebP through libwebp's animation API (a full RGBA canvas, then two
    copies); OpenCV decodes a still picture straight into its buffer: the same pixels (same
    libwebp output, checked by tests/unit/test_decode_speed.py), ~1.6× less CPU on 16 MP files.
    Animated files, and anything OpenCV does not return in Pillow's mode, go to Pillow.
    """
    if img.format != "WEBP" or getattr(img, "n_frames", 1) != 1 or img.mode not in ("RGB", "RGBA"):
        return None
    try:
        import cv2  # deferred: only WebP files pay for the import

        if data is None:
            fp = getattr(img, "fp", None)  # Pillow has read the whole file already; it stays open
            if fp is None:
                return None
            fp.seek(0)
            data = fp.read()
        arr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except Exception:
        return None
    channels = 4 if img.mode == "RGBA" else 3
    if arr is None or arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != channels \
            or arr.shape[:2] != (img.height, img.width):
        return None
    raw = "BGRA" if channels == 4 else "BGR"
    return Image.frombuffer(img.mode, img.size, np.ascontiguousarray(arr), "raw", raw, 0, 1)


def _decode_small(img: Image.Image, settings: HashSettings, data: bytes | None = None) -> Image.Image:
    """Decode the first frame with no more pixels than hashing needs (``data``: the file's bytes, if at hand)."""
    return _reduce_for_hash(_decode_pixels(img, settings, data), settings)


def _hash_target(settings: HashSettings) -> int:
    return max(64, settings.hash_size * 8)


def _decode_pixels(img: Image.Image, settings: HashSettings, data: bytes | None = None) -> Image.Image:
    """The first frame decoded: JPEGs reduced inside the codec to what hashing needs, the rest in full."""
    if img.format == "JPEG":
        target = _hash_target(settings)
        img.draft("RGB", (target, target))  # DCT-domain downscale by up to 8×
    return _decode_webp(img, data) or _loaded(img)


def _reduce_for_hash(img: Image.Image, settings: HashSettings) -> Image.Image:
    """A decoded picture brought near the size hashing needs (box-reduced by a whole factor)."""
    target = _hash_target(settings)
    longest = max(img.size)
    if longest > 4 * target:
        factor = longest // (2 * target)
        if img.mode in ("P", "PA", "1", "I;16", "I;16B", "I;16L", "I;16N"):
            img = img.convert("RGBA" if _has_alpha(img) else _wide_mode(img))
        img = img.reduce(factor)
    return img


def _wide_mode(img: Image.Image) -> str:
    return "I" if img.mode.startswith("I;16") else "RGB" if img.mode != "1" else "L"


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any mode to 8-bit RGB, transparency composited over a fixed grey."""
    if img.mode.startswith("I;16") or img.mode in ("I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        if img.mode.startswith("I;16"):
            arr = arr / 257.0
        else:
            lo, hi = float(arr.min()), float(arr.max())
            arr = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
        return Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8), "L").convert("RGB")
    if _has_alpha(img):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode != "RGB":
        return img.convert("RGB")
    return img


def _perceptual_hash(rgb: Image.Image, settings: HashSettings) -> np.ndarray:
    import imagehash  # deferred: the default pHash is computed here (variants.route_hashes)

    size = settings.hash_size
    algorithm = settings.algorithm
    if algorithm == "phash":
        h = imagehash.phash(rgb, hash_size=size)
    elif algorithm == "dhash":
        h = imagehash.dhash(rgb, hash_size=size)
    elif algorithm == "ahash":
        h = imagehash.average_hash(rgb, hash_size=size)
    elif algorithm == "whash":
        h = imagehash.whash(rgb, hash_size=size, image_scale=size * 8)
    elif algorithm == "colorhash":
        h = imagehash.colorhash(rgb, binbits=size // 2)
    else:  # pragma: no cover - HashSettings validates
        raise ValueError(algorithm)
    return np.asarray(h.hash, dtype=bool).ravel()


def pack_bits(bits: np.ndarray) -> bytes:
    """Pack booleans big-endian into bytes, zero-padded to a whole number of 64-bit words."""
    packed = np.packbits(bits.astype(np.uint8))
    pad = (-len(packed)) % 8
    return packed.tobytes() + b"\0" * pad


def is_low_information(gray: np.ndarray, bits: np.ndarray) -> bool:
    """True for flat fills, empty layers and smooth gradients: their hash carries no identity.

    Measured as the residual of the 16×16 thumbnail after removing its best-fitting plane, or a
    hash whose bits are nearly all equal.
    """
    ones = int(bits.sum())
    if min(ones, len(bits) - ones) <= max(1, len(bits) // 32):
        return True
    g = gray.astype(np.float64).ravel()
    design, solve = _plane_fit(gray.shape[0])
    residual = g - design @ (solve @ g)  # least-squares plane, solver precomputed once per side
    return float(residual.std()) < LOWINFO_RESIDUAL


@functools.lru_cache(maxsize=4)
def _plane_fit(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Design matrix of a plane over an n×n grid and its pseudo-inverse (the least-squares solver)."""
    yy, xx = np.mgrid[0:n, 0:n]
    design = np.column_stack([np.ones(n * n), xx.ravel(), yy.ravel()])
    return design, np.linalg.pinv(design)
