#!/usr/bin/env python3
"""Many *different* real-looking pictures for the false-pair benchmark (issue 15).

Non-overlapping tiles cut from real pictures of Debian packages (wallpapers and photographs,
paintings, portraits, game art and textures, star-chart artwork, nebula photographs): tiles of one
picture share its palette, light and texture, so they are look-alikes, but no two tiles share a
pixel. What makes two "different" tiles the same content anyway is left out *before* any imgreview
code sees them, by rules that do not use imgreview:

* one file per source picture: the largest size of a wallpaper; one of a family of variants (the
  same folder and name up to a :data:`VARIANT` suffix: ``-d``/``-l`` dark/light designs,
  ``_illum``/``_fog`` lighting variants, seasonal and weather copies ``_aut``/``_winter``/``_snow``/
  ``_wet``/``_dry``, damaged copies ``_dmg``/``_med``/``_heavy``, terrain sets ``-urban``/``-rockies``;
  derived pictures of :data:`DERIVED`, e.g. Warmux's ``one_layer_sky``, the flattening of its
  ``sky_layer-*``); sources whose whole-picture 32×32 grey thumbnails correlate at
  :data:`SAME_SOURCE_CORRELATION` or more are taken as one picture (the same wallpaper or texture in
  two packages, resized, or recoloured: the correlation is on grey) and only the larger one is kept;
* maps a game computes from, or paints over, a texture (:data:`MAP_SUFFIX`: normal, height/parallax,
  specular, gloss, glow, ambient occlusion, mask maps — ``_n``/``_nm``/``_norm``/``_spec``/``_s``/
  ``_ao``/``_g``/``_z``/``_hm``/``_sc``...; :data:`MAP_WORD`: light/normal/height maps, screenshots,
  previews, thumbnails, icons, logos): they show the texture's own shapes;
* folders that are not different pictures (:data:`SKIP_FOLDERS`): sprites and sprite sheets,
  icons, cursors, fonts, particles, animations (0 A.D.'s animated water is frames of normal maps),
  atlases, renders of a level (screenshots, level shots, previews, light maps, Red Eclipse's and
  Cube 2's map shots), skies and sky boxes, the Earth (FlightGear's ``Globe``: the coastlines of
  every other Earth map), FlightGear's ``Terrain.winter`` (winter copies of ``Terrain``); only the
  picture folders of each new package are read (:data:`PATTERNS`; aircraft and car liveries, which
  repaint one layout, are not);
* pictures made from other pictures of the package: Hedgewars maps (``Maps/*/map.png`` is drawn
  with the theme textures other maps share, ``mask.png`` is its silhouette) and forts (built
  from shared parts), and a Wesnoth portrait whose name contains another portrait's name (a
  ``zombie-gryphon`` or ``gryphon-rider`` is drawn over the ``gryphon``);
* sources painted over the same base as a larger source of the same package group and size (one
  ground photograph with other plants or paths painted on, two liveries of one model, a texture
  and its edited copy): :data:`BASE_SHARE` or more of the positions where both have a tile hold
  tiles whose fine structure (below) correlates ≥ :data:`BASE_DETAIL`; ``dropped_bases.csv`` lists
  them (found by eye in the pairs imgreview accepted across sources: 83 of 113 at N=10k were such);
* tiles with little structure (sky, flat fills: grey standard deviation under :data:`MIN_STD`);
* a tile whose 24×18 grey thumbnail is within :data:`REPEAT_MAD` grey levels (mean absolute
  difference) of a tile already cut from the same source: a repeating texture;
* a tile that shows the same pixels as a tile (at any position) of a larger source of the same
  package or package group (:data:`GROUP`: Red Eclipse and Cube 2, FlightGear's and UFO:AI's
  packages): fine structure (32×24 grey minus its 8×6 blur) correlating ≥ :data:`SHARED_DETAIL`
  *and* 24×18 colour thumbnails within :data:`SHARED_MAD` levels — a layer and its composite, a
  texture pasted into another. (Structure alone is not enough: flat cartoon tiles with one edge
  in the same place correlate 0.6–0.9 and are different pictures.) ``dropped_tiles.csv`` lists them.

Archives (0 A.D.'s ``public.zip``, Quake-style ``.pk3``, Warzone's ``.wz``; :data:`ARCHIVES`) are
unpacked once under ``<package>/_unpacked``. ``manifest.csv`` records every tile's source picture and
position, so the benchmark can assign labels by source and report pairs within one source (shared
texture of one picture) apart from pairs of tiles of different pictures. The output depends only on
the packages and ``--seed`` (the sources are cut in worker processes, the results put in order).

Usage::

    apt-get download 0ad-data ...; dpkg-deb -x PKG.deb RAW/PKG   # one folder per package
    python bench/make_lookalike_tiles.py --raw /data/raw --raw /data/raw2 --out /data/tiles --count 12000
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import os
import random
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

TILE = (240, 180)
MIN_STD = 28.0
MIN_SOURCE_SIDE = 360
SAME_SOURCE_CORRELATION = 0.9
REPEAT_MAD = 6.0
SHARED_DETAIL = 0.8
SHARED_MAD = 6.0
BASE_DETAIL = 0.5
BASE_SHARE = 0.25
IMAGE_EXT = {".png", ".jpg", ".jpeg", ".dds", ".tga", ".rgb", ".sgi", ".bmp", ".webp"}
# A picture derived from another (bench/make_hard_corpus.DERIVED) shares its content: only one.
DERIVED = {"landscape-bridge_sun", "undead-zombie-rider", "bridge_sun", "zombie-rider", "one_layer_sky"}
VARIANT = re.compile(r"([-_](d|l|dark|light|day|night|illum|fog|sun|morning|evening|aut|autumn|winter|snow|summer"
                     r"|spring|wet|dry|dmg|damaged|med|heavy|burnt|lit|dusk|dawn|urban|rockies))+$", re.IGNORECASE)
# Maps a game computes from (or paints over) a texture: normal, height, specular, gloss, glow, ambient
# occlusion, masks. They show the texture's own shapes, so they are the same content as the texture.
MAP_SUFFIX = re.compile(r"[-_](n|nm|nrm|nor|norm|normal|normals|ddn|bump|hm|h|height|disp|z|s|sc|spec|specular"
                        r"|gloss|rough|roughness|metal|metallic|metalness|ao|occ|occlusion|g|glow|emissive|emit"
                        r"|lum|mask|alpha|shadow|focus|local|reflect|refl|env)$", re.IGNORECASE)
MAP_WORD = re.compile(r"normalmap|normal_map|lightmap|heightmap|bumpmap|specmap|screenshot|preview|thumb|icon"
                      r"|minimap|levelshot|logo", re.IGNORECASE)
PATTERNS = (
    # (package folder, glob inside it)
    ("mate-backgrounds", "**/*.jpg"),
    ("gnome-backgrounds", "**/*.jpg"), ("gnome-backgrounds", "**/*.webp"), ("gnome-backgrounds", "**/*.png"),
    ("wesnoth-1.16-data", "**/images/story/*.jpg"), ("wesnoth-1.16-data", "**/images/portraits/**/*.png"),
    ("hedgewars-data", "**/*.png"),
    ("lomiri-wallpapers-16.04", "**/*.jpg"), ("lomiri-wallpapers-16.04", "**/*.png"),
    ("lomiri-wallpapers-20.04", "**/*.jpg"), ("lomiri-wallpapers-20.04", "**/*.png"),
    ("ukui-wallpapers", "**/*.jpg"), ("ukui-wallpapers", "**/*.png"),
    ("sway-backgrounds", "**/*.png"), ("sway-backgrounds", "**/*.jpg"),
    ("stellarium-data", "**/skycultures/**/*.png"), ("stellarium-data", "**/skycultures/**/*.jpg"),
    ("stellarium-data", "**/nebulae/**/*.png"), ("stellarium-data", "**/nebulae/**/*.jpg"),
    # Game textures and art (any IMAGE_EXT file under the glob's folder when it ends in "/**").
    ("0ad-data", "_unpacked/public/art/textures/terrain/**"), ("0ad-data", "_unpacked/public/art/textures/skins/**"),
    ("0ad-data", "_unpacked/public/art/textures/ui/loading/**"),
    ("0ad-data", "_unpacked/public/art/textures/ui/pregame/**"),
    ("flightgear-data-base", "usr/share/games/flightgear/Textures/Terrain/**"),
    ("flightgear-data-base", "usr/share/games/flightgear/Textures/Trees/**"),
    ("flightgear-data-base", "usr/share/games/flightgear/Textures/Splash*"),
    ("flightgear-data-base", "usr/share/games/flightgear/Scenery/**"),
    ("flightgear-data-models", "usr/share/games/flightgear/Models/**"),
    ("redeclipse-data", "usr/share/games/redeclipse/data/**"),
    ("cube2-data", "usr/share/games/cube2/packages/**"),
    ("supertuxkart-data", "usr/share/games/supertuxkart/data/textures/**"),
    ("supertuxkart-data", "usr/share/games/supertuxkart/data/tracks/**"),
    ("supertuxkart-data", "usr/share/games/supertuxkart/data/karts/**"),
    ("supertuxkart-data", "usr/share/games/supertuxkart/data/library/**"),
    ("naev-data", "usr/share/naev/dat/gfx/bkg/**"), ("naev-data", "usr/share/naev/dat/gfx/planet/**"),
    ("naev-data", "usr/share/naev/dat/gfx/loading/**"),
    ("freedroidrpg-data", "usr/share/freedroidrpg/data/graphics/backgrounds/**"),
    ("freeorion-data", "usr/share/games/freeorion/default/data/art/**"),
    ("megaglest-data", "usr/share/games/megaglest/**"),
    ("supertux-data", "usr/share/games/supertux2/images/background/**"),
    ("flare-game", "usr/share/games/flare/mods/*/images/portraits/**"),
    ("flare-game", "usr/share/games/flare/mods/*/images/menus/**"),
    ("warmux-data", "usr/share/games/warmux/map/**"),
    ("unknown-horizons", "usr/share/unknown-horizons/content/gui/images/background/**"),
    ("nexuiz-data", "_unpacked/data/textures/**"), ("nexuiz-data", "_unpacked/data/gfx/**"),
    ("openarena-data", "_unpacked/pak0/textures/**"), ("openarena-data", "_unpacked/pak0/menu/**"),
    ("ufoai-textures", "_unpacked/0textures/textures/**"),
    ("ufoai-data", "_unpacked/0pics/pics/**"), ("ufoai-data", "_unpacked/0models/models/**"),
    ("trigger-rally-data", "_unpacked/data/**"),
    ("warzone2100-data", "_unpacked/base/texpages/bdrops/**"),
    ("torcs-data", "usr/share/games/torcs/tracks/**"),
    ("freecol", "usr/share/games/freecol/data/**"),
    ("lugaru-data", "usr/share/games/lugaru/Data/Textures/**"),
    ("endless-sky-data", "usr/share/games/endless-sky/images/land/**"),
)
# Archives whose pictures are read: (package folder, archive glob, member prefix); members go to
# <package>/_unpacked/<archive stem>/ (once; the same files every time).
ARCHIVES = (
    ("0ad-data", "**/mods/public/public.zip", "art/textures/"),
    ("nexuiz-data", "**/data/data.pk3", ""),
    ("openarena-data", "**/baseoa/pak0.pk3", ""),
    ("ufoai-textures", "**/0textures.pk3", "textures/"),
    ("ufoai-data", "**/0pics.pk3", "pics/"), ("ufoai-data", "**/0models.pk3", "models/"),
    ("trigger-rally-data", "**/data.zip", ""),
    ("warzone2100-data", "**/base.wz", "texpages/bdrops/"),
)
# Folders of pictures that are not different pictures: sprite sheets and parts, icons and cursors,
# atlases of small pictures, renders of a level (screenshots, previews, light maps), the Earth
# (the same coastlines as other packages' Earth maps), seasonal copies of a folder of textures.
SKIP_FOLDERS = {"icons", "icon", "cursors", "cursor", "fonts", "font", "screenshots", "levelshots", "thumbnails",
                "thumbs", "previews", "minimap", "lightmaps", "particles", "spfx", "animated", "globe",
                "terrain.winter", "atlas", "maps", "sprites", "sky", "skies", "skyboxes", "skybox", "env", "lights"}
# Package groups that ship the same textures (Red Eclipse grew out of Cube 2; FlightGear's two
# packages; UFO:AI's): the tile rule below compares tiles across a group, not only one package.
GROUP = {"redeclipse-data": "cube", "cube2-data": "cube", "flightgear-data-base": "flightgear",
         "flightgear-data-models": "flightgear", "ufoai-textures": "ufoai", "ufoai-data": "ufoai"}


Tile = tuple[int, int, np.ndarray, np.ndarray]  # x, y, detail vector, 24×18 colour thumbnail


def stem_of(path: Path) -> str:
    """The file's name without extensions (0 A.D.'s ``x.png.cached.dds`` is ``x``)."""
    return re.sub(r"(\.(png|dds|jpg|tga))*(\.cached)?$", "", path.stem, flags=re.IGNORECASE)


def family(path: Path) -> str:
    """The variant family of a source file: its folder and its stem without a variant suffix."""
    return f"{path.parent}/{VARIANT.sub('', stem_of(path)).lower()}"


def package_of(path: Path, raws: list[Path]) -> str:
    for raw in raws:
        try:
            return path.relative_to(raw).parts[0]
        except ValueError:
            continue
    return ""


def unpack(raws: list[Path]) -> None:
    """The pictures of :data:`ARCHIVES`, extracted once (a ``.done`` marker) under ``_unpacked``."""
    for raw in raws:
        for package, pattern, prefix in ARCHIVES:
            for archive in sorted((raw / package).glob(pattern)) if (raw / package).is_dir() else []:
                dest = raw / package / "_unpacked" / archive.stem
                if (dest / ".done").exists():
                    continue
                with zipfile.ZipFile(archive) as z:
                    for info in z.infolist():
                        name = info.filename
                        if (name.startswith(prefix) and Path(name).suffix.lower() in IMAGE_EXT
                                and info.file_size >= 20_000 and ".." not in Path(name).parts):
                            z.extract(info, dest)
                (dest / ".done").write_text("")


def wanted(f: Path) -> bool:
    """The name and folder rules (see the module doc)."""
    stem = stem_of(f)
    if f.suffix.lower() not in IMAGE_EXT or stem in DERIVED or f"{f.parent.name}-{stem}" in DERIVED:
        return False
    if MAP_SUFFIX.search(stem) or MAP_WORD.search(stem):
        return False
    parts = [p.lower() for p in f.parts]
    if "hedgewars-data" in parts and {"maps", "forts"} & set(parts):
        return False
    packaged = next((k for k, p in enumerate(parts) if p in {"usr", "_unpacked"}), len(parts))
    return not set(parts[packaged:-1]) & SKIP_FOLDERS


def sources(raws: list[Path]) -> list[Path]:
    found: list[Path] = []
    for raw in raws:
        plasma = raw / "plasma-workspace-wallpapers/usr/share/wallpapers"
        if plasma.is_dir():
            for d in sorted(plasma.iterdir()):
                imgs = sorted((d / "contents/images").glob("*.*"), key=lambda p: p.stat().st_size)
                found += imgs[-1:]  # one size per wallpaper: the sizes of one picture would overlap
        for package, pattern in PATTERNS:
            if not (raw / package).is_dir():
                continue
            if pattern.endswith("/**"):  # every file below the folder(s)
                found += sorted(f for d in (raw / package).glob(pattern[:-3]) if d.is_dir()
                                for f in d.rglob("*") if f.is_file())
            else:
                found += sorted(f for f in (raw / package).glob(pattern) if f.is_file())
    found = sorted(set(f for f in found if wanted(f)))
    portraits = {f.stem for f in found if "portraits" in f.parts and "wesnoth-1.16-data" in f.parts}
    found = [f for f in found if "portraits" not in f.parts or "wesnoth-1.16-data" not in f.parts
             or not any(p != f.stem and p in f.stem.split("-") for p in portraits)]
    by_family: dict[str, Path] = {}
    for f in found:  # one file of each variant family: the largest
        key = family(f)
        if key not in by_family or f.stat().st_size > by_family[key].stat().st_size:
            by_family[key] = f
    return sorted(by_family.values())


def thumb(im: Image.Image, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(im.convert("L").resize(size, Image.Resampling.BOX), dtype=np.float32).ravel()


def detail(tile: Image.Image) -> np.ndarray:
    """The tile's fine structure: its 32×24 grey thumbnail minus that thumbnail's 8×6 blur, unit length."""
    g = np.asarray(tile.convert("L").resize((32, 24), Image.Resampling.BOX), dtype=np.float32)
    coarse = g.reshape(6, 4, 8, 4).mean(axis=(1, 3)).repeat(4, axis=0).repeat(4, axis=1)
    d = (g - coarse).ravel()
    return d / (np.linalg.norm(d) + 1e-6)


def load(f: Path) -> Image.Image | None:
    try:
        im = Image.open(f)
        if min(im.size) < MIN_SOURCE_SIDE:
            return None
        return im.convert("RGB")
    except Exception:
        return None


def cut(job: tuple[int, str, str]) -> tuple[int, int, np.ndarray, list[Tile], int, tuple[int, int]] | None:
    """One source (in a worker): its pixel count, whole-picture thumbnail and its tiles (written to the
    stage folder as ``<index>_<k>.jpg``) with their detail vectors; None if it cannot be tiled."""
    index, path, stage = job
    im = load(Path(path))
    if im is None:
        return None
    t = thumb(im, (32, 32))
    w, h = im.size
    tw, th = TILE
    kept: list[np.ndarray] = []
    tiles: list[Tile] = []
    repeats = 0
    for y in range(0, h - th + 1, th):
        for x in range(0, w - tw + 1, tw):
            tile = im.crop((x, y, x + tw, y + th))
            if float(np.asarray(tile.convert("L"), dtype=np.float32).std()) < MIN_STD:
                continue
            small = thumb(tile, (24, 18))
            if any(float(np.abs(small - c).mean()) < REPEAT_MAD for c in kept):
                repeats += 1
                continue
            kept.append(small)
            tile.save(Path(stage) / f"{index:06d}_{len(tiles):04d}.jpg", quality=88)
            tiles.append((x, y, detail(tile), np.asarray(tile.resize((24, 18), Image.Resampling.BOX), dtype=np.uint8)))
    return w * h, index, (t - t.mean()) / (t.std() + 1e-6), tiles, repeats, (w, h)


def distinct_sources(loaded: list[tuple[Path, int, np.ndarray]]) -> tuple[list[int], list[tuple[str, str, float]]]:
    """Indices into ``loaded`` (path, pixels, thumbnail) of one source of each group of whole-picture
    look-alikes (the larger kept), and the dropped ones."""
    order = sorted(range(len(loaded)), key=lambda k: (-loaded[k][1], str(loaded[k][0])))
    mat = np.zeros((len(loaded), 32 * 32), dtype=np.float32)
    kept: list[int] = []
    dropped: list[tuple[str, str, float]] = []
    for k in order:
        f, _, t = loaded[k]
        if kept:
            r = mat[:len(kept)] @ t / t.size
            j = int(np.argmax(r))
            if r[j] >= SAME_SOURCE_CORRELATION:
                dropped.append((str(f), str(loaded[kept[j]][0]), float(r[j])))
                continue
        mat[len(kept)] = t
        kept.append(k)
    return kept, dropped


def shared_bases(order: list[int], tiles: dict[int, list[Tile]], group: dict[int, str], size: dict[int, tuple[int, int]],
                 ) -> tuple[set[int], list[tuple[int, int, int, int]]]:
    """Sources painted over the same base as an earlier source (in ``order``) of the same package group
    and size: at least :data:`BASE_SHARE` of the positions where both have a tile (and two or more)
    have tiles whose detail correlates ≥ :data:`BASE_DETAIL` (0 A.D.'s ``grass_dirt_01``/``_02``,
    ``tropic_dirt_a_plants``/``tropic_citytile_plants``: one ground photograph with other plants or
    paths painted on; a livery and another livery of one model). Returns the dropped sources and
    (dropped, same base as, positions sharing, positions compared) rows."""
    rank = {k: n for n, k in enumerate(order)}
    classes: dict[tuple[str, tuple[int, int]], list[int]] = {}
    for k in order:
        classes.setdefault((group[k], size[k]), []).append(k)
    dropped: set[int] = set()
    rows: list[tuple[int, int, int, int]] = []
    for members in classes.values():
        if len(members) < 2:
            continue
        hits: dict[tuple[int, int], int] = {}
        both: dict[tuple[int, int], int] = {}
        at: dict[tuple[int, int], list[tuple[int, np.ndarray]]] = {}
        for k in members:
            for x, y, vec, _ in tiles[k]:
                at.setdefault((x, y), []).append((k, vec))
        for here in at.values():
            if len(here) < 2:
                continue
            ks = [k for k, _ in here]
            r = np.stack([v for _, v in here]) @ np.stack([v for _, v in here]).T
            for i in range(len(ks)):
                for j in range(i + 1, len(ks)):
                    key = (ks[i], ks[j]) if rank[ks[i]] < rank[ks[j]] else (ks[j], ks[i])
                    both[key] = both.get(key, 0) + 1
                    if r[i, j] >= BASE_DETAIL:
                        hits[key] = hits.get(key, 0) + 1
        for later in sorted(members, key=rank.__getitem__):
            for first in sorted(members, key=rank.__getitem__):
                if rank[first] >= rank[later] or first in dropped:
                    continue
                h, n = hits.get((first, later), 0), both.get((first, later), 0)
                if h >= 2 and h >= BASE_SHARE * n:
                    dropped.add(later)
                    rows.append((later, first, h, n))
                    break
    return dropped, rows


def shared_tiles(order: list[int], tiles: dict[int, list[Tile]], group: dict[int, str],
                 ) -> tuple[set[tuple[int, int]], list[tuple[int, int, int, int, float]]]:
    """Tiles that show the same pixels as a tile of an earlier source (in ``order``) of the same
    package group: detail correlating ≥ :data:`SHARED_DETAIL` *and* 24×18 colour thumbnails within
    :data:`SHARED_MAD` levels. Returns (source, tile) keys, and (source, tile, other source, other
    tile, correlation) rows."""
    drop: set[tuple[int, int]] = set()
    rows: list[tuple[int, int, int, int, float]] = []
    for g in sorted(set(group.values())):
        keys = [(s, k) for s in order if group[s] == g for k in range(len(tiles[s]))]
        if not keys:
            continue
        mat = np.stack([tiles[s][k][2] for s, k in keys])
        src = np.asarray([s for s, _ in keys])
        step = 2048
        for a in range(0, len(keys), step):
            r = mat[a:a + step] @ mat[:a + step].T
            for i in range(r.shape[0]):
                row = np.where(src[:a + i] == src[a + i], -1.0, r[i, :a + i])
                me = tiles[keys[a + i][0]][keys[a + i][1]][3].astype(np.float32)
                for j in np.flatnonzero(row >= SHARED_DETAIL):
                    s, k = keys[j]
                    if float(np.abs(tiles[s][k][3].astype(np.float32) - me).mean()) < SHARED_MAD:
                        drop.add(keys[a + i])
                        rows.append((*keys[a + i], s, k, float(row[j])))
                        break
    return drop, rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", type=Path, action="append", required=True, help="unpacked packages (repeatable)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    unpack(args.raw)
    files = sources(args.raw)
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("t*.jpg"):
        old.unlink()
    stage = args.out / ".stage"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    results: dict[int, tuple[int, np.ndarray, list[Tile]]] = {}
    sizes: dict[int, tuple[int, int]] = {}
    repeats = 0
    with multiprocessing.Pool(max(1, args.jobs)) as pool:
        for got in pool.imap_unordered(cut, [(k, str(f), str(stage)) for k, f in enumerate(files)], chunksize=4):
            if got is not None:
                pixels, index, t, tiles, rep, wh = got
                results[index] = (pixels, t, tiles)
                sizes[index] = wh
                repeats += rep
    indices = sorted(results)
    kept_at, dropped = distinct_sources([(files[k], results[k][0], results[k][1]) for k in indices])
    kept = [indices[k] for k in kept_at]  # largest first: the order the tile rule keeps the first of
    tiles = {k: results[k][2] for k in kept}
    group = {k: GROUP.get(package_of(files[k], args.raw), package_of(files[k], args.raw)) for k in kept}
    based, base_rows = shared_bases(kept, tiles, group, sizes)
    kept = [k for k in kept if k not in based]
    shared, shared_rows = shared_tiles(kept, tiles, group)
    order = sorted(kept, key=lambda k: str(files[k]))
    rng.shuffle(order)  # tiles from many pictures, not all from the first few
    made = 0
    rows: list[tuple[str, str, int, int]] = []
    for k in order:
        for j, (x, y, _, _) in enumerate(tiles[k]):
            if made >= args.count:
                break
            if (k, j) in shared:
                continue
            name = f"t{made:06d}.jpg"
            (stage / f"{k:06d}_{j:04d}.jpg").rename(args.out / name)
            rows.append((name, str(files[k]), x, y))
            made += 1
    shutil.rmtree(stage)
    with open(args.out / "manifest.csv", "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["tile", "source", "x", "y"])
        out.writerows(rows)
    with open(args.out / "dropped_sources.csv", "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["dropped", "same_as", "correlation"])
        out.writerows(dropped)
    with open(args.out / "dropped_bases.csv", "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["dropped", "same_base_as", "positions_sharing", "positions_compared"])
        for later, first, h, n in base_rows:
            out.writerow([files[later], files[first], h, n])
    with open(args.out / "dropped_tiles.csv", "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["source", "x", "y", "same_as_source", "x", "y", "detail_correlation"])
        for s, k, s2, k2, r in shared_rows:
            out.writerow([files[s], *tiles[s][k][:2], files[s2], *tiles[s2][k2][:2], round(r, 3)])
    print(f"{made} tiles from {len({r[1] for r in rows})} of {len(kept)} distinct sources ({len(files)} files "
          f"found) in {args.out}; {len(dropped)} sources dropped as the same picture as another, {repeats} repeated "
          f"tiles left out, {len(shared)} tiles left out as sharing content with another source's tile")


if __name__ == "__main__":
    main()
