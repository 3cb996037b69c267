"""Thumbnails for the cards: decoded and scaled in worker threads, kept in a bounded LRU cache.

textual-image decodes and scales its whole source on every render, so the app never hands it an
original file: it gets a small ready-made RGB picture from here. Loading never runs on the UI
thread; :meth:`ThumbnailCache.request` returns a :class:`concurrent.futures.Future`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor

from PIL import Image, ImageOps

CARD_PIXELS = 480  # longest side of a card thumbnail
ZOOM_PIXELS = 1600  # longest side for the zoom and flip screens

Key = tuple[str, str, int]


def make_thumbnail(path: str, max_side: int) -> Image.Image:
    """Open ``path``, apply its EXIF orientation and scale it to fit ``max_side`` (RGB)."""
    with Image.open(path) as src:
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
    """A small grey picture shown when a file cannot be read."""
    im = Image.new("RGB", (64, 48), (40, 40, 40))
    for k in range(48):
        im.putpixel((int(k * 64 / 48), k), text_colour)
        im.putpixel((63 - int(k * 64 / 48), k), text_colour)
    return im


class ThumbnailCache:
    """Bounded LRU of thumbnails keyed by (path, digest, size), filled by a thread pool."""

    def __init__(self, capacity: int = 256, workers: int = 3) -> None:
        self.capacity = capacity
        self._items: OrderedDict[Key, Image.Image] = OrderedDict()
        self._pending: dict[Key, Future[Image.Image]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="imgreview-thumb")
        self.errors: dict[str, str] = {}
        self.loads = 0  # thumbnails decoded (for the benchmark)

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
        try:
            im = make_thumbnail(path, size)
        except Exception as exc:  # unreadable, vanished or broken file: show a placeholder
            self.errors[path] = str(exc) or type(exc).__name__
            im = placeholder()
        with self._lock:
            self.loads += 1
            self._pending.pop(key, None)
            self._items[key] = im
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return im

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
