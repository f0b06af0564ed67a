"""The demo engine (hldemo/demo/engine.py) and its pictures and words (hldemo/demo/render.py), without the UI."""

from __future__ import annotations

import math
import threading
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import HOUSE_CATS

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
    assert r.expert_is_full and r.gains == {"dog": 1 / demo_engine.default_gain} and "turned down" in r.explanation
    r = demo_engine.run(str(CAT), cue="a cat but not a tabby")
    assert r.ok and "n02123045" not in r.categories


def test_export_round_trip(demo_engine, cat_tensor, tmp_path):
    from hldemo.net.checkpoint import load_model

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
    from hldemo.demo.render import hierarchy_svg, result_svg

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
    from hldemo.demo.render import panels

    p = panels(demo_engine.hierarchy, demo_engine.run(str(CAT), cue="meow"))
    assert set(p["teacher"]) and len(p["attention"]) == 5
    assert "fewer GMACs" in p["costs"] and "<svg" in p["hierarchy"]
    p = panels(demo_engine.hierarchy, demo_engine.run(None))
    assert p["teacher"] is None and "⚠️" in p["explanation"]


# --- the cost panel: timed like python -m hldemo.bench ------------------------------------------
def test_the_panel_times_every_network_with_the_benchmarks_code(demo_engine, monkeypatch):
    """Teacher, full NHL and expert go through hldemo.net.timing.time_forwards, the function the
    benchmark times with, and the panel shows exactly what it measured."""
    from hldemo import bench
    from hldemo.net import timing

    calls: list = []
    real = timing.time_forwards

    def recording(networks, x, rounds, warmup=0):
        out = real(networks, x, rounds, warmup)
        calls.append((dict(networks), rounds, out[1]))
        return out

    monkeypatch.setattr(timing, "time_forwards", recording)
    r = demo_engine.run(str(CAT), cue="meow")
    assert r.ok and not r.expert_is_full and len(calls) == 1
    networks, rounds, stats = calls[0]
    assert list(networks) == ["teacher", "full NHL", "expert", "full NHL + attention"] and rounds >= 3
    assert networks["full NHL"] is demo_engine.model and networks["expert"].categories == r.categories
    teacher = networks["teacher"]  # the benchmark's optimisations: batch-norms folded, channels-last
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in teacher.modules())
    assert all(m.weight.is_contiguous(memory_format=torch.channels_last)
               for m in teacher.modules() if isinstance(m, torch.nn.Conv2d))
    assert [c.ms for c in r.costs] == [round(stats[k]["median"], 2)
                                       for k in ("teacher", "full NHL", "expert", "full NHL + attention")]
    assert r.costs[3].gmacs == r.costs[1].gmacs  # the attention pass is a full-NHL pass
    bench.time_models({"teacher": teacher}, batch=1, warmup=0, rounds=1)
    assert len(calls) == 2  # the benchmark times through the same function


def test_panel_ratios_agree_with_the_benchmark(demo_engine):
    """The panel's time ratios to the teacher are the benchmark's: the panel's median lies within the
    range of the benchmark's ratios over interleaved blocks, widened by 20 % either way."""
    from statistics import median

    from hldemo import bench
    from hldemo.net import timing

    from hldemo.net.attention import branch_gains

    expert = demo_engine.expert_for(demo_engine.hierarchy.resolve("domestic_cat"))
    gains = branch_gains(demo_engine.hierarchy, demo_engine.run(str(CAT), cue="meow").gains)
    # the panel's networks, attention pass included: the full NHL runs next to it with warm weights,
    # which makes its ratio a few percent lower than in a set without it
    benchmarked = {"teacher": timing.inference_teacher(demo_engine.teacher), "nhl": demo_engine.model, "expert": expert,
                   "attention": lambda images: demo_engine.model(images, gains)}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the app's setting: one thread per request
    runs, latencies = [], []
    try:
        bench.time_models(benchmarked, batch=1, warmup=3, rounds=1)
        for _ in range(5):  # blocks of both, so that load from other processes hits them alike
            runs += [demo_engine.run(str(CAT), cue="meow") for _ in range(2)]
            latencies.append(bench.time_models(benchmarked, batch=1, warmup=0, rounds=6))
    finally:
        torch.set_num_threads(threads)
    for row, key in ((1, "nhl"), (2, "expert")):
        panel = median(r.costs[row].ms / r.costs[0].ms for r in runs)
        benchmark = [lat[key]["median"] / lat["teacher"]["median"] for lat in latencies]
        # the tolerance is the benchmark's own spread over the 5 blocks (wide when other processes load
        # the machine: a fresh-clone CI run once measured the expert at 0.81x by median against 1.02x
        # in the panel) widened by 20 %, not a fixed band around one median
        assert 0.8 * min(benchmark) <= panel <= 1.2 * max(benchmark), (key, panel, benchmark)


# --- the engine as a library ----------------------------------------------------------------------
def test_engine_leaves_threads_alone_and_removes_its_exports(teacher, demo_checkpoint):
    from hldemo.demo.engine import DemoEngine

    threads = torch.get_num_threads()
    torch.set_num_threads(3)  # anything but the demo's default of 1
    try:
        with DemoEngine(demo_checkpoint, teacher=teacher, speech_model=None, cues=False) as engine:
            assert torch.get_num_threads() == 3
            zip_path = engine.export_expert(["domestic_cat"])
            assert zip_path.parent == engine.export_dir and zip_path.is_file()
        assert not engine.export_dir.exists()
    finally:
        torch.set_num_threads(threads)


def test_configure_threads(monkeypatch):
    from hldemo.demo.engine import THREADS_ENV, configure_threads
    from hldemo.errors import InputError

    threads = torch.get_num_threads()
    try:
        monkeypatch.setenv(THREADS_ENV, "2")
        assert configure_threads() == 2 == torch.get_num_threads()
        assert configure_threads(1) == 1 == torch.get_num_threads()
        for bad in ("two", "0", "1.5"):
            monkeypatch.setenv(THREADS_ENV, bad)
            with pytest.raises(InputError, match=THREADS_ENV):
                configure_threads()
    finally:
        torch.set_num_threads(threads)


def test_a_hub_checkpoint_gets_the_teacher_its_config_names(tmp_path, monkeypatch, demo_checkpoint):
    """The backbone of a Hub checkpoint is read from its own config (here from the Hub cache,
    offline): one on another backbone gets that backbone (whose weights are not installed: a clear
    error), never the Lite0 teacher; an unreadable one is an error too."""
    import json

    import huggingface_hub.constants

    from hldemo.demo.engine import DemoEngine
    from hldemo.errors import CheckpointError

    revision = "0" * 40
    repo = tmp_path / "hub" / "models--someone--nhl-lite1"
    snapshot = repo / "snapshots" / revision
    snapshot.mkdir(parents=True)
    for name in ("head.safetensors", "hierarchy.json"):
        (snapshot / name).symlink_to(Path(demo_checkpoint) / name)
    config = json.loads((Path(demo_checkpoint) / "config.json").read_text())
    config["backbone"] = "tf_efficientnet_lite1"  # the same trunk shapes as Lite0: a wrong teacher would load silently
    (snapshot / "config.json").write_text(json.dumps(config))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(CheckpointError, match="tf_efficientnet_lite1"):
        DemoEngine("someone/nhl-lite1", speech_model=None, cues=False)
    with pytest.raises(CheckpointError, match="Hub"):
        DemoEngine("someone/not-in-the-cache", speech_model=None, cues=False)


def test_the_cue_reaches_the_result_as_the_matcher_gave_it(demo_engine):
    """One cue contract: the engine keeps the matcher's CueResult, and its JSON is the matcher's."""
    import json

    from hldemo.cues.matcher import CueResult

    matched = demo_engine.matcher.match("a cat but not a lion")
    r = demo_engine.run(str(CAT), cue="a cat but not a lion")
    assert isinstance(r.cue, CueResult) and r.cue.source == "text"
    assert (r.cue.node_ids, r.cue.inhibit_node_ids, r.cue.categories) == \
        (matched.node_ids, matched.inhibit_node_ids, matched.categories) == (["domestic_cat"], ["n02129165"], matched.categories)  # lion
    assert r.selection == ["domestic_cat"] and r.gains["n02129165"] == 1 / r.gain  # turned down in the full network
    cue_json = json.loads(json.dumps(r.to_dict()))["cue"]
    assert {k: v for k, v in cue_json.items() if k != "ms"} == {k: v for k, v in matched.to_dict().items() if k != "ms"}
    none = demo_engine.run(str(CAT))
    assert none.cue.source == "none" and not none.cue.understood and none.expert_is_full


# --- attention in the full network, and the expert's blind spot (issue 16) -------------------------
def _probability(predictions, wnid: str) -> float:
    return next((q.probability for q in predictions if q.wnid == wnid), 0.0)


def test_a_wrong_cue_does_not_fool_the_full_network(demo_engine):
    """'a truck' on a cat: the expert can only name trucks, so it says how little of the full
    network's belief its categories hold, and the attention column still sees a cat."""
    r = demo_engine.run(str(CAT), cue="a truck")
    assert r.ok and not r.expert_is_full and r.gains, r.message
    trucks = set(r.categories)
    assert r.expert[0].wnid in trucks
    assert r.nhl_attention[0].wnid in HOUSE_CATS and r.nhl_attention[0].wnid == r.nhl[0].wnid
    assert r.expert_share is not None and r.expert_share < 0.05 and r.expert_share_low
    assert "probably not" in r.explanation and r.nhl[0].name in r.explanation
    assert f"says “{r.expert[0].name}”" not in r.explanation  # no confident sentence about the expert's answer
    assert "belief" in r.explanation


def test_a_right_cue_raises_the_right_category(demo_engine):
    """'meow' on a cat: the attention column's cat probability is higher than the full NHL's."""
    r = demo_engine.run(str(CAT), cue="meow")
    assert r.gains == {"domestic_cat": demo_engine.default_gain} and demo_engine.default_gain > 1
    top = r.nhl[0].wnid
    assert top in HOUSE_CATS
    assert _probability(r.nhl_attention, top) > _probability(r.nhl, top)
    assert r.expert_share > 0.5 and not r.expert_share_low  # the cat expert sees most of the belief
    assert sum(q.probability for q in r.nhl_attention if q.wnid in HOUSE_CATS) > \
        sum(q.probability for q in r.nhl if q.wnid in HOUSE_CATS)
    assert set(r.to_dict()) >= {"nhl_attention", "expert_share", "expert_share_low"}


def test_random_wrong_cues_at_the_default_gain_keep_the_answer(demo_engine, photo_batch):
    """On the committed photos, 10 random wrong subgroup or group cues each at the default gain
    leave the full network's top-1 as it was for >= 97 % of (photo, cue) pairs (the model card
    measures the same on the held-out sets)."""
    import random

    from hldemo.net.attention import branch_gains

    model, h = demo_engine.model, demo_engine.hierarchy
    x, wnids = photo_batch
    rng = random.Random(0)
    with torch.inference_mode():
        features = model.trunk(x)
        plain = model.head(features).argmax(1)
        kept = total = 0
        for level in (1, 2):
            nodes = [n.id for n in h.level(level)]
            cues = [[rng.choice([n for n in nodes if w not in h.nodes[n].categories]) for w in wnids] for _ in range(10)]
            for draw in cues:
                gains = [branch_gains(h, {n: demo_engine.default_gain}) for n in draw]
                kept += int((model.head(features, gains).argmax(1) == plain).sum())
                total += len(wnids)
    assert kept / total >= 0.97, (kept, total)


def test_default_gain_and_expert_card_come_from_the_checkpoint_folder(tmp_path, teacher, demo_checkpoint):
    """attention.json sets the engine's default gain; experts.json's measurements of an expert are
    stated in the cost panel and the explanation only for the node it measured."""
    import json
    import shutil

    from hldemo.demo.engine import DemoEngine
    from hldemo.demo.render import cost_table_html
    from hldemo.errors import CheckpointError
    from hldemo.net.attention import FALLBACK_GAIN, load_default_gain
    from hldemo.net.checkpoint import load_expert_card

    folder = tmp_path / "nhl"
    shutil.copytree(demo_checkpoint, folder, ignore=shutil.ignore_patterns("attention.json", "experts.json", "*.png"))
    assert load_default_gain(folder) == FALLBACK_GAIN and load_expert_card(folder) == {}
    (folder / "attention.json").write_text(json.dumps({"gain": 1.7}))
    (folder / "experts.json").write_text(json.dumps({"source": "test", "sets": "test", "nodes": {
        "domestic_cat": {"restricted_agreement": 0.96, "photos": 210, "macs_vs_teacher": 0.89}}}))
    with DemoEngine(folder, teacher=teacher, speech_model=None, cues=False, timing_rounds=1) as engine:
        assert engine.default_gain == 1.7
        r = engine.run(str(CAT), selection=["domestic_cat"])
        assert r.gain == 1.7 and r.gains == {"domestic_cat": 1.7}
        assert r.expert_card["restricted_agreement"] == 0.96 and r.expert_card["node"] == "domestic_cat"
        assert "96%" in r.explanation and "n=210" in r.explanation
        assert "96%" in cost_table_html(r.costs, r.expert_is_full, r.expert_card)
        other = engine.run(str(CAT), selection=["domestic_cat", "n03063599"])  # not the measured expert
        assert other.expert_card is None and "n=210" not in other.explanation
    (folder / "experts.json").write_text("[1, 2]")
    with pytest.raises(CheckpointError, match="experts.json"):
        load_expert_card(folder)


def test_the_attention_examples_tip_the_full_network_to_the_right_category(demo_engine):
    """The demo's attention examples (examples/photos/credits.csv): the right cue raises the
    labelled category's probability in the full network, and turns a wrong top-1 into the right
    category on at least one of them."""
    from hldemo.data import load_example_credits, wnid_of

    rows = [row for row in load_example_credits() if row.get("cue")]
    assert len(rows) >= 2
    tipped = 0
    for row in rows:
        label = wnid_of(row["file"])
        r = demo_engine.run(str(ROOT / "examples" / "photos" / row["file"]), cue=row["cue"], top_k=1000)
        assert r.ok and label in r.categories, (row, r.message)  # the cue names the right category
        assert _probability(r.nhl_attention, label) > _probability(r.nhl, label), row
        tipped += r.nhl[0].wnid != label and r.nhl_attention[0].wnid == label
    assert tipped >= 1
