"""PyTorch feature extractors: TorchScript files, torchvision and timm models from the local cache.

Every model is built here with random weights and put where the real caches keep them; nothing is
downloaded (the download functions are made to fail). Without torch / torchvision / timm installed
(``imgreview[torch]``) the model tests skip; the missing-dependency message is always tested.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from imgreview.triage import embed
from imgreview.triage.embed import EmbedError


def need(name: str) -> Any:
    """The module, or skip (a torchvision built for another torch fails with more than ImportError)."""
    try:
        return importlib.import_module(name)
    except Exception as exc:
        pytest.skip(f"{name} not usable here: {type(exc).__name__}: {str(exc)[:80]}")


def pictures(tmp_path: Path, n: int = 3) -> list[str]:
    rng = np.random.default_rng(1)
    paths = []
    for k in range(n):
        arr = (rng.random((60 + 10 * k, 80, 3)) * 255 * (k + 1) / n).astype(np.uint8)
        path = tmp_path / f"p{k}.png"
        Image.fromarray(arr).save(path)
        paths.append(str(path))
    return paths


@pytest.fixture()
def no_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to fetch weights fails the test."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"tried to download: {args}")

    import urllib.request

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    if "torch" in sys.modules or importlib.util.find_spec("torch"):
        try:
            torch = importlib.import_module("torch")
            monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
            monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
        except Exception:
            pass
    try:
        hf = importlib.import_module("huggingface_hub")
        monkeypatch.setattr(hf, "hf_hub_download", refuse)
        monkeypatch.setattr(importlib.import_module("huggingface_hub.file_download"), "hf_hub_download", refuse)
    except Exception:
        pass


@pytest.mark.parametrize("spec", ["torchscript:model.pt", "torchvision:resnet18", "timm:resnet18"])
def test_without_torch_the_message_names_the_extra(spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("torch", "torchvision", "torchvision.models", "timm"):
        monkeypatch.setitem(sys.modules, name, None)  # import fails as when it is not installed
    with pytest.raises(EmbedError, match=r"imgreview\[torch\]"):
        embed.parse_extractor(spec)


def test_unknown_kinds_list_every_spec() -> None:
    with pytest.raises(EmbedError, match="torchvision:NAME"):
        embed.parse_extractor("pytorch:resnet")


def test_torchscript_file_embeds_like_the_module(tmp_path: Path, no_downloads: None) -> None:
    torch = need("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, stride=2), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten()).eval()
    torch.jit.script(net).save(str(tmp_path / "m.pt"))
    ex = embed.parse_extractor(f"torchscript:{tmp_path / 'm.pt'}")
    assert ex is not None and ex.name == "torchscript:m.pt"
    paths = pictures(tmp_path)
    vecs = ex.embed(paths)
    assert vecs.shape == (3, 32) and np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-5)
    with torch.no_grad():
        want = net(torch.from_numpy(ex.preprocess(paths))).numpy()
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    assert np.allclose(vecs, want, atol=1e-5)
    assert not np.allclose(vecs[0], vecs[2])
    raw = embed.parse_extractor(f"torchscript:{tmp_path / 'm.pt'}", normalise=False)
    assert raw is not None and raw.name != ex.name  # cached apart
    with pytest.raises(EmbedError, match="no weights file"):
        embed.parse_extractor(f"torchscript:{tmp_path / 'missing.pt'}")
    (tmp_path / "bad.pt").write_bytes(b"not a model")
    with pytest.raises(EmbedError, match="cannot load"):
        embed.parse_extractor(f"torchscript:{tmp_path / 'bad.pt'}")


def test_torchvision_model_from_the_torch_hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    no_downloads: None) -> None:
    torch = need("torch")
    models = need("torchvision.models")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(EmbedError, match="never downloads"):
        embed.parse_extractor("torchvision:mobilenet_v3_small")  # not in the cache yet
    torch.manual_seed(0)
    net = models.mobilenet_v3_small(weights=None).eval()
    url = models.MobileNet_V3_Small_Weights.DEFAULT.url
    checkpoints = tmp_path / "torch" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    torch.save(net.state_dict(), checkpoints / url.rsplit("/", 1)[-1])
    ex = embed.parse_extractor("torchvision:mobilenet_v3_small")
    assert ex is not None and ex.name.startswith("torchvision:mobilenet_v3_small:")
    paths = pictures(tmp_path)
    vecs = ex.embed(paths)
    net.classifier[3] = torch.nn.Identity()  # the pooled features: the last linear layer dropped
    with torch.no_grad():
        want = net(torch.from_numpy(ex.preprocess(paths))).numpy()
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    assert vecs.shape == (3, want.shape[1]) and np.allclose(vecs, want, atol=1e-4)
    other = tmp_path / "other.pth"  # a weights file given by path, and one that does not fit
    torch.save(models.mobilenet_v3_small(weights=None).state_dict(), other)
    assert not np.allclose(embed.parse_extractor(f"torchvision:mobilenet_v3_small={other}").embed(paths), vecs)
    torch.save({"w": torch.zeros(3)}, tmp_path / "wrong.pth")
    with pytest.raises(EmbedError, match="does not fit"):
        embed.parse_extractor(f"torchvision:mobilenet_v3_small={tmp_path / 'wrong.pth'}")
    with pytest.raises(EmbedError, match="no model"):
        embed.parse_extractor("torchvision:no_such_net")


def test_timm_model_from_the_hugging_face_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                no_downloads: None) -> None:
    torch = need("torch")
    timm = need("timm")
    constants = need("huggingface_hub.constants")
    save_file = need("safetensors.torch").save_file
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    name = "test_resnet.r160_in1k"
    with pytest.raises(EmbedError, match="never downloads"):
        embed.parse_extractor(f"timm:{name}")
    torch.manual_seed(0)
    net = timm.create_model(name, pretrained=False).eval()
    repo = timm.models.get_pretrained_cfg(name).hf_hub_id
    folder = tmp_path / "hf" / ("models--" + repo.replace("/", "--"))
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("0" * 40)
    snap = folder / "snapshots" / ("0" * 40)
    snap.mkdir(parents=True)
    save_file(net.state_dict(), str(snap / "model.safetensors"))
    ex = embed.parse_extractor(f"timm:{name}")
    assert ex is not None and ex.name == f"timm:{name}:model.safetensors"
    paths = pictures(tmp_path)
    vecs = ex.embed(paths)
    net.reset_classifier(0)  # pooled features
    with torch.no_grad():
        want = net(torch.from_numpy(ex.preprocess(paths))).numpy()
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    assert vecs.shape == want.shape and np.allclose(vecs, want, atol=1e-4)
    with pytest.raises(EmbedError, match="no model"):
        embed.parse_extractor("timm:no_such_net")
