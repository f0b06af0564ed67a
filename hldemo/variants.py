"""Registry of named NHL/PHL variants: JSON configs in ``hldemo/configs/``, and the builder.

A config names the timm backbone, the split point (an index of timm's ``forward_intermediates``),
the hierarchy and, per level, the ops inside each branch (see :mod:`hldemo.model`).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch
import torch.nn as nn

from .backbone import Trunk, data_config, load_teacher
from .errors import CheckpointError
from .hierarchy import Hierarchy, load_hierarchy
from .model import NHL, NHLHead

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
DEFAULT_VARIANT = "nhl_lite0"
REQUIRED_KEYS = ("backbone", "split", "hierarchy", "levels")


def list_variants() -> list[str]:
    """Names of the registered variants."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json"))


def get_config(name_or_path: str | Path) -> dict:
    """A variant's config by registry name or JSON path (a fresh copy)."""
    path = Path(name_or_path)
    if not path.suffix:
        path = CONFIG_DIR / f"{name_or_path}.json"
        if not path.exists():
            raise CheckpointError(f"unknown variant '{name_or_path}'; registered: {list_variants()}")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"cannot read config {path}: {e}") from e
    return validate_config(config)


def validate_config(config: dict) -> dict:
    if not isinstance(config, dict):
        raise CheckpointError("a model config must be a JSON object")
    missing = [k for k in REQUIRED_KEYS if k not in config]
    if missing:
        raise CheckpointError(f"model config lacks {missing}")
    if not isinstance(config["levels"], list) or not all(isinstance(l, list) and l for l in config["levels"]):
        raise CheckpointError("config 'levels' must be a list of non-empty op lists, one per hierarchy level")
    return copy.deepcopy(config)


def build_nhl(config: str | Path | dict = DEFAULT_VARIANT, teacher: nn.Module | None = None,
              hierarchy: Hierarchy | None = None, pretrained: bool = True) -> NHL:
    """Build an NHL (untrained head) from a variant name, JSON path or config dict.

    Args:
        teacher: the backbone to cut the trunk from; loaded from ``config["backbone"]`` if None.
        hierarchy: overrides ``config["hierarchy"]`` (e.g. a tree shipped inside a checkpoint).
        pretrained: load the backbone's ImageNet weights (False: random, for tests).
    """
    config = get_config(config) if not isinstance(config, dict) else validate_config(config)
    teacher = teacher if teacher is not None else load_teacher(config["backbone"], pretrained=pretrained)
    hierarchy = hierarchy or load_hierarchy(config["hierarchy"])
    trunk = Trunk(teacher, int(config["split"])).eval().requires_grad_(False)
    with torch.no_grad():
        in_channels = trunk(torch.zeros(1, 3, 64, 64)).shape[1]
    config.setdefault("data", data_config(teacher))
    config["in_channels"] = int(in_channels)
    head = NHLHead.from_hierarchy(hierarchy, config["levels"], in_channels)
    return NHL(trunk, head, hierarchy, config)
