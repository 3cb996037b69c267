"""Option groups shared by several commands, and turning them into settings."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from imgreview.errors import UsageError
from imgreview.labels import LAYOUTS
from imgreview.session.folder import (
    DEFAULT_NAME,
    ENV_VAR,
    Session,
    SessionError,
    default_session_dir,
)
from imgreview.settings import (
    DEFAULT_DASK_TIMEOUT,
    DEFAULT_MAX_PIXELS,
    DEFAULT_THRESHOLDS,
    ENGINES,
    HASH_ALGORITHMS,
    DaskSettings,
    HashSettings,
    ScanSettings,
)


def add_session_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--session", metavar="DIR",
        help="session folder holding the cache, scan result and journal "
             "(default: $IMGREVIEW_SESSION, else .imgreview/ inside the first ROOT)",
    )


def add_scan_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("scan options")
    g.add_argument("--hash", choices=HASH_ALGORITHMS, default="phash",
                   help="perceptual hash (default: phash)")
    g.add_argument("--hash-size", type=int, choices=(8, 16), default=8,
                   help="hash side: 8 = 64 bits (default), 16 = 256 bits")
    g.add_argument("-t", "--threshold", type=int, metavar="BITS",
                   help="largest Hamming distance between near duplicates "
                        f"(default: chosen per hash by the benchmark, {DEFAULT_THRESHOLDS[('phash', 8)]} for 64-bit phash)")
    g.add_argument("--engine", choices=ENGINES, default="auto",
                   help="pair search: exact multi-index hashing (finds every pair), NGT graph index (approximate: "
                        "may miss pairs), or auto (default), which is the exact engine since NGT never kept "
                        "99.9%% of the pairs at scale")
    g.add_argument("-j", "--jobs", type=int, default=0, metavar="N", help="worker processes (default: all cores)")
    g.add_argument("--hidden", action="store_true", help="include hidden files and folders")
    g.add_argument("--follow-links", action="store_true", help="follow symbolic links")
    g.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                   help="skip paths matching GLOB (relative path or name; repeatable)")
    g.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, metavar="N",
                   help=f"refuse images with more pixels (decompression-bomb guard; default {DEFAULT_MAX_PIXELS})")
    g.add_argument("--no-verify", action="store_true",
                   help="do not verify candidate pairs with the second signal (more false positives)")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_dask_options(parser)
    add_dataset_options(parser)


def add_dask_options(parser: argparse.ArgumentParser) -> None:
    """Fingerprinting on a Dask cluster (``pip install 'imgreview[dask]'``)."""
    g = parser.add_argument_group(
        "cluster options", "fingerprint new or changed files on Dask workers instead of local processes; the "
        "walk, the cache and the result stay here. Workers must read the files (shared storage) and run the "
        "same imgreview version.")
    g.add_argument("--dask", metavar="ADDRESS",
                   help="a Dask scheduler (tcp://HOST:8786), or local[:N] for N worker processes on this machine")
    g.add_argument("--path-map", action="append", default=[], metavar="CLIENT_PREFIX=WORKER_PREFIX",
                   help="the workers see files under CLIENT_PREFIX at WORKER_PREFIX (repeatable; with --dask)")
    g.add_argument("--dask-timeout", type=float, default=DEFAULT_DASK_TIMEOUT, metavar="SECONDS",
                   help=f"give up reaching the scheduler and a worker after SECONDS (default {DEFAULT_DASK_TIMEOUT:g})")


def dask_settings(args: argparse.Namespace) -> DaskSettings | None:
    """The --dask options as settings (None without --dask); UsageError when they do not make sense."""
    address = getattr(args, "dask", None)
    path_map = getattr(args, "path_map", None) or []
    if not address:
        if path_map:
            raise UsageError("--path-map only applies with --dask")
        return None
    from imgreview.scan.executors import parse_path_map

    try:
        return DaskSettings(address=address, path_map=parse_path_map(path_map),
                            timeout=getattr(args, "dask_timeout", DEFAULT_DASK_TIMEOUT))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def add_dataset_options(parser: argparse.ArgumentParser) -> None:
    """How labels and splits are read (see :mod:`imgreview.dataset`)."""
    g = parser.add_argument_group("dataset options")
    g.add_argument("--layout", choices=LAYOUTS, default="auto",
                   help="where labels and splits are in the folder tree: auto (default) finds train/val/test "
                        "folders at the top or second level and takes the label from the other level")
    g.add_argument("--label-depth", type=int, metavar="N",
                   help="take the label from the folder N levels below the root (1 = top level)")
    g.add_argument("--manifest", metavar="FILE",
                   help="CSV or JSON lines with path, label and optionally split; overrides the folders")


def scan_settings(args: argparse.Namespace) -> ScanSettings:
    try:
        return ScanSettings(
            hash=HashSettings(algorithm=args.hash, hash_size=args.hash_size, max_pixels=args.max_pixels),
            threshold=args.threshold,
            engine=args.engine,
            jobs=args.jobs,
            hidden=args.hidden,
            follow_links=args.follow_links,
            excludes=tuple(args.exclude),
            verify=not args.no_verify,
            layout=getattr(args, "layout", "auto"),
            label_depth=getattr(args, "label_depth", None),
            manifest=os.path.abspath(args.manifest) if getattr(args, "manifest", None) else None,
            dask=dask_settings(args),
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def open_session(args: argparse.Namespace, roots: list[str] | None = None) -> Session:
    """The session for these arguments: --session, $IMGREVIEW_SESSION, or inside the first root."""
    from imgreview.scan.walk import resolve_roots  # deferred: it imports the decoders (numpy, Pillow)

    roots = resolve_roots(roots or [])
    try:
        path = default_session_dir(roots, getattr(args, "session", None))
    except SessionError as exc:
        raise UsageError(str(exc)) from None
    return Session(Path(path))


def fail(message: str, status: int = 2) -> int:
    print(f"imgreview: {message}", file=sys.stderr)
    return status


def add_session_lookup_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--session", metavar="DIR",
        help="session folder (default: $IMGREVIEW_SESSION, else the nearest .imgreview/ in the current "
             "folder or a parent)",
    )


def find_session(args: argparse.Namespace) -> Session:
    """--session, $IMGREVIEW_SESSION, else the nearest .imgreview/ in this folder or a parent."""
    explicit = getattr(args, "session", None) or os.environ.get(ENV_VAR)
    if explicit:
        session = Session(Path(explicit).absolute())
        if not session.exists():
            raise UsageError(f"{session.path} is not an imgreview session (no scan in it yet)")
        return session
    here = Path.cwd()
    for folder in (here, *here.parents):
        candidate = Session(folder / DEFAULT_NAME)
        if candidate.exists():
            return candidate
    raise UsageError(f"no session found in {here} or its parents; give --session DIR "
                     "(the .imgreview folder inside the scanned root)")
