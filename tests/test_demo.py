"""The demo engine (hldemo/demo.py) and its pictures (hldemo/render.py), without the UI."""

from __future__ import annotations

import math
import threading
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
CAT = ROOT / "examples" / "photos" / "cat_chelsea.jpg"


@pytest.fixture(scope="module")
def cat_tensor(demo_engine):
    from hldemo.data import load_image

    return demo_engine.transform(load_image(CAT)).unsqueeze(0)


@pytest.mark.parametrize("kwargs, words", [
    (dict(image=None), "no image given"),
    (dict(image=12345), "Could not use the image"),
    (dict(image=np.zeros((2, 2), dtype=np.uint8)), "too small"),
    (dict(image=str(CAT), mode="sideways"), None),
    (dict(image=str(CAT), gain=float("nan")), None),
    (dict(image=str(CAT), gain="loud"), None),
    (dict(image=str(CAT), gain=100), None),
    (dict(image=str(CAT), selection=[None, 123, "", "   "]), None),
    (dict(image=str(CAT), cue=b"\xff\xfe meow \x00"), None),
    (dict(image=str(CAT), audio=b"not audio"), None),
    (dict(image=str(CAT), audio=(16_000, np.zeros(0, dtype=np.float32))), None),
])
def test_run_never_raises(demo_engine, kwargs, words):
    r = demo_engine.run(**kwargs)
    if words:
        assert not r.ok and words in r.message, r.message
    else:
        assert r.ok, r.message
        assert r.mode in ("enhance", "inhibit") and 1.0 <= r.gain <= 8.0 and math.isfinite(r.gain)
    assert r.explanation
    r.to_dict()  # JSON-ready


def test_control_values_are_reported(demo_engine):
    r = demo_engine.run(str(CAT), cue="meow", gain=100, mode="sideways")
    assert r.gain == 8.0 and r.mode == "enhance"
    assert any("outside" in n for n in r.notes) and any("mode" in n for n in r.notes)


def test_expert_logits_are_the_full_networks_restricted(demo_engine, cat_tensor):
    """Cutting out an expert does not change its categories' logits (paper eq. 3)."""
    model = demo_engine.model
    expert = demo_engine.expert_for(model.hierarchy.resolve(["domestic_cat", "n03063599"]))
    assert expert.trunk is model.trunk  # the trunk is shared, not copied
    with torch.inference_mode():
        full = model(cat_tensor)
        part = expert(cat_tensor)
    idx = [model.categories.index(w) for w in expert.categories]
    torch.testing.assert_close(part, full[:, idx], atol=1e-4, rtol=1e-4)


def test_gains_are_per_call(demo_engine):
    plain = demo_engine.run(str(CAT), cue="dog", gain=1.0)
    boosted = demo_engine.run(str(CAT), cue="dog", gain=6.0)
    again = demo_engine.run(str(CAT), cue="dog", gain=1.0)
    assert boosted.gains == {"dog": 6.0} and plain.gains == again.gains == {}
    assert plain.answer() == again.answer()
    assert plain.expert == boosted.expert  # the expert itself is untouched by attention


def test_results_are_deterministic(demo_engine):
    a = demo_engine.run(str(CAT), cue="a cup of coffee", gain=3.0)
    b = demo_engine.run(str(CAT), cue="a cup of coffee", gain=3.0)
    assert a.answer() == b.answer()


def test_expert_cache_is_a_bounded_lru(demo_engine):
    cats = demo_engine.categories
    limit = demo_engine.cache_info()["max"]
    first = demo_engine.expert_for([cats[0]])
    for i in range(1, limit + 5):
        demo_engine.expert_for([cats[i]])
        assert demo_engine.expert_for([cats[0]]) is first  # recently used: kept
    info = demo_engine.cache_info()
    assert info["size"] == limit
    assert demo_engine.expert_for([cats[1]]) is not None  # evicted ones are rebuilt


def test_expert_cache_is_thread_safe(demo_engine):
    key = demo_engine.model.hierarchy.resolve(["birds"])
    got: list = []
    barrier = threading.Barrier(8)

    def work():
        barrier.wait()
        got.append(demo_engine.expert_for(key))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 8 and all(g is got[0] for g in got)


def test_inhibit_mode_and_negated_cues(demo_engine):
    r = demo_engine.run(str(CAT), cue="cat", mode="inhibit", gain=4)
    assert r.expert_is_full and r.gains == {"domestic_cat": 0.25}
    r = demo_engine.run(str(CAT), cue="not a dog")
    assert r.expert_is_full and r.gains == {"dog": 0.5} and "turned down" in r.explanation
    r = demo_engine.run(str(CAT), cue="a cat but not a tabby")
    assert r.ok and "n02123045" not in r.categories


def test_export_round_trip(demo_engine, cat_tensor, tmp_path):
    from hldemo.checkpoint import load_model

    zip_path = demo_engine.export_expert(["domestic_cat", "n03063599"], folder=tmp_path)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(tmp_path / "unzipped")
    folder = next((tmp_path / "unzipped").rglob("config.json")).parent
    loaded = load_model(folder, teacher=demo_engine.teacher)
    expert = demo_engine.expert_for(demo_engine.model.hierarchy.resolve(["domestic_cat", "n03063599"]))
    assert loaded.categories == expert.categories
    with torch.inference_mode():
        torch.testing.assert_close(loaded(cat_tensor), expert(cat_tensor), atol=2e-3, rtol=2e-3)
    with pytest.raises(Exception, match="select"):
        demo_engine.export_expert([])


def test_hierarchy_pictures_stay_readable(demo_engine):
    from hldemo.render import hierarchy_svg, result_svg

    h = demo_engine.hierarchy
    for selection in ([], ["dog"], ["birds", "food", "n03063599", "tabby", "fish & sea life"], ["domestic_cat"]):
        r = demo_engine.run(str(CAT), selection=selection)
        svg = result_svg(h, r)
        root = ET.fromstring(svg)  # well-formed XML
        texts = [t for t in root.iter("{http://www.w3.org/2000/svg}text")]
        assert 29 <= len(texts) <= 110, (selection, len(texts))
        height = float(root.get("viewBox").split()[3])
        assert height < 1800
    svg = hierarchy_svg(h, [], title="nothing <computed> & co")
    assert "&lt;computed&gt;" in svg and ET.fromstring(svg) is not None


def test_panels(demo_engine):
    from hldemo.render import panels

    p = panels(demo_engine.hierarchy, demo_engine.run(str(CAT), cue="meow"))
    assert set(p["teacher"]) and len(p["attention"]) == 5
    assert "fewer GMACs" in p["costs"] and "<svg" in p["hierarchy"]
    p = panels(demo_engine.hierarchy, demo_engine.run(None))
    assert p["teacher"] is None and "⚠️" in p["explanation"]
