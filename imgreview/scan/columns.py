"""Read-only sequences over packed numpy columns: what the search and grouping index by content
without a Python object per content (a scan of millions of files keeps its contents packed)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

import numpy as np

_BLOCK = 65536


class DigestColumn(Sequence[str]):
    """Content digests (ASCII hex) in a fixed-width bytes array, sorted: item ``i`` is decoded when read."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values

    def __len__(self) -> int:
        return len(self.values)

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [bytes(v).decode("ascii") for v in self.values[i].tolist()]
        return bytes(self.values[i]).decode("ascii")

    def __iter__(self) -> Iterator[str]:
        for start in range(0, len(self.values), _BLOCK):
            yield from (v.decode("ascii") for v in self.values[start:start + _BLOCK].tolist())

    def index_of(self, digest: str) -> int | None:
        """The position of ``digest`` (the values are sorted), None when absent."""
        try:
            key = digest.encode("ascii")
        except UnicodeEncodeError:
            return None
        at = int(np.searchsorted(self.values, key))
        return at if at < len(self.values) and self.values[at] == key else None


class BytesColumn(Sequence[bytes]):
    """Rows of a ``(n, width)`` uint8 array as bytes (packed hashes): row ``i`` is copied out when read."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values

    def __len__(self) -> int:
        return len(self.values)

    @overload
    def __getitem__(self, i: int) -> bytes: ...

    @overload
    def __getitem__(self, i: slice) -> list[bytes]: ...

    def __getitem__(self, i: int | slice) -> bytes | list[bytes]:
        if isinstance(i, slice):
            return [row.tobytes() for row in self.values[i]]
        return bytes(self.values[i].tobytes())

    def __iter__(self) -> Iterator[bytes]:
        for row in self.values:
            yield row.tobytes()
