"""Embeddings from PyTorch models already on this machine: TorchScript files, torchvision and timm models.

``torchscript:FILE``
    A TorchScript module (``torch.jit.script(model).save(FILE)`` or ``torch.jit.trace``) taking
    ``N×3×H×W`` float32; input 224×224 with ImageNet normalisation (``--embed-norm none`` for raw 0..1).
``torchvision:NAME`` (or ``torchvision:NAME=WEIGHTS.pth``)
    A torchvision classification model by name (``resnet50``, ``efficientnet_b0``, ...) with its
    default weights *from the local torch hub cache* (``$TORCH_HOME/hub/checkpoints``, where
    torchvision itself keeps them), or a state-dict file. The last linear layer is dropped, so the
    vector is the model's pooled features; resizing and normalisation are the weights' own.
``timm:NAME`` (or ``timm:NAME=WEIGHTS``)
    A timm model (``timm:convnext_tiny.fb_in1k``) with its pretrained weights *from the local
    Hugging Face cache* (or timm's torch hub cache for older models), or a weights file; created
    with ``num_classes=0`` (pooled features) and the model's own input size, mean and std.

Nothing is ever downloaded: weights not in the cache are an :class:`~imgreview.triage.embed.EmbedError`
saying where they were looked for. Needs the optional extra ``imgreview[torch]`` (torch, torchvision,
timm); everything runs on the CPU in inference mode.
"""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imgreview.triage.embed import DEFAULT_SIDE, IMAGENET_MEAN, IMAGENET_STD, EmbedError, load_pixels

EXTRA = "pip install 'imgreview[torch]'"
HF_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def _module(name: str, what: str) -> Any:
    """Import ``name`` or say which extra brings it (torch is imported only when a model is asked for)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        raise EmbedError(f"{what} needs {name.split('.')[0]}: {EXTRA}") from None
    except Exception as exc:  # e.g. a torchvision built for another torch
        raise EmbedError(f"{what}: cannot import {name}: {exc}") from None


@dataclass(slots=True)
class TorchExtractor:
    """Runs ``module`` on pictures decoded at ``side`` (H, W), normalised with ``mean`` / ``std``."""

    module: Any
    name: str
    side: tuple[int, int] = (DEFAULT_SIDE, DEFAULT_SIDE)
    mean: np.ndarray | None = None  # None: raw 0..1
    std: np.ndarray | None = None
    batch: int = 16

    def preprocess(self, paths: Sequence[str]) -> np.ndarray:
        x = np.stack([load_pixels(p, self.side) for p in paths]).astype(np.float32) / 255.0  # N×H×W×3
        if self.mean is not None and self.std is not None:
            x = (x - self.mean) / self.std
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))

    def embed(self, paths: Sequence[str]) -> np.ndarray:
        torch = _module("torch", "PyTorch embeddings")
        out: list[np.ndarray] = []
        with torch.inference_mode():
            for start in range(0, len(paths), self.batch):
                x = torch.from_numpy(self.preprocess(paths[start:start + self.batch]))
                y = self.module(x)
                if isinstance(y, (tuple, list)):
                    y = y[0]
                if isinstance(y, dict):
                    y = next(iter(y.values()))
                v = y.detach().float().cpu().numpy().reshape(len(x), -1)
                out.append(v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9))
        if not out:
            return np.zeros((0, 0), dtype=np.float32)
        return np.concatenate(out).astype(np.float32)


def _stats(mean: Any, std: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Per-channel mean and std as float32 arrays (None, None: raw 0..1)."""
    if mean is None or std is None:
        return None, None
    return np.asarray(mean, dtype=np.float32), np.asarray(std, dtype=np.float32)


def _file(path: str) -> str:
    full = os.path.abspath(os.path.expanduser(path))
    if not os.path.isfile(full):
        raise EmbedError(f"no weights file at {full}")
    return full


def load_state_dict(torch: Any, path: str) -> Any:
    """Tensors only (``weights_only``: a weights file cannot run code); safetensors files too."""
    try:
        if path.endswith(".safetensors"):
            st = _module("safetensors.torch", "safetensors weights")
            return st.load_file(path, device="cpu")
        state = torch.load(path, map_location="cpu", weights_only=True)
    except EmbedError:
        raise
    except Exception as exc:
        raise EmbedError(f"cannot read the weights {path}: {exc}") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    return state


def drop_head(torch: Any, model: Any) -> Any:
    """Replace the model's last ``nn.Linear`` by an identity, so it returns its pooled features."""
    nn = torch.nn
    last = None
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Linear):
            last = name
    if last is None:
        return model  # no linear head (e.g. a convolutional classifier): use the output as it is
    parent = model
    *path, leaf = last.split(".")
    for part in path:
        parent = getattr(parent, part)
    if leaf.isdigit():
        parent[int(leaf)] = nn.Identity()
    else:
        setattr(parent, leaf, nn.Identity())
    return model


def load_torchscript(path: str, normalise: bool = True) -> TorchExtractor:
    torch = _module("torch", "TorchScript embeddings")
    full = _file(path)
    try:
        with warnings.catch_warnings():  # torch >= 2.10 deprecates TorchScript in favour of torch.export
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(full, map_location="cpu")
    except Exception as exc:
        raise EmbedError(f"cannot load the TorchScript model {full}: {exc}") from None
    module.eval()
    mean, std = _stats(IMAGENET_MEAN if normalise else None, IMAGENET_STD if normalise else None)
    name = f"torchscript:{Path(full).name}" + ("" if normalise else ":raw")  # names the embedding cache
    return TorchExtractor(module, name, mean=mean, std=std)


def torch_hub_checkpoint(torch: Any, url: str) -> Path:
    """Where torch hub keeps the file of ``url`` (``$TORCH_HOME/hub/checkpoints/NAME``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url.split("?")[0])


def load_torchvision(name: str, weights_file: str | None = None) -> TorchExtractor:
    torch = _module("torch", "torchvision models")
    models = _module("torchvision.models", "torchvision models")
    try:
        builder = models.get_model_builder(name)
    except (ValueError, KeyError):
        raise EmbedError(f"torchvision has no model {name!r} (see torchvision.models.list_models())") from None
    try:
        weights = models.get_model_weights(name).DEFAULT
    except (ValueError, KeyError, AttributeError):
        weights = None
    if weights_file:
        path = Path(_file(weights_file))
    else:
        if weights is None:
            raise EmbedError(f"torchvision lists no pretrained weights for {name!r}: give a file, "
                             f"torchvision:{name}=WEIGHTS.pth")
        path = torch_hub_checkpoint(torch, weights.url)
        if not path.is_file():
            raise EmbedError(f"the weights of torchvision:{name} are not in the local cache (looked for {path}); "
                             f"imgreview never downloads: load the model once with torchvision, or give a file "
                             f"with torchvision:{name}=WEIGHTS.pth")
    model = builder(weights=None)
    try:
        model.load_state_dict(load_state_dict(torch, str(path)))
    except RuntimeError as exc:
        raise EmbedError(f"{path} does not fit torchvision:{name}: {str(exc).splitlines()[0]}") from None
    model = drop_head(torch, model).eval()
    side = (DEFAULT_SIDE, DEFAULT_SIDE)
    mean, std = _stats(IMAGENET_MEAN, IMAGENET_STD)
    if weights is not None:
        t = weights.transforms()
        crop = list(getattr(t, "crop_size", [DEFAULT_SIDE]))
        side = (int(crop[0]), int(crop[-1]))
        mean, std = _stats(getattr(t, "mean", IMAGENET_MEAN), getattr(t, "std", IMAGENET_STD))
    return TorchExtractor(model, f"torchvision:{name}:{path.name}", side=side, mean=mean, std=std)


def timm_cached_weights(timm: Any, name: str) -> Path:
    """The local file of timm model ``name``'s pretrained weights (Hugging Face cache, else torch hub)."""
    cfg = timm.models.get_pretrained_cfg(name)
    if cfg is None:
        raise EmbedError(f"timm lists no pretrained weights for {name!r}: give a file, timm:{name}=WEIGHTS")
    looked: list[str] = []
    hub_id = getattr(cfg, "hf_hub_id", None)
    if hub_id:
        hf = _module("huggingface_hub", "timm weights from the Hugging Face cache")
        repo, _, revision = str(hub_id).partition("@")
        for filename in ((cfg.hf_hub_filename,) if getattr(cfg, "hf_hub_filename", None) else HF_WEIGHT_FILES):
            found = hf.try_to_load_from_cache(repo, filename, revision=revision or None)  # a look-up, never a download
            if isinstance(found, str) and os.path.isfile(found):
                return Path(found)
            looked.append(f"{repo}/{filename} in the Hugging Face cache")
    url = getattr(cfg, "url", None)
    if url:
        torch = _module("torch", "timm models")
        path = torch_hub_checkpoint(torch, url)
        if path.is_file():
            return path
        looked.append(str(path))
    raise EmbedError(f"the weights of timm:{name} are not in the local cache (looked for {'; '.join(looked)}); "
                     f"imgreview never downloads: create the model once with timm, or give a file with "
                     f"timm:{name}=WEIGHTS")


def load_timm(name: str, weights_file: str | None = None) -> TorchExtractor:
    timm = _module("timm", "timm models")
    if not timm.is_model(name.split(".")[0]):
        raise EmbedError(f"timm has no model {name!r} (see timm.list_models())")
    path = Path(_file(weights_file)) if weights_file else timm_cached_weights(timm, name)
    try:
        model = timm.create_model(name, pretrained=True, num_classes=0,
                                  pretrained_cfg_overlay={"file": str(path)})
    except RuntimeError as exc:
        raise EmbedError(f"{path} does not fit timm:{name}: {str(exc).splitlines()[0]}") from None
    model.eval()
    cfg = timm.data.resolve_model_data_config(model)
    _, h, w = cfg.get("input_size", (3, DEFAULT_SIDE, DEFAULT_SIDE))
    mean, std = _stats(cfg.get("mean", IMAGENET_MEAN), cfg.get("std", IMAGENET_STD))
    return TorchExtractor(model, f"timm:{name}:{path.name}", side=(int(h), int(w)), mean=mean, std=std)


def parse_torch(kind: str, rest: str, normalise: bool = True) -> TorchExtractor:
    """``torchscript:FILE``, ``torchvision:NAME[=FILE]`` or ``timm:NAME[=FILE]``."""
    if kind == "torchscript":
        return load_torchscript(rest, normalise=normalise)
    name, _, file = rest.partition("=")
    if kind == "torchvision":
        return load_torchvision(name, file or None)
    return load_timm(name, file or None)
