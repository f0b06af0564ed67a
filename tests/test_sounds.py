"""A recorded sound as the cue (issue 18): YAMNet under LiteRT, the AudioSet -> hierarchy lexicon, the gate,
and one audio input for speech and sounds.

Real audio, the real YAMNet, the real gate and (for speech) the real Whisper; no mocks. Every clip and
file is in the repository, so these tests need nothing beside the checkout.
"""

import hashlib
import json
import os
import runpy
import shutil
import subprocess
import sys

import numpy as np
import pytest

from hldemo.cues.sound_clips import is_right, load_sound_clips, report, score_clips
from hldemo.cues.sounds import (GATE_FILE, SOUND_LEXICON, YAMNET_FILE, Gate, SoundTagger, decide, load_gate,
                                load_sound_lexicon, load_sound_tagger)
from hldemo.errors import AudioError, CheckpointError
from hldemo.utils import REPO_ROOT

GOLDEN = REPO_ROOT / "tests" / "golden" / "yamnet_scores.json"
# YAMNet's scores with 1 and 2 LiteRT threads were identical here (max difference 0.0); the int8 network is
# integer arithmetic after its float front end, so another CPU moves a score by a quantisation step or two
# (output scale ~1/256 before the sigmoid). The tolerance is several such steps.
SCORE_ATOL = 0.03
# Held-out floors: two or three clips under what scripts/eval_sound_cues.py measured with the shipped gate
# (precision 21/29 = 72 %, animals answered 20/68 = 29 %, nothing-clips answered 1/86), so that a clip near
# the gate's edge may flip on another CPU. They catch a broken pipeline; issue 18's targets (90 %, 60 %,
# 5 %) are not met (README: where they are lost).
HELD_OUT = {"precision": 0.62, "animals_answered": 0.25, "nothing_answered": 0.04}

CAT = REPO_ROOT / "examples/sounds/farm-animals/cat.ogg"
COW = REPO_ROOT / "examples/sounds/farm-animals/cow.ogg"
SPEECH = REPO_ROOT / "examples/speech/show_me_the_cat.wav"
BEEP = REPO_ROOT / "examples/sounds/freedesktop/dialog-warning.oga"


@pytest.fixture(scope="session")
def tagger():
    return load_sound_tagger()


@pytest.fixture(scope="session")
def clips(curated):
    return load_sound_clips(hierarchy=curated)


# --- the clip table --------------------------------------------------------------------------------
def test_clip_table_keeps_held_out_sources_apart(clips):
    assert all((REPO_ROOT / c.path).is_file() for c in clips)
    held = [c for c in clips if c.role == "held_out"]
    tuning = [c for c in clips if c.role == "tune"]
    assert {c.source for c in held}.isdisjoint({c.source for c in tuning})
    assert len({c.source for c in held}) >= 3 and "tuxpaint" in {c.source for c in held}
    assert sum(c.kind == "nothing" for c in held) >= 20
    sha = lambda c: hashlib.sha256((REPO_ROOT / c.path).read_bytes()).hexdigest()  # noqa: E731
    assert {sha(c) for c in held}.isdisjoint({sha(c) for c in tuning})  # no byte-identical copy


def test_right_answers(curated, clips):
    by_path = {c.path: c for c in clips}
    duck = by_path["examples/sounds/tuxpaint/animals/birds/duck.ogg"]
    assert is_right(curated, duck, "ducks_and_waterfowl") and is_right(curated, duck, "birds")  # an ancestor
    assert is_right(curated, duck, "n01847000")  # a category beneath: drake
    assert not is_right(curated, duck, "poultry_and_game_birds")
    deer = by_path["examples/sounds/tuxpaint/animals/mammals/deer/deer.ogg"]
    assert deer.strict and is_right(curated, deer, "hoofed_mammals") and not is_right(curated, deer, "cattle")
    beep = by_path["examples/sounds/freedesktop/dialog-warning.oga"]
    assert beep.kind == "nothing" and not is_right(curated, beep, "dog")


# --- the lexicon -------------------------------------------------------------------------------------
def test_lexicon_is_what_its_script_writes():
    script = runpy.run_path(str(REPO_ROOT / "scripts" / "make_sound_lexicon.py"))
    assert json.loads(SOUND_LEXICON.read_text(encoding="utf-8")) == script["build"]()


def test_lexicon_names_specific_nodes_and_leaves_generic_classes_out():
    lex = load_sound_lexicon()
    node = dict(zip(lex.names, lex.nodes))
    assert node["Meow"] == node["Purr"] == "domestic_cat"  # inherited from "Cat" through the ontology
    assert node["Bark"] == "dog" and node["Moo"] == "cattle" and node["Oink"] == "pigs"
    assert node["Church bell"] == "n03017168" and node["Violin, fiddle"] == "n04536866"
    for generic in ("Animal", "Domestic animals, pets", "Music", "Musical instrument", "Vehicle", "Engine"):
        assert node[generic] is None, generic
    assert node["Growling"] is None  # dog, cat and lion disagree
    assert {lex.names[i] for i in lex.speech} >= {"Speech", "Conversation"}
    i, j = lex.names.index("Meow"), lex.names.index("Domestic animals, pets")
    assert not lex.rivals[i, j] and lex.rivals[i, lex.names.index("Music")]


# --- YAMNet ------------------------------------------------------------------------------------------
def test_yamnet_scores_match_the_golden_file(tagger):
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    for rel, want in golden["clips"].items():
        got = tagger.scores(REPO_ROOT / rel)
        assert got.shape == tuple(want["shape"]), rel
        top = got.max(0)
        for name, score in want["top"]:
            assert abs(top[tagger.lexicon.names.index(name)] - score) <= SCORE_ATOL, (rel, name)


def test_yamnet_file_is_checked(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        SoundTagger(tmp_path / "nowhere.tflite")
    bad = tmp_path / "yamnet.tflite"
    bad.write_bytes(b"not a flatbuffer")
    with pytest.raises(CheckpointError, match="cannot load"):
        SoundTagger(bad)
    assert YAMNET_FILE.stat().st_size > 3_000_000


def test_gate_file_was_tuned_on_tuning_sources_only(clips):
    data = json.loads(GATE_FILE.read_text(encoding="utf-8"))
    assert set(data["tuned_on"]) == {c.source for c in clips if c.role == "tune"}
    assert isinstance(load_gate(), Gate)


# --- hearing -----------------------------------------------------------------------------------------
def test_a_meow_a_moo_speech_and_a_beep(tagger):
    cat = tagger.hear(CAT)
    assert cat.kind == "sound" and cat.node == "domestic_cat" and cat.summary().startswith("heard: ")
    assert tagger.hear(COW).node == "cattle"
    assert tagger.hear(SPEECH).kind == "speech"
    beep = tagger.hear(BEEP)
    assert beep.kind == "unsure" and beep.summary().startswith("not sure: it sounds like ")


def test_silent_short_and_unreadable_sounds_are_clear_errors(tagger, tmp_path):
    with pytest.raises(AudioError, match="silent"):
        tagger.hear((16000, np.zeros(16000, np.float32)))
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF....WAVEfmt junk")
    with pytest.raises(AudioError):
        tagger.hear(junk)
    short = tagger.hear((16000, 0.5 * np.sin(np.arange(3200) / 5.0).astype(np.float32)))  # 0.2 s: padded
    assert short.kind in ("sound", "unsure", "speech")


def test_decide_needs_score_and_margin(tagger):
    lex = tagger.lexicon
    scores = np.zeros((1, len(lex.names)), np.float32)
    meow, music = lex.names.index("Meow"), lex.names.index("Music")
    scores[0, meow] = 0.9
    assert decide(scores, lex, Gate(1, 0.5, 0.3, 0.3, 0.5)).node == "domestic_cat"
    scores[0, music] = 0.8  # a rival that names nothing, too close
    assert decide(scores, lex, Gate(1, 0.5, 0.3, 0.3, 0.5)).kind == "unsure"
    assert decide(scores, lex, Gate(1, 0.95, 0.3, -1.0, 0.5)).kind == "unsure"  # too weak


def test_held_out_sources(curated, clips, tagger):
    held = [c for c in clips if c.role == "held_out"]
    r = report(curated, held, score_clips(tagger, held), tagger.lexicon, tagger.gate)
    assert r["precision"] >= HELD_OUT["precision"], r
    assert r["animals_answered"] >= HELD_OUT["animals_answered"] * r["animals"], r
    assert r["nothing_answered"] <= HELD_OUT["nothing_answered"] * r["nothing"], r
    # no gate answers more animals rightly than those whose best naming class is right
    assert r["animals_right"] <= r["animals_best_right"] <= r["animals_nameable"] <= r["animals"], r


# --- one audio input -----------------------------------------------------------------------------------
class _NoWhisper:
    """Stands where Whisper would be: a sound must not reach it."""

    is_multilingual = False

    def __getattr__(self, name):
        raise AssertionError(f"Whisper was used for a sound ({name})")


def test_a_sound_selects_its_node_without_whisper(cue_matcher):
    r = cue_matcher.match_audio(CAT, _NoWhisper())
    assert r.source == "sound" and r.understood and r.node_ids == ["domestic_cat"]
    assert r.categories == sorted(cue_matcher.hierarchy.node("domestic_cat").categories)
    assert r.message.startswith("Heard: Meow") or r.message.startswith("Heard: Cat")
    d = r.to_dict()
    assert d["source"] == "sound" and d["sound"]["kind"] == "sound"
    unsure = cue_matcher.match_audio(BEEP, _NoWhisper())
    assert unsure.source == "sound" and not unsure.understood and unsure.categories == []
    assert "not sure: it sounds like" in unsure.message.lower()


def test_speech_still_reaches_whisper(cue_matcher, whisper_tiny):
    r = cue_matcher.match_audio(SPEECH, whisper_tiny)
    assert r.source == "speech" and r.heard and "domestic_cat" in r.node_ids
    assert r.sound is not None and r.sound.kind == "speech"


ESPEAK = shutil.which("espeak-ng")
SPOKEN_MIN = 53  # of 55: measured 53; "un papillon" and "un cochon" (espeak-ng French) sound like "Sound effect"


@pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed (apt-get install espeak-ng)")
def test_spoken_cues_reach_whisper(tagger, tmp_path):
    """Every spoken cue of the language table and of test_speech's table, as espeak-ng says it: the gate
    must send it to Whisper (YAMNet only here; the spoken-table tests run Whisper on them)."""
    from hldemo.cues.matcher import load_cue_table

    sys.path.insert(0, str(REPO_ROOT / "tests"))
    from test_speech import SPOKEN_CUES

    cues = [(c.kind, "130", c.cue) for c in load_cue_table(REPO_ROOT / "tests" / "tables" / "languages.tsv")]
    cues += [("en-us", "140", sentence) for sentence, _, _ in SPOKEN_CUES]
    missed = []
    for i, (voice, speed, text) in enumerate(cues):
        path = tmp_path / f"{i}.wav"
        subprocess.run([ESPEAK, "-v", voice, "-s", speed, "-w", str(path), text], check=True, capture_output=True,
                       timeout=60)
        hearing = tagger.hear(path)
        if hearing.kind != "speech":
            missed.append((voice, text, hearing.summary()))
    print(f"spoken cues sent to Whisper: {len(cues) - len(missed)}/{len(cues)}; missed {missed}")
    assert len(cues) - len(missed) >= SPOKEN_MIN and len(cues) == 55, missed


def test_bad_recording_is_a_message(cue_matcher, tmp_path):
    junk = tmp_path / "junk.ogg"
    junk.write_bytes(b"OggS" + bytes(100))
    r = cue_matcher.match_audio(junk, _NoWhisper())
    assert not r.understood and "Could not use the audio" in r.message


def test_cli_reports_the_source_and_categories():
    out = subprocess.run([sys.executable, "-m", "hldemo.cues", "--json", "--english-only", "--audio", str(COW)],
                         capture_output=True, text=True, cwd=REPO_ROOT, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout.strip().splitlines()[-1])
    assert d["source"] == "sound" and d["node_ids"] == ["cattle"] and len(d["categories"]) == 3
