"""A recorded sound as a cue (the paper's "meow"): YAMNet's AudioSet tags, gated, as hierarchy nodes.

One audio input serves speech and sounds. :meth:`SoundTagger.hear` runs YAMNet (Google's MobileNet-v1
AudioSet tagger, 521 classes, shipped in ``checkpoints/yamnet/`` and run with LiteRT) on 0.975 s
windows every 0.48 s and decides, with the gate below, what the clip is:

* ``"speech"``: the speech classes (the ontology's Speech subtree) lead: the clip goes to Whisper;
* ``"sound"``: a class that names a hierarchy node (``hierarchies/lexicon/audioset.json``, written by
  ``scripts/make_sound_lexicon.py``) is sure enough: "heard: Meow 0.93 -> domestic cat";
* ``"unsure"``: neither: "not sure: it sounds like <top classes>", and no expert.

The gate (``checkpoints/yamnet/gate.json``, chosen by ``scripts/eval_sound_cues.py --tune`` on the tuning
sources of ``hierarchies/lexicon/sound_clips.json`` only; the held-out sources were set aside before): a
class's clip score is its mean over the clip's ``top_frames`` best windows (one window of a short clip). The
best class that names a node must reach ``min_score``, beat the best class naming an unrelated node by
``min_margin``, beat the best *rival* that names nothing by ``rival_margin`` (see
:attr:`SoundLexicon.rivals`: "Music", "Beep, bleep", "Sound effect"..., but not its own ontology ancestors
such as "Domestic animals, pets", nor "Silence"), and beat the speech score. A clip that is no such sound
goes to Whisper when its speech score reaches ``speech_score`` (half the weakest tuning speech clip's:
Whisper itself says when it hears no words); below that it is not speech, and Whisper is not called.

Example:
    >>> tagger = load_sound_tagger()                                   # doctest: +SKIP
    >>> tagger.hear("examples/sounds/farm-animals/cat.ogg").summary()  # doctest: +SKIP
    'heard: Cat 0.96 -> domestic cat'
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import AudioError, CheckpointError
from ..utils import CHECKPOINT_DIR, HIERARCHY_DIR, sha256_file
from .audio import AudioSource, load_audio

YAMNET_DIR = CHECKPOINT_DIR / "yamnet"
YAMNET_FILE = YAMNET_DIR / "yamnet.tflite"
YAMNET_SHA256 = "469be6a3421cbc52cf97e9f2f966cba984198e8e7af9854d68b3e3ebb1e04194"
CLASS_MAP = YAMNET_DIR / "yamnet_class_map.csv"  # index, mid, display name (read by scripts/make_sound_lexicon.py)
ONTOLOGY = YAMNET_DIR / "audioset_ontology.json"
SOUND_LEXICON = HIERARCHY_DIR / "lexicon" / "audioset.json"
WINDOW_SAMPLES = 15_600  # YAMNet's input: 0.975 s (96 mel frames of 10 ms + the 25 ms window)
HOP_SAMPLES = 7_680  # 0.48 s: YAMNet's own patch hop
THREADS = 1  # one window takes ~2 ms on one core; a second thread buys little and varies more

GATE_FILE = YAMNET_DIR / "gate.json"  # the gate's settings: scripts/eval_sound_cues.py --tune writes them
N_HEARD = 3  # AudioSet classes shown for what was heard


@dataclass(frozen=True)
class Gate:
    """The settings that turn clip scores into a decision (see the module docstring).

    Attributes:
        top_frames: a class's clip score is its mean over this many best windows.
        min_score: the naming class's clip score must reach this.
        min_margin: ... and beat the best class naming an unrelated node by this,
        rival_margin: ... and the best rival that names nothing by this.
        speech_score: a clip that is no sure sound goes to Whisper from this speech score on.
    """

    top_frames: int
    min_score: float
    min_margin: float
    rival_margin: float
    speech_score: float


def load_gate(path: str | Path = GATE_FILE) -> Gate:
    """The shipped gate (``scripts/eval_sound_cues.py --tune`` chose it on the tuning sources).

    Raises:
        CheckpointError: missing or malformed.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return Gate(int(data["top_frames"]), float(data["min_score"]), float(data["min_margin"]),
                    float(data["rival_margin"]), float(data["speech_score"]))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"cannot read the sound gate {path}: {e} (scripts/eval_sound_cues.py --tune writes it)") from e


@dataclass
class Hearing:
    """What a clip sounded like, and what the demo makes of it.

    Attributes:
        kind: ``"speech"`` (go to Whisper), ``"sound"`` (names :attr:`node`) or ``"unsure"``.
        node: the hierarchy node id named (``"sound"`` only).
        node_name: its display name.
        label: the AudioSet class that decided (``"Meow"``), for ``"sound"``.
        score: that class's clip score.
        reason: why, in words ("Meow 0.93, 0.71 above Music").
        heard: the top AudioSet classes and scores, best first.
        seconds: time spent tagging (YAMNet only).
    """

    kind: str
    node: str | None = None
    node_name: str | None = None
    label: str | None = None
    score: float = 0.0
    reason: str = ""
    heard: list[tuple[str, float]] = field(default_factory=list)
    seconds: float = 0.0

    def heard_text(self, n: int = N_HEARD) -> str:
        """ "Meow 0.93, Cat 0.88, Animal 0.80" """
        return ", ".join(f"{name} {score:.2f}" for name, score in self.heard[:n])

    def summary(self) -> str:
        """One line for people: what was heard and what it selects, or why nothing."""
        if self.kind == "sound":
            return f"heard: {self.label} {self.score:.2f} -> {self.node_name}"
        if self.kind == "speech":
            return f"heard speech ({self.heard_text()})"
        return f"not sure: it sounds like {self.heard_text()}"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "node": self.node, "node_name": self.node_name, "label": self.label,
                "score": round(self.score, 4), "reason": self.reason,
                "heard": [[name, round(s, 4)] for name, s in self.heard], "ms": round(self.seconds * 1000, 2)}


@dataclass(frozen=True)
class SoundLexicon:
    """YAMNet's classes and what each names (``hierarchies/lexicon/audioset.json``).

    Attributes:
        names: display name per output index.
        nodes: hierarchy node id per index (None: names nothing).
        node_names: display names of those nodes.
        speech: indices of the speech classes.
        rivals: ``rivals[i, j]`` is True when a high score of class j argues against class i naming its node:
            j is not i, not one of i's AudioSet ancestors, does not name a node on i's path in the hierarchy,
            is not a generic class of i's own AudioSet branch ("Domestic animals, pets" for "Meow") and is
            not about the recording's surroundings ("Silence", "Inside, small room").
    """

    names: tuple[str, ...]
    nodes: tuple[str | None, ...]
    node_names: tuple[str | None, ...]
    speech: np.ndarray
    rivals: np.ndarray

    @property
    def naming(self) -> np.ndarray:
        """Indices of the classes that name a node."""
        return np.array([i for i, n in enumerate(self.nodes) if n is not None])


BACKGROUND = ("Silence", "Acoustic environment")  # AudioSet classes (with their subtrees) that are never rivals


def load_ontology(path: str | Path = ONTOLOGY) -> tuple[dict[str, dict], dict[str, set[str]]]:
    """The AudioSet ontology: ``(entries by name, parent names by child name)``.

    Raises:
        CheckpointError: the file is missing or malformed.
    """
    try:
        entries = json.loads(Path(path).read_text(encoding="utf-8"))
        by_id = {e["id"]: e["name"] for e in entries}
        parents: dict[str, set[str]] = {}
        for e in entries:
            for c in e["child_ids"]:
                parents.setdefault(by_id[c], set()).add(e["name"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"cannot read the AudioSet ontology {path}: {e}") from e
    return {e["name"]: e for e in entries}, parents


def load_sound_lexicon(path: str | Path = SOUND_LEXICON, ontology: str | Path = ONTOLOGY) -> SoundLexicon:
    """The class -> node table, and which classes are rivals of which (from the AudioSet ontology).

    Raises:
        CheckpointError: a file is missing or malformed.
    """
    from ..hierarchy import load_hierarchy

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        rows = sorted(data["classes"], key=lambda r: r["index"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"cannot read the sound lexicon {path}: {e} (scripts/make_sound_lexicon.py writes it)") from e
    names = tuple(r["name"] for r in rows)
    nodes = tuple(r["node"] for r in rows)
    _, parents = load_ontology(ontology)

    def ancestors(name: str) -> set[str]:
        out, stack = set(), list(parents.get(name, ()))
        while stack:
            p = stack.pop()
            if p not in out:
                out.add(p)
                stack += parents.get(p, ())
        return out

    up = [ancestors(n) for n in names]
    tops = [{a for a in up_i | {n} if a not in parents} for n, up_i in zip(names, up)]
    generic = set().union(*(up[i] for i, n in enumerate(nodes) if n is not None))
    background = [n in BACKGROUND or bool(up_i & set(BACKGROUND)) for n, up_i in zip(names, up)]
    h = load_hierarchy(data.get("hierarchy", "curated"))
    paths = {n: set(h.lineage(n)) for n in set(nodes) - {None}}
    k = len(names)
    rivals = np.zeros((k, k), bool)
    for i in range(k):
        for j in range(k):
            a, b = nodes[i], nodes[j]
            related = a is not None and b is not None and (a in paths[b] or b in paths[a])
            own_generic = b is None and names[j] in generic and bool(tops[i] & tops[j])
            rivals[i, j] = not (i == j or names[j] in up[i] or related or own_generic or background[j])
    return SoundLexicon(names, nodes, tuple(h.display_name(n) if n else None for n in nodes),
                        np.array(data["speech"], int), rivals)


def best_naming_class(scores: np.ndarray, lexicon: SoundLexicon, top_frames: int) -> tuple[np.ndarray, int]:
    """Each class's clip score (its mean over its ``top_frames`` best windows) and the index of the
    best-scoring class that names a hierarchy node: what the gate answers when it answers at all."""
    scores = np.atleast_2d(scores)
    k = min(top_frames, len(scores))
    clip = np.sort(scores, axis=0)[-k:].mean(0)
    return clip, int(lexicon.naming[np.argmax(clip[lexicon.naming])])


def decide(scores: np.ndarray, lexicon: SoundLexicon, gate: Gate) -> Hearing:
    """The gate: window scores ``(windows, 521)`` -> a :class:`Hearing` (see the module docstring)."""
    clip, best = best_naming_class(scores, lexicon, gate.top_frames)
    order = np.argsort(-clip)
    heard = [(lexicon.names[i], float(clip[i])) for i in order[:N_HEARD * 2]]
    speech = float(clip[lexicon.speech].max())
    conflict = next(int(i) for i in order if lexicon.rivals[best, i] and lexicon.nodes[i] is not None)
    rival = next(int(i) for i in order if lexicon.rivals[best, i] and lexicon.nodes[i] is None)
    name = lexicon.names[best]
    reason = (f"{name} {clip[best]:.2f}, {clip[best] - clip[rival]:+.2f} over {lexicon.names[rival]} {clip[rival]:.2f}, "
              f"{clip[best] - clip[conflict]:+.2f} over {lexicon.names[conflict]} {clip[conflict]:.2f}")
    sure = (clip[best] >= gate.min_score and clip[best] - clip[conflict] >= gate.min_margin
            and clip[best] - clip[rival] >= gate.rival_margin)
    if sure and clip[best] >= speech:
        return Hearing("sound", node=lexicon.nodes[best], node_name=lexicon.node_names[best], label=name,
                       score=float(clip[best]), reason=reason, heard=heard)
    if speech >= gate.speech_score:
        return Hearing("speech", score=speech, reason=f"speech {speech:.2f}", heard=heard)
    why = "too weak" if clip[best] < gate.min_score else "too close"
    return Hearing("unsure", label=name, score=float(clip[best]), reason=f"{reason} ({why})", heard=heard)


class SoundTagger:
    """YAMNet under LiteRT, with the lexicon and the gate.

    Args:
        model_path: the ``.tflite`` file (checked against :data:`YAMNET_SHA256` when it is the shipped one).
        lexicon: :func:`load_sound_lexicon`.
        gate: the gate's settings (default: :func:`load_gate`).
        threads: LiteRT's CPU threads.
    """

    def __init__(self, model_path: str | Path = YAMNET_FILE, lexicon: SoundLexicon | None = None,
                 gate: Gate | None = None, threads: int = THREADS):
        from ai_edge_litert.interpreter import Interpreter

        path = Path(model_path)
        if not path.is_file():
            raise CheckpointError(f"YAMNet not found: {path}")
        if path.resolve() == YAMNET_FILE.resolve() and sha256_file(path) != YAMNET_SHA256:
            raise CheckpointError(f"{path} is not the shipped YAMNet (sha256 differs)")
        try:
            self._net = Interpreter(model_path=str(path), num_threads=threads)
            self._net.allocate_tensors()
        except (ValueError, RuntimeError) as e:
            raise CheckpointError(f"cannot load YAMNet from {path}: {e}") from e
        self._input = self._net.get_input_details()[0]["index"]
        self._output = next(o["index"] for o in self._net.get_output_details() if tuple(o["shape"]) == (1, 521))
        self._lock = threading.Lock()  # one interpreter, one call at a time
        self.lexicon = lexicon or load_sound_lexicon()
        self.gate = gate or load_gate()
        self.threads = threads

    def __repr__(self) -> str:
        return f"SoundTagger(YAMNet, threads={self.threads}, {self.gate})"

    def scores(self, audio: AudioSource) -> np.ndarray:
        """YAMNet's scores ``(windows, 521)`` for a clip: 0.975 s windows every 0.48 s (a short clip is
        zero-padded to one window).

        Raises:
            AudioError: unreadable or silent audio.
        """
        a = load_audio(audio)
        if a.is_silent():
            raise AudioError("the sound is silent: nothing to recognise")
        x = a.samples
        if len(x) < WINDOW_SAMPLES:
            x = np.pad(x, (0, WINDOW_SAMPLES - len(x)))
        starts = range(0, len(x) - WINDOW_SAMPLES + 1, HOP_SAMPLES)
        out = np.empty((len(starts), len(self.lexicon.names)), np.float32)
        with self._lock:
            for row, s in enumerate(starts):
                self._net.set_tensor(self._input, x[None, s:s + WINDOW_SAMPLES])
                self._net.invoke()
                out[row] = self._net.get_tensor(self._output)[0]
        return out

    def hear(self, audio: AudioSource) -> Hearing:
        """Tag a clip and decide: speech, a sound that names a node, or unsure.

        Raises:
            AudioError: unreadable or silent audio.
        """
        import time

        t0 = time.perf_counter()
        h = decide(self.scores(audio), self.lexicon, self.gate)
        h.seconds = time.perf_counter() - t0
        return h


_TAGGER: SoundTagger | None = None
_TAGGER_LOCK = threading.Lock()


def load_sound_tagger() -> SoundTagger:
    """The shipped YAMNet with the shipped lexicon and gate, loaded once per process.

    Raises:
        CheckpointError: a shipped file is missing or damaged.
    """
    global _TAGGER
    with _TAGGER_LOCK:
        if _TAGGER is None:
            _TAGGER = SoundTagger()
        return _TAGGER

