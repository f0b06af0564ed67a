"""Judging recorded sounds as cues: the clip table, right and wrong answers, the gate's tuning.

The table ``hierarchies/lexicon/sound_clips.json`` says what each clip should select and which source
it comes from; a source is either for tuning the gate or held out (set aside before any tuning).
An answer (a node) is right when it is an accepted node, an ancestor of one ("birds" for a duck), or a
node beneath one, except for accepted nodes written ``=node`` (the animal has no category of its own:
a deer is in "farm animals & hoofed mammals", but it is not cattle). A clip with no accepted node names
nothing ImageNet has: any answer is wrong.

``scripts/eval_sound_cues.py`` prints the numbers; ``--tune`` chooses the gate on the tuning sources.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import AudioError, HierarchyError
from ..hierarchy import Hierarchy, load_hierarchy
from ..utils import HIERARCHY_DIR, REPO_ROOT
from .sounds import Gate, Hearing, SoundLexicon, best_naming_class, decide

SOUND_CLIPS = HIERARCHY_DIR / "lexicon" / "sound_clips.json"
N_ANIMAL_CATEGORIES = 398  # ImageNet-1k's first 398 classes (sorted wnids) are animals
SPEECH_CLIPS = ("examples/speech/",)  # spoken cues: the gate must send them to Whisper
# what --tune asks of the gate on the tuning clips; among the gates that meet it, the one answering most animals
TUNE_PRECISION = 0.95
TUNE_NOTHING_ANSWERED = 0.02
GRID = {"top_frames": (1, 2, 3), "min_score": tuple(np.round(np.arange(0.1, 0.91, 0.05), 2)),
        "min_margin": tuple(np.round(np.arange(0.0, 0.51, 0.05), 2)),
        "rival_margin": tuple(np.round(np.arange(-0.2, 0.51, 0.05), 2))}
SPEECH_SHARE = 0.5  # the speech score from which a clip goes to Whisper, as a share of the weakest speech clip's


@dataclass(frozen=True)
class SoundClip:
    """One clip of the table: ``path`` (repository-relative), ``source``, ``role`` ("tune" or "held_out"),
    ``accepted`` nodes, ``strict`` (only those nodes or their ancestors), ``kind`` ("animal", "object",
    "nothing")."""

    path: str
    source: str
    role: str
    accepted: tuple[str, ...]
    strict: bool
    kind: str


def load_sound_clips(path: str | Path = SOUND_CLIPS, hierarchy: Hierarchy | None = None) -> list[SoundClip]:
    """The clip table.

    Raises:
        HierarchyError: a malformed table, a clip in no source, or an accepted node the hierarchy lacks.
    """
    h = hierarchy or load_hierarchy()
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        sources = data["sources"]
        clips = []
        for rel, value in data["clips"].items():
            source = next((s for s, d in sources.items() if any(rel.startswith(p) for p in d["paths"])), None)
            if source is None:
                raise ValueError(f"clip {rel!r} is in no source folder")
            role = sources[source]["role"]
            if role not in ("tune", "held_out"):
                raise ValueError(f"source {source!r} has role {role!r}")
            accepted = tuple(n for n in value.lstrip("=").split("|") if n)
            for n in accepted:
                h.node(n)
            animal = bool(accepted) and all(h.category_index(w) < N_ANIMAL_CATEGORIES
                                            for n in accepted for w in h.node(n).categories)
            clips.append(SoundClip(rel, source, role, accepted, value.startswith("="),
                                   "animal" if animal else "object" if accepted else "nothing"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise HierarchyError(f"cannot read the sound clips {path}: {e}") from e
    except Exception as e:  # an unknown node
        raise HierarchyError(f"sound clips {path}: {e}") from e
    return clips


def is_right(h: Hierarchy, clip: SoundClip, node: str) -> bool:
    """Whether answering ``node`` for ``clip`` is right (see the module docstring)."""
    node = h.node(node).id
    for a in clip.accepted:
        a = h.node(a).id
        if node in h.lineage(a) or (not clip.strict and a in h.lineage(node)):
            return True
    return False


def score_clips(tagger, clips: list[SoundClip], root: Path = REPO_ROOT) -> dict[str, np.ndarray | str]:
    """YAMNet's window scores of each clip (``path -> (windows, 521)``), or the message of the
    :class:`AudioError` the demo would show for it (too short, silent)."""
    out: dict[str, np.ndarray | str] = {}
    for c in clips:
        try:
            out[c.path] = tagger.scores(root / c.path)
        except AudioError as e:
            out[c.path] = str(e)
    return out


def report(h: Hierarchy, clips: list[SoundClip], scores: dict[str, np.ndarray], lexicon: SoundLexicon,
           gate: Gate) -> dict:
    """The gate on a set of clips: ``{"n", "answered", "right", "precision", "animals", "animals_answered",
    "animals_right", "animals_nameable", "animals_nameable_answered", "animals_best_right", "nothing", "nothing_answered", "objects",
    "objects_answered", "speech", "rows"}`` (``precision`` a float; ``speech``: clips the gate sent to Whisper;
    ``animals_nameable``: animal clips that some class of the lexicon could name rightly, e.g. not a koala,
    which AudioSet has no class for; ``animals_best_right``: animal clips whose best-scoring naming class
    is right, the most that any gate can answer rightly, since a gate only decides whether to answer it)."""
    rows = []
    nameable = sorted({n for n in lexicon.nodes if n is not None})
    for c in clips:
        s = scores[c.path]
        hearing = Hearing("error", reason=s) if isinstance(s, str) else decide(s, lexicon, gate)
        answered = hearing.kind == "sound"
        best = None if isinstance(s, str) else lexicon.nodes[best_naming_class(s, lexicon, gate.top_frames)[1]]
        rows.append({"clip": c.path, "source": c.source, "kind": c.kind, "accepted": list(c.accepted),
                     "nameable": any(is_right(h, c, n) for n in nameable),
                     "best_right": best is not None and is_right(h, c, best),
                     "decision": hearing.kind, "node": hearing.node, "reason": hearing.reason,
                     "right": answered and is_right(h, c, hearing.node)})

    def count(kind=None, key="decision", value="sound"):
        return sum(r[key] == value for r in rows if kind is None or r["kind"] == kind)

    answered = count()
    n = {k: sum(r["kind"] == k for r in rows) for k in ("animal", "object", "nothing")}
    right = sum(r["right"] for r in rows)
    return {"n": len(rows), "answered": answered, "right": right, "precision": right / answered if answered else 1.0,
            "animals": n["animal"], "animals_answered": count("animal"), "animals_right": sum(r["right"] for r in rows if r["kind"] == "animal"),
            "animals_nameable": sum(r["nameable"] for r in rows if r["kind"] == "animal"),
            "animals_nameable_answered": sum(r["nameable"] and r["decision"] == "sound" for r in rows if r["kind"] == "animal"),
            "animals_best_right": sum(r["best_right"] for r in rows if r["kind"] == "animal"),
            "objects": n["object"], "objects_answered": count("object"),
            "nothing": n["nothing"], "nothing_answered": count("nothing"), "speech": count(value="speech"), "rows": rows}


def tune(h: Hierarchy, clips: list[SoundClip], scores: dict[str, np.ndarray], lexicon: SoundLexicon,
         speech: dict[str, np.ndarray]) -> tuple[Gate, dict]:
    """The gate of :data:`GRID` that answers the most tuning animals rightly while keeping
    :data:`TUNE_PRECISION` and answering at most :data:`TUNE_NOTHING_ANSWERED` of the nothing-clips; ties
    go to the stricter gate (higher score, then margin). Its speech score is :data:`SPEECH_SHARE` of the
    weakest speech clip's (``speech``: their window scores), so that speech clips reach Whisper with room
    to spare.

    Raises:
        ValueError: a clip of a held-out source is given, or no gate meets the bar.
    """
    if any(c.role != "tune" for c in clips):
        raise ValueError("the gate is tuned on tuning sources only")
    best, best_key = None, None
    for tf, ms, mm, rm in itertools.product(*GRID.values()):
        weakest = min(float(np.sort(s, axis=0)[-int(tf):].mean(0)[lexicon.speech].max()) for s in speech.values())
        gate = Gate(int(tf), float(ms), float(mm), float(rm), float(np.floor(SPEECH_SHARE * weakest * 100) / 100))
        if any(decide(s, lexicon, gate).kind != "speech" for s in speech.values()):
            continue
        r = report(h, clips, scores, lexicon, gate)
        if r["precision"] < TUNE_PRECISION or r["nothing_answered"] > TUNE_NOTHING_ANSWERED * r["nothing"]:
            continue
        key = (r["animals_right"], r["right"], ms, mm, rm)
        if best_key is None or key > best_key:
            best, best_key = (gate, r), key
    if best is None:
        raise ValueError("no gate of the grid meets the tuning bar")
    return best

