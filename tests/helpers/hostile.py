"""A corpus of hostile files and the helpers the safety tests use to inject faults.

Everything is generated here, in a folder the test gives; nothing is downloaded.

:func:`make_corpus` writes bad files, odd-but-valid images, awkward names and links, and returns
what each one must turn into after a scan (:class:`Expect`). :func:`make_unreadable` adds the
files and folders a scan may not read (these need a process without root's permission override:
see :func:`unprivileged`). :func:`tree_state` hashes a tree so a test can assert nothing changed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import io
import os
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tests.helpers.imagegen import resized, save, scene

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable

# EXIF orientation -> how a camera stores an upright picture so that viewers, applying the tag,
# show it upright again (the inverse of the transform the tag asks for).
STORED_FOR_ORIENTATION: dict[int, Image.Transpose | None] = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,  # tag 6 asks for a 270° (clockwise 90°) turn
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}

NON_UTF8_NAME = b"caf\xe9 \xff.png"  # Latin-1 bytes: not valid UTF-8
NON_UTF8_REL = b"names/" + NON_UTF8_NAME


@dataclass(slots=True)
class Expect:
    """What a scan must make of one corpus entry."""

    path: str  # absolute, as the scan reports it (os.fsdecode form for bytes names)
    kind: str  # "image": fingerprinted; "error": listed in errors; "absent": neither (skipped)
    reason: tuple[str, ...] = ()  # for errors: one of these must appear in the message
    mode: str | None = None  # for images: the decoded mode
    size: tuple[int, int] | None = None  # for images: upright width × height


@dataclass(slots=True)
class Corpus:
    root: Path
    outside: Path  # a folder next to the root, target of a link
    expect: dict[str, Expect]
    orientations: list[str]  # the 8 EXIF orientation files: must form one group
    name_pairs: list[tuple[str, str]]  # awkward names that are duplicates of each other
    odd_pairs: list[tuple[str, str]]  # odd-but-valid image, plain copy of the same picture

    def images(self) -> dict[str, Expect]:
        return {p: e for p, e in self.expect.items() if e.kind == "image"}

    def errors(self) -> dict[str, Expect]:
        return {p: e for p, e in self.expect.items() if e.kind == "error"}


def _encode(img: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width: int = 60000, height: int = 60000) -> bytes:
    """A valid PNG signature and IHDR (correct CRC) claiming a huge picture, with a tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def corrupt_exif_jpeg(img: Image.Image) -> bytes:
    """A JPEG whose APP1 EXIF block is nonsense: a TIFF header pointing far past its end, junk IFD."""
    good = _encode(img, "JPEG", quality=90)
    junk = b"Exif\x00\x00" + b"MM\x00\x2a" + b"\x7f\xff\xff\xf0" + b"\x00\x05\x01\x12\x00\x03" + bytes(range(40))
    app1 = b"\xff\xe1" + struct.pack(">H", len(junk) + 2) + junk
    return good[:2] + app1 + good[2:]  # right after SOI


def orientation_jpeg(upright: Image.Image, orientation: int) -> bytes:
    transform = STORED_FOR_ORIENTATION[orientation]
    stored = upright if transform is None else upright.transpose(transform)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _encode(stored, "JPEG", quality=95, exif=exif.tobytes())


def make_corpus(base: Path) -> Corpus:
    """Write the corpus under ``base/root`` (plus ``base/outside``); return what to expect."""
    root = base / "root"
    outside = base / "outside"
    root.mkdir(parents=True)
    outside.mkdir(parents=True)
    expect: dict[str, Expect] = {}

    def put(rel: str | bytes, data: bytes) -> str:
        path = os.path.join(os.fsencode(root), rel) if isinstance(rel, bytes) else os.fsencode(root / rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)
        return os.fsdecode(path)

    def image(rel: str | bytes, data: bytes, mode: str | None = None, size: tuple[int, int] | None = None) -> str:
        p = put(rel, data)
        expect[p] = Expect(p, "image", mode=mode, size=size)
        return p

    def error(rel: str | bytes, data: bytes, *reason: str) -> str:
        p = put(rel, data)
        expect[p] = Expect(p, "error", reason=reason)
        return p

    rng = np.random.default_rng(7)
    # --- bad files
    error("bad/random.jpg", rng.integers(0, 256, 5000, dtype=np.uint8).tobytes(), "not an image")
    jpeg = _encode(scene(101, (400, 300)), "JPEG", quality=90)
    error("bad/cut.jpg", jpeg[: len(jpeg) // 2], "truncated", "corrupt")
    png = _encode(scene(102, (400, 300)), "PNG")
    error("bad/cut.png", png[: len(png) // 2], "truncated", "corrupt")
    error("bad/empty.png", b"", "empty")
    error("bad/bomb.png", bomb_png(), "decompression-bomb")
    error("bad/text.gif", b"GIF89a but really just text\n" * 10, "not an image", "corrupt", "truncated")

    # --- odd but valid images
    image("odd/one.png", _encode(Image.new("RGB", (1, 1), (200, 10, 10)), "PNG"), "RGB", (1, 1))
    image("odd/cmyk.jpg", _encode(scene(103).convert("CMYK"), "JPEG", quality=90), "CMYK", (320, 240))
    grey16 = Image.fromarray((np.asarray(scene(104).convert("L"), dtype=np.uint16) * 257).astype(np.uint16))
    assert grey16.mode == "I;16"
    image("odd/grey16.png", _encode(grey16, "PNG"), "I;16", (320, 240))
    pal = scene(105).convert("P")
    image("odd/palette.png", _encode(pal, "PNG", transparency=0), "P", (320, 240))
    frames = [scene(106).convert("P"), scene(107).convert("P"), scene(108).convert("P")]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    image("odd/anim.gif", gif.getvalue(), "P", (320, 240))
    webp = io.BytesIO()
    rgb_frames = [scene(109), scene(110)]
    rgb_frames[0].save(webp, "WEBP", save_all=True, append_images=rgb_frames[1:], duration=80, quality=80)
    image("odd/anim.webp", webp.getvalue(), None, (320, 240))
    image("odd/bad_exif.jpg", corrupt_exif_jpeg(scene(111)), "RGB", (320, 240))
    # A plain copy of each odd picture: the odd one must group with it (decoded, not just opened).
    odd_pairs = []
    for name, seed in (("cmyk.jpg", 103), ("grey16.png", 104), ("palette.png", 105), ("anim.gif", 106),
                       ("anim.webp", 109), ("bad_exif.jpg", 111)):
        ref = image(f"odd/ref_{name}.png", _encode(scene(seed), "PNG"), "RGB", (320, 240))
        odd_pairs.append((str(root / "odd" / name), ref))

    # --- EXIF orientations 1..8 of one upright picture (not square, so a missed turn shows)
    upright = scene(120, (320, 200))
    orientations = [image(f"orient/o{k}.jpg", orientation_jpeg(upright, k), "RGB", (320, 200)) for k in range(1, 9)]

    # --- awkward names; pairs of them are duplicates of each other, so they reach groups
    pic = _encode(scene(130), "PNG")
    pic_small = _encode(resized(scene(130), 0.5), "PNG")
    pic2 = _encode(scene(131), "JPEG", quality=90)
    names = [
        image(NON_UTF8_REL, pic, "RGB"),
        image("names/new\nline.png", pic_small, "RGB"),
        image("names/with space 'single' \"double\".jpg", pic2, "RGB"),
        image("names/-starts-with-dash.jpg", pic2, "RGB"),
        image("names/$(touch pwned) `x`;.png", _encode(resized(scene(130), 0.75), "PNG"), "RGB"),
    ]
    name_pairs = [(names[0], names[1]), (names[2], names[3])]

    # --- links
    save(scene(140), outside / "outside.jpg", quality=90)
    (root / "links").mkdir()
    os.symlink(outside / "outside.jpg", root / "links" / "to_outside.jpg")
    os.symlink("self.jpg", root / "links" / "self.jpg")  # a link to itself (ELOOP)
    (root / "links" / "loop").mkdir()
    os.symlink("..", root / "links" / "loop" / "up")  # a folder link back up the tree
    os.symlink("nowhere.jpg", root / "links" / "dangling.jpg")
    for rel in ("links/to_outside.jpg", "links/self.jpg", "links/loop/up", "links/dangling.jpg"):
        expect[str(root / rel)] = Expect(str(root / rel), "absent")

    # --- ordinary pictures so the tree is not all trouble
    for k in range(3):
        image(f"ok/p{k}.jpg", _encode(scene(150 + k), "JPEG", quality=90), "RGB", (320, 240))
    return Corpus(root, outside, expect, orientations, name_pairs, odd_pairs)


def make_unreadable(root: Path) -> dict[str, Expect]:
    """A file and a folder nobody but root may read (mode 000), and readable ones around them."""
    root.mkdir(parents=True, exist_ok=True)
    f = save(scene(160), root / "locked.jpg", quality=90)
    d = root / "locked_dir"
    save(scene(161), d / "inside.jpg", quality=90)
    save(scene(162), root / "open.jpg", quality=90)
    os.chmod(f, 0)
    os.chmod(d, 0)
    return {
        str(f): Expect(str(f), "error", ("permission denied", "Permission denied")),
        str(d): Expect(str(d), "error", ("Permission denied", "permission denied")),
        str(root / "open.jpg"): Expect(str(root / "open.jpg"), "image"),
    }


def tree_state(root: Path | str) -> dict[bytes, tuple[int, str]]:
    """Every entry under ``root`` (without following links): mode and content hash / link target.

    Unreadable entries are recorded by mode alone. Compare before and after to prove nothing
    was modified, moved or deleted.
    """
    out: dict[bytes, tuple[int, str]] = {}
    base = os.fsencode(root)
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[p] = (st.st_mode, "-> " + os.fsdecode(os.readlink(p)))
            elif stat.S_ISREG(st.st_mode):
                try:
                    with open(p, "rb") as fh:
                        out[p] = (st.st_mode, hashlib.sha256(fh.read()).hexdigest())
                except PermissionError:
                    out[p] = (st.st_mode, f"unreadable {st.st_size} {st.st_mtime_ns}")
            else:
                out[p] = (st.st_mode, "")
    return out


# ---------------------------------------------------------------- running without privileges
_CAP_DAC_OVERRIDE = 1
_CAP_DAC_READ_SEARCH = 2
_PR_CAPBSET_DROP = 24


def _drop_dac_caps() -> None:
    """In a child before exec: remove root's permission override from the bounding set.

    After exec, uid 0 gets only the bounding set's capabilities, so it obeys file modes like any
    user while still reaching the interpreter under /root.
    """
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def unprivileged() -> Callable[[], None] | None:
    """A ``preexec_fn`` making a subprocess obey permission bits, or None when it already does."""
    return _drop_dac_caps if os.geteuid() == 0 else None


_probe_result: str | None = None


def permissions_enforceable() -> str:
    """'' when :func:`unprivileged` subprocesses are refused mode-000 files, else the reason why not."""
    global _probe_result
    if _probe_result is not None:
        return _probe_result
    tmp = Path(tempfile.mkdtemp(prefix="imgreview-perm-"))
    try:
        secret = tmp / "secret"
        secret.write_bytes(b"x")
        os.chmod(secret, 0)
        try:
            r = subprocess.run([PYTHON, "-c", f"open({str(secret)!r}, 'rb')"], preexec_fn=unprivileged(),
                               capture_output=True, text=True, timeout=60)
        except OSError as exc:
            _probe_result = f"cannot drop root's permission override: {exc}"
        else:
            _probe_result = "" if "PermissionError" in r.stderr else \
                "this process ignores permission bits even without CAP_DAC_OVERRIDE"
    finally:
        os.chmod(tmp / "secret", 0o600)
        shutil.rmtree(tmp)
    return _probe_result


def env() -> dict[str, str]:
    """Environment for CLI subprocesses: the checkout importable, no session from outside."""
    e = {k: v for k, v in os.environ.items() if k != "IMGREVIEW_SESSION"}
    e["PYTHONPATH"] = str(REPO) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    e["COLUMNS"] = "200"
    return e


def cli(*args: str | os.PathLike[str], timeout: float = 240, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run ``python -m imgreview ARGS`` and capture its output."""
    return subprocess.run([PYTHON, "-m", "imgreview", *map(os.fspath, args)], capture_output=True, text=True,
                          errors="surrogateescape", env=env(), timeout=timeout, **kwargs)  # type: ignore[call-overload]
