"""A recorded animal sound as a cue (issue 12): the classifier on Whisper base's encoder (hldemo.cues.sounds),
trained on five sources in examples/sounds and judged on held-out clips from a sixth (Tux Paint's stamps).

Real audio, the real Whisper base and the shipped classifier; no mocks. Every clip is in the
repository, so these tests need nothing beside the checkout.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from hldemo.cues.sounds import (
    MIN_HELD_OUT_TOP1,
    SoundGuess,
    clip_features,
    clip_source,
    evaluate_held_out,
    load_features,
    load_sound_classifier,
    load_sound_spec,
    missing_clips,
    spec_digest,
    train_sound_classifier,
    training_clips,
)
from hldemo.errors import AudioError, CheckpointError, HierarchyError

SPEC = load_sound_spec()
ROOT = Path(SPEC["root"])
MIN_HELD_OUT = 20  # held-out clips: enough that one clip is 5 points, not 7
# Floors under the measured numbers (python -m hldemo.cues.sounds --train): they catch a broken pipeline
# (chance is 1/11 = 9 %), not a clip flipping on another CPU. Measured: held-out top-1 9/21 = 42.9 %
# (below the 80 % bar: not wired into the demo), leave-one-source-out validation 53/101 = 52.5 %.
HELD_OUT_FLOOR = 0.33
VALIDATION_FLOOR = 0.45
FEATURE_ATOL = 0.05  # shipped features are float16; different CPUs add rounding of ~1e-4


def _sha(rel: str) -> str:
    return hashlib.sha256((ROOT / rel).read_bytes()).hexdigest()


def test_every_clip_is_in_the_checkout():
    assert missing_clips(SPEC) == []


def test_every_sound_class_names_a_node(curated):
    assert len(SPEC["classes"]) >= 11
    for name, c in SPEC["classes"].items():
        assert c["node"] in curated.nodes, name


def test_the_judge_is_a_source_never_trained_on():
    held = SPEC["held_out_source"]
    train = [rel for _, rel in training_clips(SPEC)]
    held_out = [rel for c in SPEC["classes"].values() for rel in c["held_out"]]
    assert {clip_source(SPEC, rel) for rel in train}.isdisjoint({held})
    assert {clip_source(SPEC, rel) for rel in held_out} == {held}
    assert len(held_out) >= MIN_HELD_OUT and all(c["held_out"] for c in SPEC["classes"].values())
    assert len({clip_source(SPEC, rel) for rel in train}) >= 5
    assert {_sha(r) for r in train}.isdisjoint({_sha(r) for r in held_out})  # no byte-identical copy


def test_bad_spec_is_a_clear_error(tmp_path):
    spec = json.loads(Path(SPEC["root"], "hierarchies/lexicon/sound_clips.json").read_text())
    bad = tmp_path / "s.json"
    spec["classes"]["cat"]["train"] = []
    bad.write_text(json.dumps(spec))
    with pytest.raises(HierarchyError, match="needs a node, training and held-out clips"):
        load_sound_spec(bad)
    spec["classes"]["cat"]["train"] = list(spec["classes"]["cat"]["held_out"])
    bad.write_text(json.dumps(spec))
    with pytest.raises(HierarchyError, match="trains on the held-out source"):
        load_sound_spec(bad)
    with pytest.raises(HierarchyError, match="cannot read the sound classes"):
        load_sound_spec(tmp_path / "missing.json")


def test_shipped_classifier_is_the_one_of_this_spec():
    clf = load_sound_classifier()
    assert clf.classes == list(SPEC["classes"])
    assert clf.nodes == [c["node"] for c in SPEC["classes"].values()]
    assert clf.meta["spec"] == spec_digest(SPEC), "the clips changed: python -m hldemo.cues.sounds --train"
    assert 0.0 < clf.threshold <= 1.0


def test_a_broken_classifier_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "c.npz"
    bad.write_bytes(b"not a numpy file")
    with pytest.raises(CheckpointError, match="python -m hldemo.cues.sounds --train"):
        load_sound_classifier(bad)


def test_training_reproduces_the_shipped_classifier(whisper_base):
    """The script's two steps, checked without re-embedding all clips: the features of one clip per
    source (with its augmented copies) match the shipped ones, and fitting the shipped features
    gives the shipped classifier, its validation and its threshold back."""
    shipped, feats = load_sound_classifier(), load_features()
    assert set(feats) == {rel for _, rel in training_clips(SPEC)}
    first = {}
    for _, rel in training_clips(SPEC):
        first.setdefault(clip_source(SPEC, rel), rel)
    for rel in first.values():
        np.testing.assert_allclose(clip_features(whisper_base, SPEC, rel), feats[rel].astype(np.float32),
                                   atol=FEATURE_ATOL, err_msg=rel)
    again = train_sound_classifier(SPEC, feats)
    np.testing.assert_allclose(again.coef, shipped.coef, atol=1e-3)
    np.testing.assert_allclose(again.intercept, shipped.intercept, atol=1e-3)
    assert again.threshold == pytest.approx(shipped.threshold, abs=1e-4)
    v, w = again.meta["validation"], shipped.meta["validation"]
    assert (v["right"], v["n"], v["accepted"]) == (w["right"], w["n"], w["accepted"])
    assert v["top1"] >= VALIDATION_FLOOR


def test_held_out_top1_and_the_wiring_decision(whisper_base):
    report = evaluate_held_out(whisper_base, SPEC, load_sound_classifier())
    print(f"sounds, held-out top-1: {report['right']}/{report['n']} = {report['top1']:.1%}; per class "
          f"{report['per_class']}; above threshold {report['threshold']:.3f}: {report['accepted']} clips, "
          f"{report['accepted_right']} right")
    assert report["n"] >= MIN_HELD_OUT and report["top1"] >= HELD_OUT_FLOOR, report["rows"]
    assert report["wired"] == (report["top1"] >= MIN_HELD_OUT_TOP1)


def test_a_guess_names_its_node_and_says_if_it_is_sure(whisper_base):
    clf = load_sound_classifier()
    g = clf.classify(whisper_base, ROOT / SPEC["classes"]["cow"]["held_out"][0])
    assert isinstance(g, SoundGuess) and g.name in clf.classes
    assert g.node == SPEC["classes"][g.name]["node"]
    assert list(g.scores)[0] == g.name and sum(g.scores.values()) == pytest.approx(1.0, abs=1e-4)
    assert g.confident == (g.confidence >= clf.threshold)


def test_silent_and_unreadable_sounds_are_clear_errors(whisper_base, tmp_path):
    clf = load_sound_classifier()
    with pytest.raises(AudioError, match="silent"):
        clf.classify(whisper_base, (16000, np.zeros(16000, np.int16)))
    bad = tmp_path / "bad.ogg"
    bad.write_bytes(b"OggS but not really")
    with pytest.raises(AudioError, match="cannot read"):
        clf.classify(whisper_base, bad)
