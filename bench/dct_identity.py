"""Bit identity of imgreview's numpy pHash DCT (``variants.dct_low``) with ``imagehash.phash`` on real files.

For every image under the given folders, the picture is decoded the way the scan decodes it
(``fingerprint._decode_small`` + ``_to_rgb``), and each picture the scan hashes with
``dct_low`` — the whole picture, its centre square, 4:5 and 80 % windows, the border-trimmed
picture — is hashed both ways, at hash sizes 8 and 16. ``imagehash.phash`` (scipy's DCT) is the
reference. Prints the number of hashes compared, how many differ, and the largest coefficient
difference relative to the block's scale; exits 1 if any hash of a picture that is not
low-information differs.

    .venv/bin/python bench/dct_identity.py /work/data-peers/photos-1.5mp /work/data-detect/hard
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

import imagehash
import numpy as np
import scipy.fftpack
from PIL import Image

from imgreview.scan import fingerprint as fp
from imgreview.scan.variants import centre_window, dct_low, phash_bits, trim_box
from imgreview.settings import HashSettings


def windows(grey: Image.Image) -> list[Image.Image]:
    w, h = grey.size
    out = [grey, centre_window(grey, 1.0), centre_window(grey, 0.8), centre_window(grey, w / h, 0.8)]
    box = trim_box(np.asarray(grey))
    if box is not None:
        out.append(grey.crop(box))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--limit", type=int, default=0, help="at most this many files per folder (0: all)")
    args = ap.parse_args()
    settings = HashSettings()
    compared = differ = differ_lowinfo = files = 0
    worst = 0.0
    for folder in args.folders:
        paths = sorted(Path(d) / f for d, _, fs in os.walk(folder) for f in fs
                       if Path(f).suffix.lower() in fp.IMAGE_EXTENSIONS)
        if args.limit:
            paths = paths[: args.limit]
        for path in paths:
            try:
                with Image.open(io.BytesIO(path.read_bytes())) as img:
                    rgb = fp._to_rgb(fp._decode_small(img, settings))
            except Exception:
                continue
            files += 1
            for grey in windows(rgb.convert("L")):
                for size in (8, 16):
                    ours = phash_bits(dct_low(grey, size))
                    ref = np.asarray(imagehash.phash(grey, hash_size=size).hash).ravel()
                    side = size * 4
                    px = np.asarray(grey.resize((side, side), Image.Resampling.LANCZOS), dtype=np.float64)
                    full = scipy.fftpack.dct(scipy.fftpack.dct(px, axis=0), axis=1)[:size, :size]
                    scale = max(float(np.abs(full).max()), 1e-9)
                    worst = max(worst, float(np.abs(dct_low(grey, size) - full).max()) / scale)
                    compared += 1
                    if not np.array_equal(ours, ref):
                        g = np.asarray(grey.resize((16, 16), Image.Resampling.BOX), dtype=np.uint8)
                        if fp.is_low_information(g, ref):
                            differ_lowinfo += 1
                        else:
                            differ += 1
                            print(f"DIFFERS: {path} size {size} window {grey.size}", file=sys.stderr)
    print(f"files {files}, hashes compared {compared}, differing {differ} "
          f"(+{differ_lowinfo} on low-information pictures), largest relative coefficient difference {worst:.1e}")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
