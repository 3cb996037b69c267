"""Triage building blocks: one test per quality flag, outliers, the suggestion model, the ONNX extractor, metadata."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image, ImageFilter

from imgreview.scan import metadata, quality
from imgreview.triage import embed, outliers, suggest


def photo(seed: int, size=(400, 300)) -> Image.Image:
    """A photo-like picture: smooth colour field plus structure at several scales."""
    rng = np.random.default_rng(seed)
    h, w = size[1], size[0]
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([np.sin(xx * rng.uniform(3, 9) + rng.uniform(0, 6)) * 60 + 120 + rng.uniform(-30, 30)
                     for _ in range(3)], axis=2)
    blobs = np.zeros((h, w))
    for _ in range(30):
        cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 0.75), rng.uniform(0.01, 0.08)
        blobs += 80 * ((xx - cx) ** 2 + (yy - cy) ** 2 < r * r)
    noise = rng.normal(0, 12, (h, w, 1))
    arr = np.clip(base + blobs[..., None] * rng.uniform(-1, 1, 3) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(arr)


def verdicts(defective: Image.Image, n: int = 12):
    imgs = [photo(i) for i in range(n)] + [defective]
    stats = [quality.measure(im, *im.size)[0] for im in imgs]
    return quality.flag(stats, ["a"] * len(imgs))


DEFECTS = {
    "dark": lambda im: Image.fromarray((np.asarray(im) * 0.15).astype(np.uint8)),
    "light": lambda im: Image.fromarray(np.clip(np.asarray(im) * 1.5 + 120, 0, 255).astype(np.uint8)),
    "blurry": lambda im: im.filter(ImageFilter.GaussianBlur(6)),
    "low_information": lambda im: Image.new("RGB", im.size, (90, 120, 60)),
    "odd_aspect_ratio": lambda im: im.crop((0, 120, 400, 160)),
    "odd_size": lambda im: im.resize((40, 30)),
    "grayscale": lambda im: im.convert("L").convert("RGB"),
}


@pytest.mark.parametrize("issue", quality.ISSUES)
def test_each_flag_fires_on_its_defect_and_not_on_normal_pictures(issue):
    out = verdicts(DEFECTS[issue](photo(99)))
    assert issue in out[-1].issues, out[-1]
    assert out[-1].scores[issue] < quality.THRESHOLDS[issue]
    for v in out[:-1]:
        assert v.issues == [], v


def test_grayscale_not_flagged_in_a_greyscale_label():
    imgs = [photo(i).convert("L").convert("RGB") for i in range(8)]
    stats = [quality.measure(im, *im.size)[0] for im in imgs]
    assert all("grayscale" not in v.issues for v in quality.flag(stats, ["bw"] * 8))


def test_stats_pack_round_trip():
    s, f = quality.measure(photo(1), 4000, 3000)
    back, g = quality.decode(quality.encode(s, f))
    assert back.width == 4000 and back.height == 3000
    assert back.entropy == pytest.approx(s.entropy, rel=1e-6)
    assert np.allclose(g, f, atol=2e-3)
    assert f.shape == (quality.FEATURE_DIM,) and np.isfinite(f).all()
    with pytest.raises(ValueError):
        quality.decode(b"short")


def test_tiny_and_degenerate_pictures_do_not_crash():
    for im in (Image.new("RGB", (1, 1)), Image.new("RGB", (2, 500), (255, 255, 255))):
        s, f = quality.measure(im, *im.size)
        assert np.isfinite(f).all()
        (v,) = quality.flag([s], [None])
        assert "odd_size" in v.issues


def test_outlier_scores_rank_the_stranger_first():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (60, 10))
    x[17] += 8
    s = outliers.outlier_scores(x, ["a"] * 60)
    assert int(np.argmax(s)) == 17 and s[17] > 2
    d = outliers.knn_distance(outliers.standardise(x), block=7)
    d2 = outliers.knn_distance(outliers.standardise(x), block=1024)
    assert np.allclose(d, d2, atol=1e-4)


@pytest.mark.parametrize("model", ["knn", "logistic"])
def test_suggester_ranks_the_unwanted_kind_first(model):
    rng = np.random.default_rng(1)
    wanted = rng.normal(0, 1, (200, 12))
    unwanted = rng.normal(0, 1, (20, 12)) + np.r_[3, -3, 3, -3, np.zeros(8)]
    x = np.vstack([wanted, unwanted])
    truth = np.r_[np.zeros(200, bool), np.ones(20, bool)]
    marked = np.r_[0:10, 200:210]
    s = suggest.Suggester(model=model).fit(x[marked], truth[marked], pool=x)
    rest = np.setdiff1d(np.arange(220), marked)
    p = s.predict(x[rest])
    top = rest[suggest.rank(p)[:10]]
    assert truth[top].mean() >= 0.9
    assert s.used == model


def test_suggester_needs_an_unwanted_mark():
    with pytest.raises(suggest.SuggestError):
        suggest.Suggester().fit(np.zeros((3, 2)), [False, False, False])


def tiny_onnx_model(path, side=16, dim=4):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    w = np.arange(3 * dim, dtype=np.float32).reshape(3, dim) - 5
    graph = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["x"], ["p"]),
         helper.make_node("Flatten", ["p"], ["f"]),
         helper.make_node("MatMul", ["f", "w"], ["y"])],
        "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, side, side])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", dim])],
        [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return w


def test_onnx_extractor_runs_a_self_built_model(tmp_path):
    pytest.importorskip("onnxruntime")
    w = tiny_onnx_model(tmp_path / "m.onnx")
    paths = []
    for i, colour in enumerate([(255, 0, 0), (0, 0, 255), (250, 5, 5)]):
        p = tmp_path / f"{i}.png"
        Image.new("RGB", (50, 40), colour).save(p)
        paths.append(str(p))
    ex = embed.parse_extractor(f"onnx:{tmp_path / 'm.onnx'}", normalise=False)
    assert ex.input_size == (16, 16)
    v = ex.embed(paths)
    assert v.shape == (3, 4)
    expected = np.array([1.0, 0, 0], np.float32) @ w
    assert np.allclose(v[0], expected / np.linalg.norm(expected), atol=1e-3)
    assert v[0] @ v[2] > v[0] @ v[1]
    cache = embed.EmbeddingCache(tmp_path / "s", ex.name)
    got = cache.get_many(ex, [(paths[0], "d0"), (paths[1], "d1"), (paths[0], "d0")])
    assert got.shape == (3, 4)
    again = embed.EmbeddingCache(tmp_path / "s", ex.name)
    assert set(again.vectors) == {"d0", "d1"}


def test_onnx_extractor_errors(tmp_path):
    with pytest.raises(embed.EmbedError):
        embed.parse_extractor("torch:resnet")
    with pytest.raises(embed.EmbedError):
        embed.parse_extractor(f"onnx:{tmp_path / 'missing.onnx'}")
    assert embed.parse_extractor("cheap") is None


def _rational(x):
    return float(x)


def test_metadata_gps_description_comment_keywords():
    im = Image.new("RGB", (20, 20), (1, 2, 3))
    exif = Image.Exif()
    exif[0x010E] = "Shop front, Sapporo"
    exif[0x9C9E] = "ramen;storefront".encode("utf-16-le") + b"\0\0"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (_rational(43), _rational(3), _rational(36)), 3: "E",
                4: (_rational(141), _rational(21), _rational(0))})
    exif.get_ifd(0x8769)[0x9286] = b"ASCII\0\0\0taken at lunch"
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject><rdf:Bag>'
           b'<rdf:li>Ramen</rdf:li><rdf:li>noodles &amp; soup</rdf:li></rdf:Bag></dc:subject>'
           b'</rdf:Description></rdf:RDF></x:xmpmeta>')
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif, xmp=xmp)
    got = metadata.extract(Image.open(io.BytesIO(buf.getvalue())))
    assert got["gps"] == pytest.approx([43.06, 141.35], abs=1e-4)
    assert got["description"] == "Shop front, Sapporo"
    assert got["comment"] == "taken at lunch"
    assert got["keywords"] == ["ramen", "storefront", "noodles & soup"]  # "Ramen" again: de-duplicated


def test_metadata_iptc_keywords_in_tiff_and_png_text():
    def rec(ds, text):
        data = text.encode()
        return b"\x1c\x02" + bytes([ds]) + struct.pack(">H", len(data)) + data
    im = Image.new("RGB", (8, 8))
    buf = io.BytesIO()
    im.save(buf, "TIFF", tiffinfo={33723: rec(25, "bowl") + rec(25, "shoyu") + rec(120, "A bowl")})
    got = metadata.extract(Image.open(io.BytesIO(buf.getvalue())))
    assert got.get("keywords") == ["bowl", "shoyu"] and got.get("description") == "A bowl"
    from PIL import PngImagePlugin
    info = PngImagePlugin.PngInfo()
    info.add_text("Description", "menu board")
    buf = io.BytesIO()
    im.save(buf, "PNG", pnginfo=info)
    assert metadata.extract(Image.open(io.BytesIO(buf.getvalue()))) == {"description": "menu board"}


def test_metadata_garbage_is_nothing():
    im = Image.new("RGB", (8, 8))
    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: "N", 2: (0.0, 0.0, 0.0), 3: "E", 4: (0.0, 0.0, 0.0)})
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif)
    assert "gps" not in metadata.extract(Image.open(io.BytesIO(buf.getvalue())))
    out: dict = {}
    bad = Image.Exif()
    bad.get_ifd(0x8825).update({2: "garbage", 4: (1, 2)})
    metadata._from_exif(bad, out, [])
    assert out == {}
