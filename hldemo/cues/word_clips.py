"""Real people's single spoken words as cues: the labelled clips, their dev / held-out split, the verdicts.

The clips are KTuberling's word recordings (Debian package ``ktuberling-data``, GPL-2+, KDE: one
person per language says "umbrella", "Regenschirm", "parapluie", "ojo"...), read where the package
puts them (:data:`WORD_CLIP_DIR`, or ``$HLDEMO_WORD_CLIPS``); nothing of them is copied into the
project. ``hierarchies/lexicon/word_clips.tsv`` says, per word key, which nodes are right ("-": the
word names nothing, any category is wrong). The split into a development part (for tuning) and a
held-out part is by a hash of the key, fixed before anything was tuned: a word and its translations
are on the same side.

``scripts/eval_spoken_cues.py --words`` prints right / wrong category / nothing per language and the
negatives matched, for each part.
"""

from __future__ import annotations

import hashlib
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..errors import HierarchyError
from ..hierarchy import Hierarchy
from ..utils import HIERARCHY_DIR
from .cue_table import read_table

WORD_CLIP_LABELS = HIERARCHY_DIR / "lexicon" / "word_clips.tsv"
WORD_CLIP_DIR = Path(os.environ.get("HLDEMO_WORD_CLIPS", "/usr/share/ktuberling/sounds"))  # apt-get install ktuberling-data
WORD_CLIP_LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt")
HELD_OUT_SHARE = 50  # percent of the word keys held out (by the first byte of their SHA-1)
ROLES = ("dev", "held_out")
VERDICTS = ("right", "wrong", "nothing")  # a positive's result: its category, another one, none


@dataclass(frozen=True)
class WordClip:
    """One recording: ``language``, the word ``key`` (shared by its translations), the clip's ``path``,
    ``accepted`` nodes (empty: a negative, the word names nothing) and ``role`` ("dev" or "held_out")."""

    language: str
    key: str
    path: Path
    accepted: tuple[str, ...]
    role: str

    @property
    def negative(self) -> bool:
        return not self.accepted


def role(key: str) -> str:
    """``"held_out"`` or ``"dev"`` for a word key: a fixed hash split (see :data:`HELD_OUT_SHARE`)."""
    return "held_out" if hashlib.sha1(key.encode()).digest()[0] * 100 < HELD_OUT_SHARE * 256 else "dev"


def load_word_labels(path: str | Path = WORD_CLIP_LABELS) -> dict[str, tuple[str, ...] | None]:
    """Word key -> accepted node ids (``()``: names nothing; None: left out).

    Raises:
        HLDemoError: the file is missing or a row is malformed.
    """
    rows = read_table(path, "the word clip labels", ("a word key", "its accepted node ids, '-' or '?'"), most=2)
    labels: dict[str, tuple[str, ...] | None] = {}
    for key, accepted in rows:
        labels[key] = None if accepted == "?" else () if accepted == "-" else tuple(accepted.split("|"))
    return labels


def load_word_clips(root: str | Path = WORD_CLIP_DIR, languages: Iterable[str] = WORD_CLIP_LANGUAGES,
                    hierarchy: Hierarchy | None = None, labels: str | Path = WORD_CLIP_LABELS) -> list[WordClip]:
    """The labelled clips found under ``root`` (empty when the package is not installed).

    Args:
        hierarchy: when given, every accepted node is checked to exist in it.

    Raises:
        HierarchyError: malformed labels or sound theme, or an accepted node the hierarchy lacks.
    """
    root, table = Path(root), load_word_labels(labels)
    clips = []
    for lang in languages:
        theme = root / f"{lang}.soundtheme"
        if not theme.is_file():
            continue
        try:
            sounds = ET.parse(theme).getroot().iter("sound")
        except ET.ParseError as e:
            raise HierarchyError(f"cannot read {theme}: {e}") from e
        for s in sounds:
            key, rel = s.get("name"), s.get("file")
            accepted = table.get(key)
            if accepted is None or not rel or not (root / rel).is_file():
                continue
            if hierarchy is not None:
                for n in accepted:
                    if n not in hierarchy:
                        raise HierarchyError(f"{WORD_CLIP_LABELS}: word {key!r}: no node {n!r} in '{hierarchy.id}'")
            clips.append(WordClip(lang, key, root / rel, accepted, role(key)))
    return clips


def verdict(clip: WordClip, node_ids: list[str], right: bool) -> str:
    """``"right"``, ``"wrong"`` (a category, but not an accepted one) or ``"nothing"`` for a result's
    selected ``node_ids``; ``right``: the selection is right for the clip's accepted nodes (as
    :func:`hldemo.cues.cue_table.is_right` judges it)."""
    if not node_ids:
        return "nothing"
    return "right" if clip.accepted and right else "wrong"


def summarise(rows: list[dict]) -> dict:
    """Counts per role and language from rows ``{"role", "language", "negative", "verdict"}``:
    ``{role: {language: {"n", "right", "wrong", "nothing", "negatives", "negatives_matched"}}}``,
    with an ``"all"`` language per role."""
    out: dict = {}
    for r in rows:
        for lang in (r["language"], "all"):
            c = out.setdefault(r["role"], {}).setdefault(lang, {"n": 0, **{v: 0 for v in VERDICTS},
                                                                 "negatives": 0, "negatives_matched": 0})
            if r["negative"]:
                c["negatives"] += 1
                c["negatives_matched"] += r["verdict"] != "nothing"
            else:
                c["n"] += 1
                c[r["verdict"]] += 1
    return out
