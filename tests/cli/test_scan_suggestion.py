"""`scan --json`: every group says which file to keep (or that there is no clear original) and why."""

from __future__ import annotations

import json
from pathlib import Path

from imgreview.cli.main import main
from tests.helpers.imagegen import resized, save, scene


def test_json_has_suggested_and_reason_per_group(tmp_path: Path) -> None:
    root = tmp_path / "data"
    for s in range(2):
        img = scene(300 + s, (320, 240))
        save(img, root / f"l{s}" / f"p{s}.png")
        save(resized(img, 0.5), root / f"l{s}" / f"p{s}_small.jpg", quality=90)
    out = tmp_path / "r.json"
    assert main(["scan", str(root), "--session", str(tmp_path / "s"), "--json", str(out), "-q", "-j", "1"]) == 0
    data = json.loads(out.read_text())
    assert len(data["groups"]) == 2
    for g in data["groups"]:
        assert g["suggested"] is not None and g["suggested"].endswith(".png")  # the full-size original
        assert isinstance(g["reason"], str) and g["reason"]
