from __future__ import annotations

import os
from pathlib import Path

from imgreview.scan.walk import QUARANTINE_MARKER, WalkOptions, resolve_roots, walk
from tests.helpers.imagegen import save, scene


def tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    save(scene(1), root / "b" / "one.jpg")
    save(scene(2), root / "a" / "two.PNG")
    save(scene(3), root / ".hidden" / "three.png")
    save(scene(4), root / ".dot.png")
    save(scene(5), root / "a" / "skip_me.png")
    (root / "notes.txt").write_text("not an image")
    return root


def rel(result, root: Path) -> list[str]:  # type: ignore[no-untyped-def]
    return [os.path.relpath(f.path, root) for f in result.files]


def test_recursive_sorted_and_extension_filter(tmp_path: Path) -> None:
    root = tree(tmp_path)
    r = walk([str(root)])
    assert rel(r, root) == ["a/skip_me.png", "a/two.PNG", "b/one.jpg"]


def test_hidden_and_excludes(tmp_path: Path) -> None:
    root = tree(tmp_path)
    assert ".hidden/three.png" in rel(walk([str(root)], WalkOptions(hidden=True)), root)
    assert ".dot.png" in rel(walk([str(root)], WalkOptions(hidden=True)), root)
    r = walk([str(root)], WalkOptions(excludes=("skip_*", "b")))
    assert rel(r, root) == ["a/two.PNG"]


def test_session_and_quarantine_folders_are_never_entered(tmp_path: Path) -> None:
    root = tree(tmp_path)
    save(scene(6), root / "sess" / "x.png")
    save(scene(7), root / "quarantine" / "y.png")
    (root / "quarantine" / QUARANTINE_MARKER).write_text("")
    r = walk([str(root)], WalkOptions(hidden=True, skip_dirs=(str(root / "sess"),)))
    names = rel(r, root)
    assert not any(n.startswith(("sess", "quarantine")) for n in names)


def test_symlinks_not_followed_by_default_and_aliases_when_followed(tmp_path: Path) -> None:
    root = tree(tmp_path)
    os.symlink(root / "b" / "one.jpg", root / "link.jpg")
    os.symlink(root / "a", root / "linkdir")
    os.symlink(root, root / "b" / "loop")  # a loop
    r = walk([str(root)])
    assert "link.jpg" not in rel(r, root) and r.skipped_links == 3
    r = walk([str(root)], WalkOptions(follow_links=True))
    paths = rel(r, root)
    assert paths.count("b/one.jpg") == 1 and "link.jpg" not in paths  # one entry per inode
    one = next(f for f in r.files if f.path.endswith("b/one.jpg"))
    assert one.aliases == [str(root / "link.jpg")]
    assert [str(root / "b" / "one.jpg"), str(root / "link.jpg")] in r.alias_sets


def test_hard_links_are_aliases(tmp_path: Path) -> None:
    root = tree(tmp_path)
    os.link(root / "b" / "one.jpg", root / "b" / "hard.jpg")
    r = walk([str(root)])
    entry = next(f for f in r.files if f.path.endswith("hard.jpg"))
    assert entry.aliases == [str(root / "b" / "one.jpg")]
    assert not any(f.path.endswith("b/one.jpg") for f in r.files)


def test_odd_names(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    names = [b"caf\xe9.jpg", b"new\nline.jpg", b"with space.png", b"-dash.png", b"quote'\".png"]
    for n in names:
        scene(8).save(os.path.join(os.fsencode(root), n), "PNG")
    r = walk([str(root)])
    got = sorted(os.fsencode(os.path.basename(f.path)) for f in r.files)
    assert got == sorted(names)


def test_resolve_roots_drops_nested_and_duplicates(tmp_path: Path) -> None:
    a = tmp_path / "a"
    assert resolve_roots([a, a / "b", a]) == [str(a)]
