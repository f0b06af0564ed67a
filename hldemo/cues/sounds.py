"""A recorded animal sound as a cue (the paper's "meow"): a nearest-centroid sound classifier.

Clips are embedded by Whisper base's audio encoder (its features over the clip's frames, averaged
and L2-normalised); each class's centroid is the mean embedding of its training clips and of their
1 s windows. The classes, the hierarchy node each names, the training clips and the held-out clips
(from a different source) are data: ``hierarchies/lexicon/sound_clips.json``.

The demo uses a sound classifier only when it reaches :data:`MIN_HELD_OUT_TOP1` top-1 on the
held-out clips (:func:`evaluate_held_out`); ``python -m hldemo.cues.sounds`` reports where it stands.

Example:
    >>> spec = load_sound_spec()                                  # doctest: +SKIP
    >>> report = evaluate_held_out(load_speech_model("base"), spec)   # doctest: +SKIP
    >>> report["top1"]                                            # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import HierarchyError
from ..utils import HIERARCHY_DIR, REPO_ROOT, limit_torch_threads
from .audio import AudioSource, load_audio

SOUND_SPEC = HIERARCHY_DIR / "lexicon" / "sound_clips.json"
SOUND_MODEL = "base"  # Whisper whose encoder embeds the clips
SAMPLE_RATE = 16000
FRAMES_PER_SECOND = 50  # Whisper encoder frames per second of audio
WINDOW_S, HOP_S = 1.0, 0.5  # training windows
MIN_HELD_OUT_TOP1 = 0.80  # below this on held-out clips the classifier is not wired into the demo


def load_sound_spec(path: str | Path = SOUND_SPEC) -> dict:
    """The sound classes and their clips (roots resolved against the repository).

    Raises:
        HierarchyError: the file is missing or malformed.
    """
    try:
        spec = json.loads(Path(path).read_text(encoding="utf-8"))
        for name, c in spec["classes"].items():
            if not (c["node"] and c["train"] and c["held_out"]):
                raise ValueError(f"class {name!r} needs a node, training and held-out clips")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise HierarchyError(f"cannot read the sound classes {path}: {e}") from e
    spec["train_root"] = str((REPO_ROOT / spec["train_root"]).resolve())
    return spec


def embed(model, audio: AudioSource) -> np.ndarray:
    """The L2-normalised mean of Whisper's encoder features over the clip's frames."""
    import torch
    import whisper


    samples = audio if isinstance(audio, np.ndarray) else load_audio(audio).samples
    mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(torch.from_numpy(samples.astype(np.float32))),
                                      n_mels=model.dims.n_mels)
    frames = max(1, min(model.dims.n_audio_ctx, int(len(samples) / SAMPLE_RATE * FRAMES_PER_SECOND)))
    with limit_torch_threads(1), torch.no_grad():
        features = model.encoder(mel[None].to(next(model.parameters()).device))[0, :frames]
    v = features.float().mean(0).cpu().numpy()
    return v / (np.linalg.norm(v) + 1e-12)


def _windows(samples: np.ndarray) -> list[np.ndarray]:
    w, hop = int(WINDOW_S * SAMPLE_RATE), int(HOP_S * SAMPLE_RATE)
    return [samples[i:i + w] for i in range(0, len(samples) - w + 1, hop)] if len(samples) > w else []


@dataclass
class SoundClassifier:
    """Nearest-centroid classifier over clip embeddings.

    Attributes:
        classes: class names ("cat", ...).
        nodes: the hierarchy node of each class.
        centroids: (classes, dim) normalised centroids.
    """

    classes: list[str]
    nodes: list[str]
    centroids: np.ndarray

    def scores(self, model, audio: AudioSource) -> dict[str, float]:
        """Cosine similarity of a clip to every class, best first."""
        s = self.centroids @ embed(model, audio)
        return {self.classes[i]: float(s[i]) for i in np.argsort(-s)}


def train_sound_classifier(model, spec: dict) -> SoundClassifier:
    """Centroids from the training clips of ``spec`` (whole clips and their 1 s windows)."""
    root, classes, nodes, cents = Path(spec["train_root"]), [], [], []
    for name, c in spec["classes"].items():
        embs = []
        for rel in c["train"]:
            samples = load_audio(root / rel).samples
            embs += [embed(model, samples)] + [embed(model, w) for w in _windows(samples)]
        v = np.mean(embs, axis=0)
        classes.append(name)
        nodes.append(c["node"])
        cents.append(v / np.linalg.norm(v))
    return SoundClassifier(classes, nodes, np.stack(cents))


def evaluate_held_out(model, spec: dict, classifier: SoundClassifier | None = None) -> dict:
    """Top-1 of the classifier on the held-out clips: ``{"top1", "right", "n", "rows", "wired"}``."""
    clf = classifier or train_sound_classifier(model, spec)
    root, rows = Path(spec["held_out_root"]), []
    for name, c in spec["classes"].items():
        for rel in c["held_out"]:
            scores = clf.scores(model, root / rel)
            best = next(iter(scores))
            rows.append({"clip": rel, "class": name, "predicted": best, "score": round(scores[best], 4),
                         "right": best == name})
    right = sum(r["right"] for r in rows)
    top1 = right / max(1, len(rows))
    return {"top1": top1, "right": right, "n": len(rows), "rows": rows, "wired": top1 >= MIN_HELD_OUT_TOP1}


def main(argv=None) -> int:
    """``python -m hldemo.cues.sounds [--json]``: train on the training clips, report held-out top-1."""
    p = argparse.ArgumentParser(prog="python -m hldemo.cues.sounds", description=main.__doc__)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    from .speech import load_speech_model

    spec = load_sound_spec()
    missing = [str(Path(r) / f) for r, key in ((spec["train_root"], "train"), (spec["held_out_root"], "held_out"))
               for c in spec["classes"].values() for f in c[key] if not (Path(r) / f).is_file()]
    if missing:
        print(f"error: missing clips (../shared/data/sounds; apt-get install {spec['held_out_package']}): "
              f"{missing[:3]}...", file=sys.stderr)
        return 2
    report = evaluate_held_out(load_speech_model(SOUND_MODEL, device="cpu"), spec)
    if args.json:
        print(json.dumps(report))
        return 0
    for r in report["rows"]:
        print(f"{'ok  ' if r['right'] else 'MISS'} {r['class']:8} {r['clip']}: {r['predicted']} ({r['score']:.3f})")
    verdict = "wired into the demo" if report["wired"] else f"below {MIN_HELD_OUT_TOP1:.0%}: not wired into the demo"
    print(f"held-out top-1: {report['right']}/{report['n']} = {report['top1']:.1%} ({verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
