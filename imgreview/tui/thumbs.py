"""Thumbnails and ready-to-draw pictures, made in worker threads and kept in bounded LRU caches.

:class:`ThumbnailCache` decodes a file once at a reduced scale (``Image.draft`` for JPEG) and keeps
the thumbnail; it also notes what the keeper needs from the same open (the estimated JPEG quality)
and why a file could not be shown (missing, unreadable). On top of it, :meth:`ThumbnailCache.picture`
keeps *rendered* pictures (half-cell strips or Sixel strings, :mod:`imgreview.tui.pictures`) per
cell size, so the UI thread never decodes, scales, quantises or encodes anything.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PIL import Image, ImageOps

from imgreview.decisions.keeper import quality_from_table
from imgreview.tui.pictures import Canvas, Rendered, render

CARD_PIXELS = 480  # longest side of a card thumbnail
ZOOM_PIXELS = 1600  # longest side for the zoom, flip and difference screens

Key = tuple[str, str, int]
HOLD_LIMIT = 0.25  # seconds a render waits at most for the UI thread's repaint (see ThumbnailCache.hold)


def make_thumbnail(path: str, max_side: int, facts: dict[str, Any] | None = None) -> Image.Image:
    """Open ``path``, apply its EXIF orientation and scale it to fit ``max_side`` (RGB)."""
    with Image.open(path) as src:
        if facts is not None:
            tables = getattr(src, "quantization", None)
            if src.format == "JPEG" and tables:
                facts["quality"] = quality_from_table(tables[min(tables)])
        src.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced scale
        im: Image.Image = ImageOps.exif_transpose(src)
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            im = im.convert("RGBA")
            background = Image.new("RGBA", im.size, (128, 128, 128, 255))
            im = Image.alpha_composite(background, im)
        im = im.convert("RGB")
        im.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
        im.load()
        return im


def placeholder(text_colour: tuple[int, int, int] = (90, 90, 90)) -> Image.Image:
    """A small grey picture with a cross, for a file that cannot be read."""
    im = Image.new("RGB", (64, 48), (40, 40, 40))
    for k in range(48):
        im.putpixel((int(k * 64 / 48), k), text_colour)
        im.putpixel((63 - int(k * 64 / 48), k), text_colour)
    return im


class Skipped(Exception):
    """A queued picture nobody waits for any more (the person moved on)."""


class ThumbnailCache:
    """Bounded LRU of thumbnails keyed by (path, digest, size), and of rendered pictures, filled by a pool."""

    def __init__(self, capacity: int = 256, workers: int = 3, canvas: Canvas | None = None,
                 picture_capacity: int = 512) -> None:
        self.capacity = capacity
        self.picture_capacity = picture_capacity
        self.canvas = canvas or Canvas()
        self._items: OrderedDict[Key, Image.Image] = OrderedDict()
        self._pending: dict[Key, Future[Image.Image]] = {}
        self._pictures: OrderedDict[Hashable, Rendered] = OrderedDict()
        self._picture_pending: dict[Hashable, Future[Rendered]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="imgreview-thumb")
        self._wanted: set[Hashable] | None = None  # None: render everything asked for
        # cleared while the UI thread repaints (see hold): renders not started yet wait for it, so the
        # workers do not take the GIL from the repaint; never longer than HOLD_LIMIT
        self._ui_idle = threading.Event()
        self._ui_idle.set()
        self.errors: dict[str, str] = {}
        self.qualities: dict[str, int] = {}
        self.loads = 0  # thumbnails decoded (for the benchmark)
        self.renders = 0  # pictures rendered

    # ------------------------------------------------------------------ thumbnails
    def get(self, path: str, digest: str, size: int = CARD_PIXELS) -> Image.Image | None:
        """The cached thumbnail, or None (never loads)."""
        key = (path, digest, size)
        with self._lock:
            im = self._items.get(key)
            if im is not None:
                self._items.move_to_end(key)
            return im

    def request(self, path: str, digest: str, size: int = CARD_PIXELS) -> Future[Image.Image]:
        """A future for the thumbnail: already done when cached, else loading in a worker thread."""
        key = (path, digest, size)
        with self._lock:
            im = self._items.get(key)
            if im is not None:
                self._items.move_to_end(key)
                done: Future[Image.Image] = Future()
                done.set_result(im)
                return done
            fut = self._pending.get(key)
            if fut is None:
                fut = self._pool.submit(self._load, key)
                self._pending[key] = fut
            return fut

    def prefetch(self, items: Iterable[tuple[str, str]], size: int = CARD_PIXELS) -> None:
        for path, digest in items:
            self.request(path, digest, size)

    def _load(self, key: Key) -> Image.Image:
        path, _digest, size = key
        facts: dict[str, Any] = {}
        try:
            im = make_thumbnail(path, size, facts)
            self.errors.pop(path, None)
        except FileNotFoundError:
            self.errors[path] = "missing since the scan"
            im = placeholder()
        except Exception as exc:  # unreadable or broken file: show a placeholder and say why
            self.errors[path] = f"unreadable: {exc}" if str(exc) else f"unreadable: {type(exc).__name__}"
            im = placeholder()
        with self._lock:
            if "quality" in facts:
                self.qualities[path] = facts["quality"]
            self.loads += 1
            self._pending.pop(key, None)
            self._items[key] = im
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return im

    def thumbnail_now(self, path: str, digest: str, size: int = CARD_PIXELS) -> Image.Image:
        """The thumbnail, loaded in the calling thread when not cached (for jobs running in the pool:
        waiting there for another job of the same pool could deadlock)."""
        im = self.get(path, digest, size)
        return im if im is not None else self._load((path, digest, size))

    def submit(self, fn: Callable[[], Any]) -> Future[Any]:
        """Run ``fn`` in a worker thread (picture work that is not a rendered picture)."""
        return self._pool.submit(fn)

    # ------------------------------------------------------------------ rendered pictures
    def picture(self, key: Hashable) -> Rendered | None:
        with self._lock:
            r = self._pictures.get(key)
            if r is not None:
                self._pictures.move_to_end(key)
            return r

    def restart_wanted(self) -> None:
        """From now on only pictures asked for again are rendered: queued work for groups the person
        has already left is skipped (its future ends with :class:`Skipped`)."""
        with self._lock:
            self._wanted = set()

    def request_picture(self, key: Hashable, source: Callable[[], Image.Image], cols: int, rows: int,
                        dim: bool = False) -> Future[Rendered]:
        """A future for ``source()`` rendered for ``cols`` x ``rows`` cells (done at once when cached)."""
        with self._lock:
            if self._wanted is not None:
                self._wanted.add(key)
            r = self._pictures.get(key)
            if r is not None:
                self._pictures.move_to_end(key)
                done: Future[Rendered] = Future()
                done.set_result(r)
                return done
            fut = self._picture_pending.get(key)
            if fut is None:
                fut = self._pool.submit(self._render, key, source, cols, rows, dim)
                self._picture_pending[key] = fut
            return fut

    def member_key(self, path: str, digest: str, cols: int, rows: int, dim: bool = False,
                   size: int = CARD_PIXELS) -> Hashable:
        return ("member", path, digest, size, cols, rows, dim, self.canvas)

    def request_member(self, path: str, digest: str, cols: int, rows: int, dim: bool = False,
                       size: int = CARD_PIXELS) -> Future[Rendered]:
        key = self.member_key(path, digest, cols, rows, dim, size)

        def source() -> Image.Image:
            return self.thumbnail_now(path, digest, size)

        return self.request_picture(key, source, cols, rows, dim)

    def member_picture(self, path: str, digest: str, cols: int, rows: int, dim: bool = False,
                       size: int = CARD_PIXELS) -> Rendered | None:
        return self.picture(self.member_key(path, digest, cols, rows, dim, size))

    def hold(self) -> None:
        """The UI thread is about to repaint: renders that have not started wait until :meth:`release`
        (or HOLD_LIMIT seconds), so worker threads do not compete with the repaint for the GIL."""
        self._ui_idle.clear()

    def release(self) -> None:
        self._ui_idle.set()

    @property
    def held(self) -> bool:
        """Renders are waiting for a repaint (see :meth:`hold`)."""
        return not self._ui_idle.is_set()

    def _render(self, key: Hashable, source: Callable[[], Image.Image], cols: int, rows: int,
                dim: bool) -> Rendered:
        self._ui_idle.wait(HOLD_LIMIT)
        with self._lock:
            if self._wanted is not None and key not in self._wanted:
                self._picture_pending.pop(key, None)
                raise Skipped(key)
        try:
            image = source()
            rendered = render(image, cols, rows, self.canvas, dim=dim)
        finally:
            with self._lock:
                self._picture_pending.pop(key, None)
        with self._lock:
            self.renders += 1
            self._pictures[key] = rendered
            while len(self._pictures) > self.picture_capacity:
                self._pictures.popitem(last=False)
        return rendered

    def close(self) -> None:
        self.release()
        self._pool.shutdown(wait=False, cancel_futures=True)
