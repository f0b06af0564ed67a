"""Top-down attention as the demo applies it and the evaluation measures it (paper Sec. 4.4).

A cue's nodes get a gain in the **full** network (> 1 enhances, < 1 inhibits), so the cued
categories compete with all the others in one softmax: a right cue lifts them, a wrong one cannot
make up evidence the photo lacks. Gains act on the branches of the level just above the categories
(for the curated tree: its 145 subgroups) or on single categories; a cue naming a higher group (level
1, e.g. "dog") puts its gain on each of that group's subgroups. That is the operation
``python scripts/make_model_card.py`` calibrates the default gain on, so the demo runs exactly what
was measured.

The default gain of a checkpoint is data, not code: :func:`load_default_gain` reads the
``attention.json`` that the model card script writes next to the weights (chosen on calibration
photos, never on held-out ones); :data:`FALLBACK_GAIN` serves checkpoints without one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from .checkpoint import ATTENTION_FILE, DEFAULT_CHECKPOINT, read_checkpoint_json
from .model import DEFAULT_GAIN

FALLBACK_GAIN = DEFAULT_GAIN  # for checkpoints without a calibrated attention.json


def attention_level(hierarchy) -> int:
    """The shallowest level attention acts on: the one above the categories (1 for a 2-level tree)."""
    return max(hierarchy.depth - 1, 1)


def branch_gains(hierarchy, gains: Mapping[str, float]) -> dict[str, float]:
    """Per-branch gains for ``{node_id: gain}``, later entries winning: a node above
    :func:`attention_level` passes its gain to its descendants at that level.

    Args:
        hierarchy: the model's :class:`hldemo.hierarchy.Hierarchy`.
        gains: node ids (any level) -> gain; enhanced nodes first, then inhibited ones.

    Returns:
        ``{node_id: gain}`` on branches at :func:`attention_level` or below; gains of 1 dropped.
    """
    level = attention_level(hierarchy)
    out: dict[str, float] = {}
    for node_id, g in gains.items():
        stack = [node_id]
        while stack:
            node = hierarchy.nodes[stack.pop()]
            if node.level >= level or node.is_category:
                out[node.id] = float(g)
            else:
                stack.extend(node.children)
    return {k: v for k, v in out.items() if v != 1.0}


def load_attention_card(name_or_path: str | Path = DEFAULT_CHECKPOINT) -> dict:
    """A checkpoint's ``attention.json``: the chosen ``gain``, how it was chosen, the curves; {} if absent."""
    return read_checkpoint_json(name_or_path, ATTENTION_FILE)


def load_default_gain(name_or_path: str | Path = DEFAULT_CHECKPOINT) -> float:
    """The gain a checkpoint's attention was calibrated for (:data:`FALLBACK_GAIN` without ``attention.json``)."""
    return float(load_attention_card(name_or_path).get("gain", FALLBACK_GAIN))
