"""Run peer duplicate finders and cleanvision's quality checks side by side with imgreview.

Every peer runs as a subprocess in its own virtual environment (they pin conflicting numpy /
Pillow / torch versions and some install top-level modules such as ``common``); the venvs are made
by ``bench/install_peers.sh`` under ``bench/.peers/venv-<peer>`` (or ``$IMGREVIEW_PEERS_DIR``).
The parent measures the wall time of the whole subprocess, the peak RSS of its largest process
and the CPU time (``wait4``: user + system, the worker processes included) and the peak RSS summed over the process tree (sampled from ``/proc`` every 0.1 s,
which sees the worker processes of imgdupes, difPy, imagededup); the child reports its own
import and run times and the tool's version.

Peers (``python bench/peers.py list`` shows which are installed):

=============  ===========================================================  =================
name           what runs                                                    result
=============  ===========================================================  =================
imgreview      ``python -m imgreview scan --json`` (``python=`` picks the   groups
               interpreter, i.e. the checkout)
imgdupes       ``imgdupes --no-cache --sameline -r DIR METHOD T``            groups (sets)
imagededup     ``imagededup.methods.PHash|DHash|WHash|AHash``               scored pairs
               ``.find_duplicates`` (CNN refused: it downloads weights)
czkawka        czkawka's Python bindings ``ImageSimilarity``                groups + pairs
fastdup        ``fastdup.create(...).run()`` (bundled ONNX model, offline)  scored pairs +
                                                                            components
cleanvision    ``Imagelab.find_issues`` exact/near duplicate sets           groups
difpy          ``difPy.build`` + ``difPy.search`` (MSE on 50 px tensors)     scored pairs
undouble       ``Undouble(method=...).group(threshold)``                    groups
=============  ===========================================================  =================

``run(name, folder, **opts)`` returns a :class:`PeerResult`; ``result.groups`` is a list of groups
of absolute paths (for pair-only tools each group is one pair), ``result.pairs`` the scored pairs
where the tool gives them, and :func:`predicted_pairs` the set of unordered pairs for scoring.
``quality(folder)`` runs cleanvision's issue checks and returns per-image flags and scores.

Command line (from the repository root)::

    python bench/peers.py list
    python bench/peers.py imgdupes DIR --json out.json --opt threshold=10 --opt num_proc=2
    python bench/peers.py quality DIR --json flags.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
QUALITY_ISSUES = ("dark", "light", "blurry", "low_information", "odd_aspect_ratio", "odd_size", "grayscale")


def peers_dir() -> Path:
    """Where the peer venvs live: ``$IMGREVIEW_PEERS_DIR`` or ``bench/.peers``."""
    return Path(os.environ.get("IMGREVIEW_PEERS_DIR", ROOT / "bench" / ".peers"))


def venv_python(peer: str) -> Path:
    return peers_dir() / f"venv-{peer}" / "bin" / "python"


@dataclass
class PeerResult:
    name: str
    folder: str
    options: dict[str, Any]
    version: str | None = None
    groups: list[list[str]] = field(default_factory=list)
    pairs: list[tuple[str, str, float | None]] | None = None
    files: int | None = None          # how many files the tool looked at, where it says so
    wall_s: float = 0.0               # the whole subprocess, start-up included
    import_s: float | None = None     # child: importing the tool
    run_s: float | None = None        # child: the tool's own work after the import
    peak_rss_mb: float = 0.0          # largest single process (wait4 ru_maxrss, or sampled VmHWM, see measure)
    peak_tree_rss_mb: float = 0.0     # sum over the process tree, sampled every 0.1 s
    cpu_s: float = 0.0                # user + system CPU of the process and its reaped children
    returncode: int = 0
    notes: list[str] = field(default_factory=list)
    command: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class QualityResult:
    folder: str
    version: str | None
    issues: dict[str, list[str]]               # path -> issue names (only images with an issue)
    scores: dict[str, dict[str, float]]        # path -> issue -> cleanvision score (low = worse)
    wall_s: float
    import_s: float | None
    run_s: float | None
    peak_rss_mb: float
    peak_tree_rss_mb: float
    cpu_s: float
    command: list[str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------------------------
# child programs: run inside the peer's venv; argv[1] = JSON of {"folder", "out", "opts"}; they
# write one JSON object to "out" (the tools print progress bars and banners on stdout/stderr)

_CHILD_HEAD = """
import json, sys, time, os
_args = json.loads(sys.argv[1])
folder, out, opts = _args["folder"], _args["out"], _args["opts"]
def version(dist):
    from importlib.metadata import version as v
    try:
        return v(dist)
    except Exception:
        return None
def finish(**kw):
    with open(out, "w") as fh:
        json.dump(kw, fh)
_t0 = time.perf_counter()
"""

_CHILDREN: dict[str, str] = {
    "imagededup": """
if opts.get("method", "phash").lower() == "cnn":
    raise SystemExit("imagededup CNN downloads its weights at run time: not usable offline")
from imagededup import methods
t_import = time.perf_counter() - _t0
cls = {"phash": methods.PHash, "dhash": methods.DHash, "whash": methods.WHash, "ahash": methods.AHash}[
    opts.get("method", "phash").lower()]
t1 = time.perf_counter()
hasher = cls(verbose=False)
jobs = int(opts.get("jobs", 2))
dups = hasher.find_duplicates(image_dir=folder, max_distance_threshold=int(opts.get("threshold", 10)),
                              scores=True, recursive=True, num_enc_workers=jobs, num_dist_workers=jobs)
t_run = time.perf_counter() - t1
seen, pairs = set(), []
for a, found in dups.items():
    for b, d in found:
        key = tuple(sorted((a, b)))
        if key not in seen:
            seen.add(key)
            pairs.append([os.path.join(folder, key[0]), os.path.join(folder, key[1]), float(d)])
finish(version=version("imagededup"), pairs=pairs, groups=None, files=len(dups), import_s=t_import, run_s=t_run)
""",
    "czkawka": """
from czkawka import ImageSimilarity
t_import = time.perf_counter() - _t0
t1 = time.perf_counter()
finder = ImageSimilarity()
finder.set_directories([folder])
finder.set_similarity(int(opts.get("threshold", 10)))
raw = finder.find_similar_with_distances()
t_run = time.perf_counter() - t1
groups, pairs = [], []
for g in raw:
    members = []
    for a, b, d in g:
        pairs.append([str(a), str(b), float(d)])
        for p in (str(a), str(b)):
            if p not in members:
                members.append(p)
    groups.append(members)
finish(version=version("czkawka"), pairs=pairs, groups=groups, files=None, import_s=t_import, run_s=t_run)
""",
    "fastdup": """
os.environ.setdefault("SENTRY_OPT_OUT", "1")
import tempfile
import fastdup
t_import = time.perf_counter() - _t0
t1 = time.perf_counter()
work = tempfile.mkdtemp(prefix="fastdup-")
fd = fastdup.create(work_dir=work, input_dir=folder)
fd.run(threshold=float(opts.get("threshold", 0.9)), ccthreshold=float(opts.get("ccthreshold", 0.96)),
       num_threads=int(opts.get("jobs", 2)), overwrite=True, verbose=False)
t_run = time.perf_counter() - t1
ann = fd.annotations()
col = "filename"
base = os.path.dirname(os.path.abspath(folder))
def absolute(name):
    return name if os.path.isabs(name) else os.path.abspath(os.path.join(base, name))
names = {int(i): absolute(f) for i, f in zip(ann["fd_index"], ann[col])}
sim = fd.similarity()
seen, pairs = set(), []
for a, b, d in zip(sim["from"], sim["to"], sim["distance"]):
    key = tuple(sorted((int(a), int(b))))
    if key not in seen:
        seen.add(key)
        pairs.append([names[key[0]], names[key[1]], float(d)])
comps = fd.connected_components()
cc = comps[0] if isinstance(comps, tuple) else comps
groups = {}
for comp, idx in zip(cc["component_id"], cc["fd_index"]):
    groups.setdefault(int(comp), []).append(names[int(idx)])
groups = [g for g in groups.values() if len(g) > 1]
finish(version=version("fastdup"), pairs=pairs, groups=groups, files=len(ann), import_s=t_import, run_s=t_run)
""",
    "cleanvision": """
from cleanvision import Imagelab
t_import = time.perf_counter() - _t0
t1 = time.perf_counter()
lab = Imagelab(data_path=folder)
lab.find_issues({"exact_duplicates": {}, "near_duplicates": {}})
t_run = time.perf_counter() - t1
groups = []
for kind in ("exact_duplicates", "near_duplicates"):
    for s in lab.info.get(kind, {}).get("sets", []):
        groups.append([os.path.abspath(p) for p in s])
finish(version=version("cleanvision"), pairs=None, groups=groups, files=len(lab.issues), import_s=t_import, run_s=t_run)
""",
    "cleanvision-quality": """
from cleanvision import Imagelab
t_import = time.perf_counter() - _t0
t1 = time.perf_counter()
names = opts["issues"]
lab = Imagelab(data_path=folder)
lab.find_issues({n: {} for n in names})
t_run = time.perf_counter() - t1
df = lab.issues
issues, scores = {}, {}
for path, row in df.iterrows():
    p = os.path.abspath(path)
    scores[p] = {n: float(row[f"{n}_score"]) for n in names if f"{n}_score" in row}
    flagged = [n for n in names if bool(row.get(f"is_{n}_issue", False))]
    if flagged:
        issues[p] = flagged
finish(version=version("cleanvision"), issues=issues, scores=scores, import_s=t_import, run_s=t_run)
""",
    "difpy": """
import difPy
t_import = time.perf_counter() - _t0
t1 = time.perf_counter()
sim = opts.get("similarity", "similar")
try:
    sim = float(sim)
except ValueError:
    pass
jobs = int(opts.get("jobs", 2))
dif = difPy.build(folder, recursive=True, px_size=int(opts.get("px_size", 50)), show_progress=False, processes=jobs)
search = difPy.search(dif, similarity=sim, rotate=bool(opts.get("rotate", True)),
                      same_dim=bool(opts.get("same_dim", False)), show_progress=False, processes=jobs)
t_run = time.perf_counter() - t1
pairs = []
for a, found in search.result.items():
    for b, mse in found:
        pairs.append([os.path.abspath(str(a)), os.path.abspath(str(b)), float(mse)])
files = int(search.stats.get("total_files", 0)) or None
finish(version=version("difPy"), pairs=pairs, groups=None, files=files, import_s=t_import, run_s=t_run)
""",
    "undouble": """
import warnings
warnings.filterwarnings("ignore")
from undouble import Undouble
t_import = time.perf_counter() - _t0
t1 = time.perf_counter()
model = Undouble(method=opts.get("method", "phash"), hash_size=int(opts.get("hash_size", 8)),
                 grayscale=False, verbose=40)
model.import_data(folder)
model.compute_hash()
model.group(threshold=int(opts.get("threshold", 10)))
t_run = time.perf_counter() - t1
res = model.results
groups = [[os.path.abspath(str(p)) for p in g] for g in (res.get("select_pathnames") or [])]
finish(version=version("undouble"), pairs=None, groups=groups, files=len(res.get("pathnames", [])),
       import_s=t_import, run_s=t_run)
""",
}

PEERS = ("imgreview", "imgdupes", "imagededup", "czkawka", "fastdup", "cleanvision", "difpy", "undouble")
_VENV = {"cleanvision-quality": "cleanvision"}


# --------------------------------------------------------------------------------------------
# measuring a subprocess


def _vm_hwm_kb(pid: int | str) -> int:
    """Peak RSS (VmHWM) of one process's own address space, 0 when gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _tree(root: int) -> tuple[int, dict[int, int]]:
    """RSS summed over ``root`` and its descendants, and each one's VmHWM (from /proc; empty when gone)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
            fields = stat[stat.rindex(")") + 2:].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * page_kb
        except (OSError, ValueError, IndexError):
            continue
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    total, stack, hwm = 0, [root], {}
    while stack:
        pid = stack.pop()
        if pid in hwm:
            continue
        hwm[pid] = _vm_hwm_kb(pid)
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total, hwm


@dataclass
class _Measured:
    returncode: int
    wall_s: float
    peak_rss_mb: float
    peak_tree_rss_mb: float
    cpu_s: float
    stdout: str
    stderr: str


def measure(cmd: list[str], cwd: str | Path | None = None, env: dict[str, str] | None = None,
            timeout: float | None = None) -> _Measured:
    """Run ``cmd``; wall time, peak RSS (largest process, and whole tree sampled)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        peak = [0]
        hwm: dict[int, int] = {}
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                total, seen = _tree(proc.pid)
                peak[0] = max(peak[0], total)
                for pid, kb in seen.items():
                    hwm[pid] = max(hwm.get(pid, 0), kb)
                done.wait(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        deadline = None if timeout is None else started + timeout
        status = None
        while status is None:
            pid, wstatus, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                status = (wstatus, usage)
                break
            if deadline is not None and time.perf_counter() > deadline:
                proc.kill()
            time.sleep(0.02)
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status[0])
        out.seek(0)
        err.seek(0)
        usage = status[1]
        # ru_maxrss of a child carries this process's own high-water mark across fork/vfork + exec
        # (Linux keeps the old address space's peak), so it is only trusted above our own VmHWM;
        # otherwise the largest VmHWM sampled in the child's tree is used (it may miss the last 0.1 s).
        largest = usage.ru_maxrss if usage.ru_maxrss > _vm_hwm_kb("self") else max(hwm.values(), default=0)
        largest = max(largest, max(hwm.values(), default=0))
        return _Measured(proc.returncode, wall, largest / 1024, peak[0] / 1024, usage.ru_utime + usage.ru_stime,
                         out.read().decode(errors="replace"), err.read().decode(errors="replace"))


def _tail(text: str, n: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-n:])


class PeerError(RuntimeError):
    pass


# --------------------------------------------------------------------------------------------
# the runners


def _split_paths(line: str) -> list[str]:
    """imgdupes --sameline separates paths by spaces; re-join tokens of paths that contain one."""
    paths, current = [], ""
    for token in line.split(" "):
        current = f"{current} {token}" if current else token
        if os.path.exists(current):
            paths.append(current)
            current = ""
    if current:
        paths.append(current)
    return paths


def _run_imgdupes(folder: str, opts: dict[str, Any], timeout: float | None) -> PeerResult:
    exe = peers_dir() / "venv-imgdupes" / "bin" / "imgdupes"
    if not exe.exists():
        raise PeerError(f"{exe} missing: run bench/install_peers.sh")
    method = str(opts.get("method", "phash"))
    cmd = [str(exe), "--no-cache", "--num-proc", str(opts.get("num_proc", opts.get("jobs", 2))), "--sameline", "-r",
           "--hash-bits", str(opts.get("hash_bits", 64)), "--ngt-k", str(opts.get("ngt_k", 20)),
           folder, method, str(opts.get("threshold", 10))]
    with tempfile.TemporaryDirectory(prefix="imgdupes-") as cwd:  # it writes its NGT index into the CWD
        m = measure(cmd, cwd=cwd, timeout=timeout)
    result = PeerResult("imgdupes", folder, opts, command=cmd, wall_s=m.wall_s, peak_rss_mb=m.peak_rss_mb,
                        peak_tree_rss_mb=m.peak_tree_rss_mb, cpu_s=m.cpu_s, returncode=m.returncode)
    if m.returncode:
        raise PeerError(f"imgdupes failed ({m.returncode}): {_tail(m.stderr)}")
    result.groups = [_split_paths(line) for line in m.stdout.splitlines() if line.strip()]
    result.groups = [[os.path.abspath(p) for p in g] for g in result.groups if len(g) > 1]
    result.version = _dist_version("imgdupes", "imgdupes")
    result.files = sum(1 for _, _, fs in os.walk(folder) for f in fs
                       if f.rsplit(".", 1)[-1] in ("png", "jpg", "jpeg", "gif", "PNG", "JPG", "JPEG", "GIF"))
    result.notes.append("imgdupes reads only .png/.jpg/.jpeg/.gif (webp, tif, bmp are skipped); "
                        "its sets are greedy and not deterministic (approximate NGT search)")
    return result


def _dist_version(peer: str, dist: str) -> str | None:
    py = venv_python(peer)
    out = subprocess.run([str(py), "-c", f"from importlib.metadata import version; print(version({dist!r}))"],
                         capture_output=True, text=True)
    return out.stdout.strip() or None


def _run_imgreview(folder: str, opts: dict[str, Any], timeout: float | None) -> PeerResult:
    python = str(opts.get("python", sys.executable))
    with tempfile.TemporaryDirectory(prefix="imgreview-peer-") as tmp:
        out = Path(tmp) / "scan.json"
        cmd = [python, "-m", "imgreview", "scan", folder, "--session", str(Path(tmp) / "s"), "-q",
               "--layout", "none", "--jobs", str(opts.get("jobs", 2)), "--json", str(out)]
        for key in ("threshold", "hash", "hash_size", "engine"):
            if key in opts:
                cmd += [f"--{key.replace('_', '-')}", str(opts[key])]
        if opts.get("no_verify"):
            cmd.append("--no-verify")
        m = measure(cmd, cwd=opts.get("cwd"), timeout=timeout)
        if m.returncode:
            raise PeerError(f"imgreview failed ({m.returncode}): {_tail(m.stderr)}")
        data = json.loads(out.read_text())
    result = PeerResult("imgreview", folder, opts, command=cmd, wall_s=m.wall_s, peak_rss_mb=m.peak_rss_mb,
                        peak_tree_rss_mb=m.peak_tree_rss_mb, cpu_s=m.cpu_s, returncode=m.returncode)
    result.version = data.get("settings", {}).get("imgreview")
    result.groups = [[mem["path"] for mem in g["members"]] for g in data["groups"]]
    result.files = data.get("stats", {}).get("images")
    result.run_s = data.get("stats", {}).get("seconds")
    return result


def _run_child(name: str, folder: str, opts: dict[str, Any], timeout: float | None) -> dict[str, Any]:
    venv = _VENV.get(name, name)
    py = venv_python(venv)
    if not py.exists():
        raise PeerError(f"{py} missing: run bench/install_peers.sh")
    with tempfile.TemporaryDirectory(prefix=f"{name}-") as tmp:
        out = Path(tmp) / "result.json"
        args = json.dumps({"folder": folder, "out": str(out), "opts": opts})
        cmd = [str(py), "-c", _CHILD_HEAD + _CHILDREN[name], args]
        env = dict(os.environ, SENTRY_OPT_OUT="1", TQDM_DISABLE="1", MPLBACKEND="Agg")
        m = measure(cmd, cwd=tmp, env=env, timeout=timeout)
        if m.returncode or not out.exists():
            raise PeerError(f"{name} failed ({m.returncode}): {_tail(m.stderr)}")
        data: dict[str, Any] = json.loads(out.read_text())
    data["_measured"] = m
    data["_command"] = [*cmd[:2], "<child program>", args]
    return data


def run(name: str, folder: str | Path, timeout: float | None = None, **opts: Any) -> PeerResult:
    """Run peer ``name`` on ``folder`` (recursively); see the module docstring for the options."""
    folder = os.path.abspath(folder)
    if not os.path.isdir(folder):
        raise PeerError(f"not a folder: {folder}")
    if name == "imgdupes":
        return _run_imgdupes(folder, opts, timeout)
    if name == "imgreview":
        return _run_imgreview(folder, opts, timeout)
    if name not in _CHILDREN or name == "cleanvision-quality":
        raise PeerError(f"unknown peer {name!r}; known: {', '.join(PEERS)}")
    data = _run_child(name, folder, opts, timeout)
    m: _Measured = data["_measured"]
    pairs = data.get("pairs")
    result = PeerResult(name, folder, opts, version=data.get("version"), files=data.get("files"),
                        wall_s=m.wall_s, import_s=data.get("import_s"), run_s=data.get("run_s"),
                        peak_rss_mb=m.peak_rss_mb, peak_tree_rss_mb=m.peak_tree_rss_mb, cpu_s=m.cpu_s,
                        returncode=m.returncode, command=data["_command"])
    if pairs is not None:
        result.pairs = [(a, b, s) for a, b, s in pairs]
    result.groups = data["groups"] if data.get("groups") is not None else [[a, b] for a, b, _ in pairs or []]
    return result


def quality(folder: str | Path, issues: tuple[str, ...] = QUALITY_ISSUES, timeout: float | None = None) -> QualityResult:
    """cleanvision's issue checks on ``folder``: per-image flags (names as in QUALITY_ISSUES) and scores."""
    folder = os.path.abspath(folder)
    data = _run_child("cleanvision-quality", folder, {"issues": list(issues)}, timeout)
    m: _Measured = data["_measured"]
    return QualityResult(folder, data.get("version"), data["issues"], data["scores"], m.wall_s,
                         data.get("import_s"), data.get("run_s"), m.peak_rss_mb, m.peak_tree_rss_mb,
                         m.cpu_s, data["_command"])


def predicted_pairs(result: PeerResult, max_score: float | None = None, min_score: float | None = None,
                    ) -> set[tuple[str, str]]:
    """Unordered pairs the peer reports: its scored pairs (optionally filtered), else all pairs in each group."""
    pairs: set[tuple[str, str]] = set()
    if result.pairs is not None:
        for a, b, s in result.pairs:
            if s is not None and ((max_score is not None and s > max_score) or (min_score is not None and s < min_score)):
                continue
            if a != b:
                pairs.add((min(a, b), max(a, b)))
        return pairs
    for g in result.groups:
        for i, a in enumerate(g):
            for b in g[i + 1:]:
                if a != b:
                    pairs.add((min(a, b), max(a, b)))
    return pairs


def installed() -> dict[str, str | None]:
    """Peer -> installed version (None when its venv is missing)."""
    found: dict[str, str | None] = {}
    dists = {"imgdupes": "imgdupes", "imagededup": "imagededup", "czkawka": "czkawka", "fastdup": "fastdup",
             "cleanvision": "cleanvision", "difpy": "difPy", "undouble": "undouble"}
    for peer, dist in dists.items():
        found[peer] = _dist_version(peer, dist) if venv_python(peer).exists() else None
    return found


def _parse_opt(text: str) -> tuple[str, Any]:
    key, _, value = text.partition("=")
    if value.lower() in ("true", "false"):
        return key, value.lower() == "true"
    for cast in (int, float):
        try:
            return key, cast(value)
        except ValueError:
            pass
    return key, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help=f"list, quality, or a peer: {', '.join(PEERS)}")
    parser.add_argument("folder", nargs="?")
    parser.add_argument("--json", metavar="FILE", help="write the full result as JSON")
    parser.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE", help="peer option (repeatable)")
    parser.add_argument("--timeout", type=float)
    args = parser.parse_args(argv)
    if args.name == "list":
        for peer, version in installed().items():
            print(f"{peer:12} {version or 'not installed'}")
        return 0
    if not args.folder:
        parser.error("FOLDER is required")
    opts = dict(_parse_opt(o) for o in args.opt)
    try:
        if args.name == "quality":
            q = quality(args.folder, timeout=args.timeout)
            payload = q.to_json()
            counts = {n: sum(n in v for v in q.issues.values()) for n in QUALITY_ISSUES}
            print(f"cleanvision {q.version}: {len(q.scores)} images, {len(q.issues)} with an issue {counts}; "
                  f"wall {q.wall_s:.2f} s (import {q.import_s:.2f} s), peak RSS {q.peak_rss_mb:.0f} MB")
        else:
            r = run(args.name, args.folder, timeout=args.timeout, **opts)
            payload = r.to_json()
            imp = f", import {r.import_s:.2f} s" if r.import_s is not None else ""
            print(f"{r.name} {r.version}: {len(r.groups)} groups, {len(predicted_pairs(r))} pairs; files {r.files}; "
                  f"wall {r.wall_s:.2f} s{imp}; CPU {r.cpu_s:.2f} s; peak RSS {r.peak_rss_mb:.0f} MB (tree {r.peak_tree_rss_mb:.0f} MB)")
    except PeerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        Path(args.json).write_text(json.dumps(payload, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
