"""Cue tables: rows of cues with the nodes that are right for them, and a matcher's rate on them.

A table is a TSV file (``kind<TAB>cue<TAB>accepted node ids, |-separated[<TAB>note]``; ``#`` lines
are comments), e.g. ``tests/tables/descriptions_scenes.tsv``; ``python -m hldemo.cues --table T.tsv``
prints its rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..errors import HLDemoError
from ..utils import HIERARCHY_DIR

@dataclass(frozen=True)
class CueCase:
    """One row of a cue table (TSV: ``kind<TAB>cue<TAB>accepted node ids, |-separated[<TAB>note]``)."""

    kind: str
    cue: str
    accepted: tuple[str, ...]
    note: str = ""


def read_table(path: str | Path, what: str, columns: tuple[str, ...], most: int | None = None) -> list[list[str]]:
    """The stripped, tab-separated columns of each row of a text table (blank and ``#`` lines skipped).

    Args:
        what: the table's name in messages ("cue table").
        columns: the names of the columns every row must fill.
        most: the most columns a row may have (default: any number).

    Raises:
        HLDemoError: the file is missing, or a row leaves a column empty or has too many.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise HLDemoError(f"cannot read {what} {path}: {e}") from e
    rows = []
    for i, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = [c.strip() for c in line.split("\t")]
        if len(cols) < len(columns) or not all(cols[:len(columns)]) or (most is not None and len(cols) > most):
            raise HLDemoError(f"{path}:{i}: expected {', '.join(columns[:-1])} and {columns[-1]} separated by tabs")
        rows.append(cols)
    return rows


def load_cue_table(path: str | Path) -> list[CueCase]:
    """Rows of a cue table; ``#`` lines are comments.

    Raises:
        HLDemoError: the file is missing or a row has fewer than three columns.
    """
    return [CueCase(c[0], c[1], tuple(c[2].split("|")), c[3] if len(c) > 3 else "")
            for c in read_table(path, "cue table", ("kind", "cue", "accepted node ids"))]


def is_right(matcher, result, accepted: Iterable[str]) -> bool:
    """True when a result selects something and every selected node is an accepted node or lies
    under one (a more specific answer inside the accepted group counts: "pig" -> hog for pigs)."""
    accepted = list(accepted)
    return bool(result.node_ids) and all(any(matcher._is_ancestor(a, n) for a in accepted)
                                         for n in result.node_ids)


def run_cue_table(matcher, cases: Sequence[CueCase]) -> dict:
    """Match every row of a cue table: ``{"n", "right", "rate", "by_kind", "ms_p90", "rows"}`` (``ms_p90``:
    the 90th percentile of the matcher's own time per cue, in milliseconds)."""
    rows, by_kind = [], {}
    for c in cases:
        r = matcher.match(c.cue)
        ok = is_right(matcher, r, c.accepted)
        rows.append({"kind": c.kind, "cue": c.cue, "accepted": list(c.accepted), "nodes": r.node_ids,
                     "right": ok, "reasons": [m.reason for m in r.matches], "ms": r.seconds * 1000})
        k = by_kind.setdefault(c.kind, [0, 0])
        k[0] += ok
        k[1] += 1
    right = sum(r["right"] for r in rows)
    return {"n": len(rows), "right": right, "rate": right / max(1, len(rows)),
            "by_kind": {k: {"right": a, "n": b, "rate": a / b} for k, (a, b) in by_kind.items()},
            "ms_p90": float(np.percentile([r["ms"] for r in rows], 90)) if rows else 0.0, "rows": rows}




NEGATIVE_WORDS = HIERARCHY_DIR / "lexicon" / "negative_words.txt"


@dataclass(frozen=True)
class NegativeWord:
    """A word that names nothing (``language``, ``word``), on the ``role`` side of the dev / held-out split."""

    language: str
    word: str
    role: str


def load_negative_words(path: str | Path = NEGATIVE_WORDS) -> list[NegativeWord]:
    """The words that must match nothing (``language<TAB>word`` lines), split by
    :func:`hldemo.cues.word_clips.role`.

    Raises:
        HLDemoError: the file is missing or a row is malformed.
    """
    from .word_clips import role

    return [NegativeWord(lang, word, role(word))
            for lang, word in read_table(path, "the negative words", ("a language", "a word"), most=2)]
