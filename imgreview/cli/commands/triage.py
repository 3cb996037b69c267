"""``imgreview triage [ROOT...]``: look through every picture of each label and mark the unwanted ones.

Also ranks the undecided pictures by a model trained on the marks (``--suggest``) and, when asked
and confirmed, marks the likeliest ones unwanted (``--accept-suggestions``).
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from imgreview.cli.options import add_scan_options, add_session_option, fail, open_session
from imgreview.cli.steps import run_scan, write_output
from imgreview.model import ScanResult
from imgreview.session.folder import Session, SessionError, SessionLocked
from imgreview.text import display_path
from imgreview.triage.embed import EmbeddingCache, parse_extractor
from imgreview.triage.items import TriageSet, load_items
from imgreview.triage.state import TriageState
from imgreview.triage.suggest import MODELS
from imgreview.vocab import GRAPHICS_MODES as GRAPHICS

DEFAULT_TOP = 30


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "triage",
        help="look through every picture of each label; mark unwanted or mislabelled ones; quality flags",
        description="Update the scan of ROOT, then show every picture of one label at a time in a grid "
                    "(outliers of the label first, quality flags as badges). One key marks a picture "
                    "unwanted, one wanted, one the whole page wanted except the marked ones; r says it "
                    "belongs to another label. Marks are saved at once in the session journal; "
                    "`imgreview export --unwanted FILE` lists them and `imgreview apply` moves the "
                    "unwanted files to the quarantine (`--relabel` also moves relabelled files to their "
                    "label's folder), all undone by `imgreview restore`.",
    )
    p.add_argument("roots", nargs="*", metavar="ROOT",
                   help="folder(s) to scan first; without ROOT, reopen --session without rescanning")
    add_session_option(p)
    g = p.add_argument_group("triage options")
    g.add_argument("--graphics", choices=GRAPHICS, default="auto",
                   help="how pictures are drawn, as in review (default auto)")
    g.add_argument("--label", metavar="LABEL", help="only this label (--suggest) or start at it (the grid)")
    g.add_argument("--suggest", action="store_true",
                   help="print the undecided pictures most likely unwanted, by a model trained on your marks "
                        "(nothing is marked)")
    g.add_argument("--top", type=int, default=DEFAULT_TOP, metavar="N",
                   help=f"how many suggestions to print (default {DEFAULT_TOP}; 0 = all)")
    g.add_argument("--json", metavar="FILE", help="with --suggest: also write the ranking as JSON (- for stdout)")
    g.add_argument("--accept-suggestions", action="store_true",
                   help="mark unwanted the suggestions at or above --min-probability, after a confirmation")
    g.add_argument("--min-probability", type=float, default=0.9, metavar="P",
                   help="with --accept-suggestions: the least probability to mark (default 0.9)")
    g.add_argument("--yes", action="store_true", help="with --accept-suggestions: confirm without asking")
    g.add_argument("--features", default="cheap", metavar="SPEC",
                   help="features the suggestions learn from: 'cheap' (the default: colour/texture statistics "
                        "from the scan), 'onnx:MODEL.onnx' (an image embedding model; needs imgreview[embed]), "
                        "'torchscript:MODEL.pt', 'torchvision:NAME[=WEIGHTS]' or 'timm:NAME[=WEIGHTS]' (a PyTorch "
                        "model whose weights are in the local cache, never downloaded; needs imgreview[torch])")
    g.add_argument("--embed-norm", choices=("imagenet", "none"), default="imagenet",
                   help="how onnx: and torchscript: models get their pixels: ImageNet mean/std (the default) or "
                        "raw 0..1 (torchvision and timm models use their own)")
    g.add_argument("--model", choices=MODELS, default="auto",
                   help="suggestion model: knn vote, logistic regression, or auto (default: auto)")
    g.add_argument("--read-only", action="store_true", help="look without marking")
    add_scan_options(p)
    p.set_defaults(func=run)


def _load(args: argparse.Namespace, session: Session) -> ScanResult:
    if args.roots and not args.read_only:
        return run_scan(args)
    return session.load_result()


def run(args: argparse.Namespace) -> int:
    if not 0.0 <= args.min_probability <= 1.0:
        return fail("--min-probability must be between 0 and 1")
    session = open_session(args, args.roots)
    if not args.roots and not session.exists():
        return fail(f"no session at {session.path}: give the folder(s) to triage, e.g. `imgreview triage ROOT`")
    read_only = args.read_only or (args.suggest and not args.accept_suggestions)
    try:
        if not read_only:
            session.lock("triage")
    except SessionLocked as exc:
        return fail(f"{exc}; close it first, or look with --read-only")
    except SessionError as exc:
        return fail(str(exc))
    try:
        result = _load(args, session)
        journal = session.journal(read_only=read_only)
        for w in journal.warnings:
            print(f"imgreview: warning: {w}", file=sys.stderr)
        tset = load_items(session, result)
        if args.label and args.label not in tset.labels:
            return fail(f"no label {args.label!r}; labels: {', '.join(tset.labels) or 'none'}")
        features = _features(args.features, session, tset, normalise=args.embed_norm == "imagenet")
        state = TriageState(tset, journal, features, model=args.model)
        if args.suggest or args.accept_suggestions:
            return _suggest(args, state)
        return _tui(args, state, read_only)
    finally:
        session.unlock()


def _features(spec: str, session: Session, tset: TriageSet, normalise: bool = True) -> np.ndarray | None:
    extractor = parse_extractor(spec, normalise=normalise)
    if extractor is None:
        return None
    print(f"imgreview: embedding {len(tset.items):,} pictures with {extractor.name} (cached by content)",
          file=sys.stderr)
    cache = EmbeddingCache(session.path, extractor.name)
    return cache.get_many(extractor, [(it.path, it.digest) for it in tset.items])


def _suggest(args: argparse.Namespace, state: TriageState) -> int:
    model = state.train()
    ranking = state.suggestions(args.label)
    assert state.probability is not None
    prob = state.probability
    idx, y = state.marked_training_set()
    print(f"model: {model.used} on {len(idx)} mark(s) ({int(y.sum())} unwanted, {int((~y).sum())} wanted); "
          f"{len(ranking):,} undecided picture(s) ranked", file=sys.stderr)
    shown = ranking if args.top == 0 else ranking[:args.top]
    for i in shown:
        it = state.items[i]
        flags = f"  [{', '.join(it.issues)}]" if it.issues else ""
        print(f"{prob[i]:.3f}  {it.label}  {display_path(it.path)}{flags}")
    if args.json:
        data = [{"path": state.items[i].path, "label": state.items[i].label, "probability": round(float(prob[i]), 4),
                 "issues": state.items[i].issues} for i in ranking]
        write_output(args.json, json.dumps(data, indent=1, ensure_ascii=True) + "\n")
    if not args.accept_suggestions:
        return 0
    chosen = [i for i in ranking if prob[i] >= args.min_probability]
    if not chosen:
        print(f"no suggestion at or above {args.min_probability:.2f}; nothing marked", file=sys.stderr)
        return 0
    print(f"{len(chosen)} picture(s) at or above {args.min_probability:.2f} would be marked unwanted "
          "(export/apply still needed to move them).", file=sys.stderr)
    if not args.yes:
        if not sys.stdin.isatty():
            return fail("--accept-suggestions asks for a confirmation: run it in a terminal or add --yes")
        answer = input("Mark them unwanted? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("nothing marked", file=sys.stderr)
            return 0
    state.mark(chosen, "unwanted", by="rule", rule="suggestion")
    print(f"marked {len(chosen)} picture(s) unwanted (undo: `imgreview triage` then u)", file=sys.stderr)
    return 0


def _tui(args: argparse.Namespace, state: TriageState, read_only: bool) -> int:
    from imgreview.tui.graphics import choose_canvas

    canvas, note = choose_canvas(args.graphics)
    from imgreview.tui.triage_app import TriageApp

    notes = [note] if note else []
    if not state.items:
        return fail("no pictures to triage in this session")
    app = TriageApp(state, canvas, read_only=read_only, notes=notes,
                    start_label=args.label)
    app.run()
    totals = state.totals()
    try:
        print(f"{totals['unwanted']:,} unwanted, {totals['relabel']:,} relabelled, {totals['wanted']:,} wanted, "
              f"{totals['undecided']:,} not marked. Marks are saved in the session journal; run the same "
              "command to continue.", file=sys.stderr)
    except OSError:
        pass
    return 0
