"""Pluggable feature extractors for outliers and suggestions.

``cheap`` (default)
    The 56 colour/texture numbers the scan stores for every picture; costs nothing at triage time.
``onnx:PATH``
    An image embedding model in ONNX format (any image classifier or encoder exported to ONNX whose
    first input is ``N×3×H×W`` float32). Pictures are decoded at the model's input size, scaled to
    0..1 and normalised with the ImageNet mean/std (``--embed-norm none`` for models that expect raw
    0..1), and the first output is flattened and L2-normalised. Needs the optional extra
    ``imgreview[embed]`` (onnxruntime). Runs on the CPU; no model is ever downloaded.

Embeddings are cached by content digest (see :class:`EmbeddingCache`), so marking more pictures or
re-running ``--suggest`` does not embed twice.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image

from imgreview.errors import ImgreviewError

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
DEFAULT_SIDE = 224


class EmbedError(ImgreviewError, ValueError):
    """The extractor cannot be loaded or used; the message says why."""


class Extractor(Protocol):
    name: str

    def embed(self, paths: Sequence[str]) -> np.ndarray: ...


@dataclass(slots=True)
class OnnxExtractor:
    """Embeddings from an ONNX model run with onnxruntime on the CPU."""

    model_path: str
    normalise: bool = True
    batch: int = 16
    threads: int = 0  # 0: onnxruntime's default
    name: str = ""
    _session: Any = None
    _input: str = ""
    _side: tuple[int, int] = (DEFAULT_SIDE, DEFAULT_SIDE)
    _load: Callable[[str, tuple[int, int]], np.ndarray] | None = None

    def __post_init__(self) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise EmbedError("ONNX embeddings need onnxruntime: pip install 'imgreview[embed]'") from None
        if not os.path.isfile(self.model_path):
            raise EmbedError(f"no ONNX model at {self.model_path}")
        opts = ort.SessionOptions()
        if self.threads:
            opts.intra_op_num_threads = self.threads
        try:
            self._session = ort.InferenceSession(self.model_path, sess_options=opts,
                                                 providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise EmbedError(f"cannot load the ONNX model {self.model_path}: {exc}") from None
        first = self._session.get_inputs()[0]
        shape = list(first.shape)
        if len(shape) != 4 or shape[1] not in (3, "3"):
            raise EmbedError(f"{self.model_path}: the first input must be N×3×H×W, it is {shape}")
        h, w = shape[2], shape[3]
        self._side = (int(h) if isinstance(h, int) and h > 0 else DEFAULT_SIDE,
                      int(w) if isinstance(w, int) and w > 0 else DEFAULT_SIDE)
        self._input = first.name
        self.name = self.name or f"onnx:{Path(self.model_path).name}" + ("" if self.normalise else ":raw")
        self._load = load_pixels

    @property
    def input_size(self) -> tuple[int, int]:
        return self._side

    def preprocess(self, paths: Sequence[str]) -> np.ndarray:
        load = self._load or load_pixels
        arrays = [load(p, self._side) for p in paths]
        x = np.stack(arrays).astype(np.float32) / 255.0  # N×H×W×3
        if self.normalise:
            x = (x - IMAGENET_MEAN) / IMAGENET_STD
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))

    def embed(self, paths: Sequence[str]) -> np.ndarray:
        out: list[np.ndarray] = []
        for start in range(0, len(paths), self.batch):
            x = self.preprocess(paths[start:start + self.batch])
            y = self._session.run(None, {self._input: x})[0]
            y = np.asarray(y, dtype=np.float32).reshape(len(x), -1)
            out.append(y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-9))
        if not out:
            return np.zeros((0, 0), dtype=np.float32)
        return np.concatenate(out)


def load_pixels(path: str, side: tuple[int, int]) -> np.ndarray:
    """The picture as H×W×3 uint8 at the model's input size (EXIF-upright, alpha over grey;
    a file that cannot be decoded gives a grey frame, so one bad file does not stop a batch)."""
    h, w = side
    try:
        with Image.open(path) as im:
            if im.format == "JPEG":
                im.draft("RGB", (w * 2, h * 2))
            from PIL import ImageOps

            pic: Image.Image = ImageOps.exif_transpose(im)
            if pic.mode in ("RGBA", "LA", "PA") or "transparency" in pic.info:
                rgba = pic.convert("RGBA")
                bg = Image.new("RGBA", rgba.size, (128, 128, 128, 255))
                pic = Image.alpha_composite(bg, rgba)
            rgb = pic.convert("RGB").resize((w, h), Image.Resampling.BILINEAR)
        return np.asarray(rgb, dtype=np.uint8)
    except Exception:
        return np.full((h, w, 3), 128, dtype=np.uint8)


TORCH_KINDS = ("torchscript", "torchvision", "timm")
SPECS = "'cheap', 'onnx:MODEL.onnx', 'torchscript:MODEL.pt', 'torchvision:NAME[=WEIGHTS]' or 'timm:NAME[=WEIGHTS]'"


def parse_extractor(spec: str, normalise: bool = True) -> Extractor | None:
    """``cheap`` -> None (use the stored features); ``onnx:PATH`` -> an :class:`OnnxExtractor`;
    ``torchscript:PATH``, ``torchvision:NAME[=FILE]``, ``timm:NAME[=FILE]`` -> a PyTorch model
    (:mod:`imgreview.triage.torchmodels`, weights from the local cache only)."""
    if spec in ("", "cheap"):
        return None
    kind, _, rest = spec.partition(":")
    if kind == "onnx" and rest:
        return OnnxExtractor(os.path.abspath(os.path.expanduser(rest)), normalise=normalise)
    if kind in TORCH_KINDS and rest:
        from imgreview.triage.torchmodels import parse_torch

        return parse_torch(kind, rest, normalise=normalise)
    if spec.endswith(".onnx"):
        return OnnxExtractor(os.path.abspath(os.path.expanduser(spec)), normalise=normalise)
    raise EmbedError(f"unknown feature extractor {spec!r}: use {SPECS}")


class EmbeddingCache:
    """Embeddings by content digest in one ``.npz`` per extractor (written atomically)."""

    def __init__(self, folder: Path, extractor: str) -> None:
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in extractor)
        self.path = Path(folder) / f"embed-{safe}.npz"
        self.vectors: dict[str, np.ndarray] = {}
        try:
            with np.load(self.path, allow_pickle=False) as data:
                for digest, vec in zip(data["digests"].tolist(), data["vectors"], strict=True):
                    self.vectors[str(digest)] = vec
        except (FileNotFoundError, KeyError, ValueError, OSError):
            pass

    def get_many(self, extractor: Extractor, items: Sequence[tuple[str, str]]) -> np.ndarray:
        """Vectors for (path, digest) items, embedding only the digests not cached yet."""
        missing = [(p, d) for p, d in items if d not in self.vectors]
        todo = list(dict((d, (p, d)) for p, d in reversed(missing)).values())[::-1]
        if todo:
            vecs = extractor.embed([p for p, _ in todo])
            for (_, d), v in zip(todo, vecs, strict=True):
                self.vectors[d] = v
            self.save()
        if not items:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self.vectors[d] for _, d in items])

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp.npz")
        digests = np.array(list(self.vectors), dtype="U64")
        vectors = np.stack(list(self.vectors.values())) if self.vectors else np.zeros((0, 0), np.float32)
        np.savez(tmp, digests=digests, vectors=vectors)
        os.replace(tmp, self.path)
