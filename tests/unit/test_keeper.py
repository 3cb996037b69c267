import pytest

from imgreview.decisions.keeper import (
    DEFAULT_PREFER,
    deciding_rule,
    highlights,
    parse_prefer,
    suggest_keeper,
)
from imgreview.model import Member


def m(path: str, w: int = 100, h: int = 100, size: int = 1000, mtime: float = 0.0, taken: str | None = None) -> Member:
    return Member(path=path, digest=path, distance=0, size=size, width=w, height=h, mtime=mtime, taken=taken)


def test_default_order_prefers_pixels_then_size_then_oldest_then_shortest() -> None:
    assert suggest_keeper([m("/a", 10, 10, 5000), m("/b", 20, 20, 100)]) == 1
    assert suggest_keeper([m("/a", size=100), m("/b", size=200)]) == 1
    assert suggest_keeper([m("/a", mtime=200), m("/b", mtime=100)]) == 1
    assert suggest_keeper([m("/long/path"), m("/x")]) == 1


def test_exif_date_wins_over_mtime() -> None:
    members = [m("/a", mtime=1.7e9), m("/b", mtime=1.8e9, taken="1990-01-01T00:00:00")]
    assert suggest_keeper(members) == 1


def test_prefer_reorders_and_completes() -> None:
    order = parse_prefer("size")
    assert order[0] == "size" and set(DEFAULT_PREFER) <= set(order)
    members = [m("/a", 10, 10, 5000), m("/b", 20, 20, 100)]
    assert suggest_keeper(members, order) == 0
    with pytest.raises(ValueError):
        parse_prefer("bogus")


def test_deciding_rule_and_highlights() -> None:
    members = [m("/a", 10, 10, 5000, mtime=5), m("/b", 20, 20, 100, mtime=5)]
    assert deciding_rule(members) == "most pixels"
    h = highlights(members)
    assert h["largest"] == {1} and h["biggest"] == {0} and h["oldest"] == set()
