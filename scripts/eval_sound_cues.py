"""Recorded sounds as cues: how YAMNet and the gate do on the tuning and the held-out sources.

Usage::

    python scripts/eval_sound_cues.py            # the shipped gate on both sets, per source
    python scripts/eval_sound_cues.py --tune     # choose the gate on the tuning sources, write checkpoints/yamnet/gate.json
    python scripts/eval_sound_cues.py --rows     # ... and every clip's decision
    python scripts/eval_sound_cues.py --json     # one JSON object

Per set it prints the precision among the clips it answers, the animal clips answered (and right), the
clips naming nothing that it answered, the named objects answered, and the clips it sent to Whisper.
The clip table, with the sources' roles: ``hierarchies/lexicon/sound_clips.json``; the rules for right
answers: :mod:`hldemo.cues.sound_clips`.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from hldemo.cues.sound_clips import SPEECH_CLIPS, load_sound_clips, report, score_clips, tune
from hldemo.cues.sounds import GATE_FILE, Gate, SoundTagger, decide
from hldemo.hierarchy import load_hierarchy
from hldemo.utils import REPO_ROOT


def line(name: str, r: dict) -> str:
    return (f"{name:12} {r['n']:3} clips: answered {r['answered']:3}, precision {r['right']}/{r['answered']} = "
            f"{r['precision']:.1%}; animals answered {r['animals_answered']}/{r['animals']} = "
            f"{r['animals_answered'] / max(1, r['animals']):.1%} ({r['animals_right']} right; of the "
            f"{r['animals_nameable']} AudioSet can name, {r['animals_nameable_answered']} answered; YAMNet's best naming class "
            f"is right for {r['animals_best_right']}, the most any gate can answer rightly); nothing-clips answered "
            f"{r['nothing_answered']}/{r['nothing']} = {r['nothing_answered'] / max(1, r['nothing']):.1%}; objects answered "
            f"{r['objects_answered']}/{r['objects']}; to Whisper {r['speech']}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tune", action="store_true", help="choose the gate on the tuning sources and write it")
    p.add_argument("--rows", action="store_true", help="print every clip's decision")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    h = load_hierarchy()
    clips = load_sound_clips(hierarchy=h)
    speech_paths = sorted(str(f.relative_to(REPO_ROOT)) for d in SPEECH_CLIPS for f in (REPO_ROOT / d).glob("*.wav"))
    # tuning needs no shipped gate: a placeholder until the gate is chosen below
    tagger = SoundTagger(gate=Gate(1, 1.0, 1.0, 1.0, 1.0) if args.tune else None)
    scores = score_clips(tagger, clips)
    speech = {p: tagger.scores(REPO_ROOT / p) for p in speech_paths}
    tuning = [c for c in clips if c.role == "tune"]
    held = [c for c in clips if c.role == "held_out"]
    if args.tune:
        gate, r = tune(h, tuning, scores, tagger.lexicon, speech)
        data = {**asdict(gate),
                "about": "The sound gate (hldemo.cues.sounds.Gate), chosen by scripts/eval_sound_cues.py --tune on the "
                         "tuning sources of hierarchies/lexicon/sound_clips.json only.",
                "tuned_on": sorted({c.source for c in tuning}),
                "tuning": {k: v for k, v in r.items() if k != "rows"}}
        GATE_FILE.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {GATE_FILE.relative_to(REPO_ROOT)}: {asdict(gate)}")
        tagger.gate = gate
    out = {"gate": asdict(tagger.gate), "tuning": report(h, tuning, scores, tagger.lexicon, tagger.gate),
           "held_out": report(h, held, scores, tagger.lexicon, tagger.gate),
           "per_source": {s: report(h, [c for c in clips if c.source == s], scores, tagger.lexicon, tagger.gate)
                          for s in sorted({c.source for c in clips})},
           "speech_clips": {p: decide(s, tagger.lexicon, tagger.gate).kind for p, s in speech.items()}}
    if args.json:
        print(json.dumps(out))
        return 0
    if args.rows:
        for set_name in ("tuning", "held_out"):
            for r in out[set_name]["rows"]:
                mark = "ok  " if r["right"] else "WRONG" if r["decision"] == "sound" else "-   "
                print(f"{mark:5} {set_name:8} {r['kind']:7} {r['clip']}: {r['decision']} {r['node'] or ''} ({r['reason']}) "
                      f"wanted {'|'.join(r['accepted']) or 'nothing'}")
    print(f"gate: {out['gate']}")
    for set_name in ("tuning", "held_out"):
        print(line(set_name, out[set_name]))
    for s, r in out["per_source"].items():
        print("  " + line(s, r))
    print(f"speech clips: {out['speech_clips']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
