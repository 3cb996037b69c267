"""Kitty's graphics protocol with direct placements: pictures sent once, placed by position.

kitty keeps every picture it was sent (``a=t``, by image id) and draws a *placement* of it
(``a=p``) over the text at the cursor until the placement is deleted (``a=d``). That suits a
screen that changes a few pictures at a time: a group change places the new pictures and deletes
the old placements; a focus change, a decision badge or a toast rewrites text cells only, and the
pictures stay where they are. Unicode placeholders (what textual-image's Kitty renderer uses)
need kitty 0.28; direct placements work in every kitty from 0.20 (0.26.5 is Debian 12's).

:class:`KittyLayer` remembers what the terminal holds (which pictures were sent, which are placed
where) and turns the pictures a widget wants on screen into the commands that get the terminal
there: nothing when nothing changed. Commands save and restore the cursor (``ESC 7``/``ESC 8``)
and ask for no replies (``q=2``), so they can ride in any line Textual writes.
"""

from __future__ import annotations

import base64
import zlib
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

from PIL import Image

CHUNK = 4096  # the protocol's maximum payload per escape sequence
MAX_IMAGES = 64  # pictures kept in the terminal; older ones are deleted with their data


def payload(image: Image.Image) -> str:
    """The picture as the protocol's base64 payload: raw RGB (``f=24``), zlib-compressed (``o=z``)."""
    rgb = image.convert("RGB")
    return base64.standard_b64encode(zlib.compress(rgb.tobytes(), 6)).decode("ascii")


def transmit(image_id: int, data: str, size: tuple[int, int]) -> str:
    """Send picture ``image_id`` (kept by the terminal, not drawn): chunks of at most 4096 bytes."""
    w, h = size
    chunks = [data[k:k + CHUNK] for k in range(0, len(data), CHUNK)] or [""]
    out = []
    for k, chunk in enumerate(chunks):
        more = 1 if k < len(chunks) - 1 else 0
        if k == 0:
            out.append(f"\x1b_Ga=t,f=24,o=z,s={w},v={h},i={image_id},q=2,m={more};{chunk}\x1b\\")
        else:
            out.append(f"\x1b_Gm={more};{chunk}\x1b\\")
    return "".join(out)


def place(image_id: int, x: int, y: int) -> str:
    """Draw picture ``image_id`` with its top-left at screen cell (x, y); the cursor stays where it was.

    Over the text (z=0, the default): kitty 0.26.5 drew pictures placed under the text (z=-1) with
    the screen tinted red and old text showing through (seen under Xvfb), so a notification that
    appears over a picture is hidden by it until the picture changes."""
    return f"\x1b7\x1b[{y + 1};{x + 1}H\x1b_Ga=p,i={image_id},p=1,C=1,q=2\x1b\\\x1b8"


def unplace(image_id: int) -> str:
    """Remove the placement of ``image_id`` from the screen (the terminal keeps the picture)."""
    return f"\x1b_Ga=d,d=i,i={image_id},p=1,q=2\x1b\\"


def forget(image_id: int) -> str:
    """Delete picture ``image_id`` and its data from the terminal."""
    return f"\x1b_Ga=d,d=I,i={image_id},q=2\x1b\\"


@dataclass(frozen=True, slots=True)
class Wanted:
    """A picture a widget wants on screen: ``key`` names its content, ``data`` is its payload."""

    key: Hashable
    data: str
    size: tuple[int, int]  # pixels
    x: int  # screen cell of its top-left corner
    y: int


class KittyLayer:
    """What the terminal holds, and the commands that change it (one layer per app)."""

    def __init__(self, max_images: int = MAX_IMAGES, first_id: int = 0x1A7E00) -> None:
        self.max_images = max_images
        self._next_id = first_id
        self._images: OrderedDict[Hashable, int] = OrderedDict()  # content key -> image id
        self._placed: dict[Hashable, dict[Hashable, tuple[int, int, int]]] = {}  # owner -> slot -> (id, x, y)
        self.sent = 0  # pictures transmitted (tests, benchmark)

    def _image_id(self, want: Wanted, out: list[str], in_use: set[int]) -> int:
        image_id = self._images.get(want.key)
        if image_id is not None:
            self._images.move_to_end(want.key)
            return image_id
        image_id = self._next_id
        self._next_id += 1
        out.append(transmit(image_id, want.data, want.size))
        self.sent += 1
        self._images[want.key] = image_id
        if len(self._images) > self.max_images:  # the oldest pictures not on screen go
            spare = [k for k, i in self._images.items() if i not in in_use and i != image_id]
            for key in spare[:len(self._images) - self.max_images]:
                out.append(forget(self._images.pop(key)))
        return image_id

    def update(self, owner: Hashable, wanted: Mapping[Hashable, Wanted]) -> str:
        """Commands that make ``owner``'s placements exactly ``wanted`` (slot -> picture)."""
        out: list[str] = []
        placed = self._placed.setdefault(owner, {})
        in_use = {pid for slots in self._placed.values() for pid, _, _ in slots.values()}
        new: dict[Hashable, tuple[int, int, int]] = {}
        for slot, want in wanted.items():
            image_id = self._image_id(want, out, in_use)
            in_use.add(image_id)
            new[slot] = (image_id, want.x, want.y)
        shown = {image_id for image_id, _, _ in new.values()}
        for image_id in sorted({i for i, _, _ in placed.values()} - shown):
            out.append(unplace(image_id))
        for slot, (image_id, x, y) in new.items():
            if placed.get(slot) != (image_id, x, y):
                out.append(place(image_id, x, y))  # a placement of the same id moves, it is not added
        self._placed[owner] = new
        return "".join(out)

    def hide(self, owner: Hashable) -> str:
        """Commands that take every placement of ``owner`` off the screen (its screen was covered)."""
        placed = self._placed.pop(owner, {})
        return "".join(unplace(image_id) for image_id in {i for i, _, _ in placed.values()})

    def hide_all(self) -> str:
        return "".join(self.hide(owner) for owner in list(self._placed))

    def close(self) -> str:
        """Commands that take everything off the screen and delete every picture sent (at exit)."""
        out = self.hide_all() + "".join(forget(image_id) for image_id in self._images.values())
        self._images.clear()
        return out

    def placed(self, owner: Hashable) -> dict[Hashable, tuple[int, int, int]]:
        return dict(self._placed.get(owner, {}))


def layer_of(app: object) -> KittyLayer:
    """The app's layer (made on first use: one per app, shared by every screen's pictures)."""
    layer = getattr(app, "_imgreview_kitty", None)
    if layer is None:
        layer = KittyLayer()
        app._imgreview_kitty = layer  # type: ignore[attr-defined]
    return layer


def write(app: object, text: str) -> None:
    """Send commands to the terminal now, outside a screen update (a covered screen's pictures must
    go before the next screen is drawn). Nothing happens headless (tests, screenshots)."""
    driver = getattr(app, "_driver", None)
    if text and driver is not None and not getattr(app, "is_headless", True):
        driver.write(text)
