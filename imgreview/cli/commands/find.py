"""``imgreview find IMAGE...``: is this picture already in my scanned dataset?"""

from __future__ import annotations

import argparse
import json
import os
import sys

from imgreview.cli.options import (
    add_session_lookup_option,
    fail,
    find_session,
    open_session,
)
from imgreview.errors import UsageError
from imgreview.scan.cache import CacheError
from imgreview.scan.fingerprint import Failure, fingerprint_file
from imgreview.scan.library import HashLibrary
from imgreview.session.folder import SessionError
from imgreview.settings import DEFAULT_THRESHOLDS, HashSettings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "find",
        help="look up pictures in a scanned dataset",
        description="Find the files of a scanned dataset that show the same picture as IMAGE "
                    "(exact copies and near duplicates), using the session's saved NGT index. "
                    "New files found by later scans are added to the index without rebuilding it. "
                    "Exit status: 0 when every IMAGE was found, 1 when some were not, 2 on errors.",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="picture(s) to look up")
    p.add_argument("--in", dest="root", metavar="ROOT",
                   help="the scanned folder whose session to use (default: --session, $IMGREVIEW_SESSION, "
                        "else the nearest .imgreview/ in the current folder or a parent)")
    add_session_lookup_option(p)
    p.add_argument("-t", "--threshold", type=int, metavar="BITS",
                   help="largest Hamming distance (default: the scan's threshold)")
    p.add_argument("--json", action="store_true", help="print matches as JSON lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        session = open_session(args, [args.root]) if args.root else find_session(args)
        result = session.load_header()  # the settings: no group is read
    except (UsageError, SessionError) as exc:
        return fail(str(exc))
    settings = HashSettings(algorithm=result.settings.get("hash", "phash"),
                            hash_size=int(result.settings.get("hash_size", 8)))
    threshold = args.threshold
    if threshold is None:
        threshold = int(result.settings.get("threshold", DEFAULT_THRESHOLDS[(settings.algorithm, settings.hash_size)]))
    library = HashLibrary(session, settings)
    try:
        added, total = library.sync()
    except CacheError as exc:
        return fail(str(exc))
    if not args.json:
        print(f"library: {total:,} distinct pictures ({added:,} added now)", file=sys.stderr)
    missing = 0
    errors = 0
    for image in args.images:
        picture = fingerprint_file(os.path.abspath(image), settings)
        if isinstance(picture, Failure):
            print(f"imgreview: {image}: {picture.error}", file=sys.stderr)
            errors += 1
            continue
        matches = [m for m in library.query(picture, threshold) if m.path != picture.path]
        if not matches:
            missing += 1
        if args.json:
            for m in matches:
                print(json.dumps({"query": image, "path": m.path, "distance": m.distance, "exact": m.exact}))
            continue
        print(f"{image}: {len(matches)} match{'es' if len(matches) != 1 else ''}")
        for m in matches:
            kind = "exact copy" if m.exact else f"{m.distance} bits"
            print(f"  {m.path}  ({kind})")
    if errors:
        return 2
    return 1 if missing else 0
