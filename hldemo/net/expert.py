"""Efficient experts: the trunk plus only the branches on the paths of a set of categories."""

from __future__ import annotations

from typing import Sequence

from ..errors import EmptySelectionError
from .model import NHL


def build_expert(model: NHL, categories_or_nodes: str | Sequence[str]) -> NHL:
    """Cut an efficient expert out of a trained NHL, without retraining (paper eq. 3).

    The expert shares the trunk module with ``model`` and holds sliced copies of the branch
    weights on the paths to the selected categories; its logits cover those categories only, so a
    softmax over them is the paper's restricted softmax. It runs on ``model``'s device, in its dtype.

    Args:
        model: a full NHL (or an expert: experts of experts work too).
        categories_or_nodes: wnids, category names, or hierarchy node ids/names; nodes expand to
            all their categories.

    Raises:
        EmptySelectionError: nothing selected.
        UnknownCategoryError: a name the hierarchy lacks, or a category outside ``model``.
    """
    wnids = model.hierarchy.resolve(categories_or_nodes)
    have = set(model.categories)
    wnids = [w for w in wnids if w in have]
    if not wnids:
        raise EmptySelectionError("none of the selected categories is covered by this model")
    head = model.head.subset(wnids)  # sliced weights stay where model's are; its index buffers start on the CPU
    # the trunk's outputs the kept branches read: an expert whose branches all leave at a tap skips the
    # trunk's later blocks (the same modules, shared, so it stays on model's device)
    trunk = model.trunk if head.inputs is None else model.trunk.restricted(head.inputs)
    return NHL(trunk, head.to(next(model.head.parameters()).device), model.hierarchy, model.config)
