"""Registry of named NHL/PHL variants: JSON configs in ``hldemo/net/configs/``, and the builder.

A config names the timm backbone, the split point (an index of timm's ``forward_intermediates``;
with ``"split_extra_blocks": true`` an index over every block, timm's ``extra_blocks``),
the hierarchy and, per level, the ops inside each branch (see :mod:`hldemo.net.model`).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch.nn as nn

from ..errors import CheckpointError
from ..hierarchy import Hierarchy, load_hierarchy
from .backbone import SPLIT, Trunk, data_config, load_teacher
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


# Branch op fields checked before building: (required, optional integer fields); the last op of
# the last level needs no "out" (it gives one logit per category). Other op types are left to
# hldemo.net.model, which names the types it knows.
OP_FIELDS = {"mbconv": (("hidden", "out"), ("depth", "kernel", "stride")),
             "pointwise": (("out",), ()),
             "mlp": (("out",), ("hidden",))}


def validate_config(config: dict) -> dict:
    """Check a model config before anything is built from it, and return a deep copy.

    Args:
        config: a variant config (``hldemo/net/configs/*.json``, a ``--variant`` file or a checkpoint's
            ``config.json``).

    Raises:
        CheckpointError: a missing key or a value of the wrong kind, naming where it is (e.g.
            ``levels[0][1]``), instead of a KeyError deep inside the model.
    """
    if not isinstance(config, dict):
        raise CheckpointError(f"a model config must be a JSON object, not {type(config).__name__}")
    missing = [k for k in REQUIRED_KEYS if k not in config]
    if missing:
        raise CheckpointError(f"model config lacks {missing} (a config needs {list(REQUIRED_KEYS)})")
    for key in ("backbone", "hierarchy"):
        if not isinstance(config[key], str) or not config[key].strip():
            raise CheckpointError(f"config '{key}' must be a non-empty name, not {config[key]!r}")
    if not _is_int(config["split"]):
        raise CheckpointError(f"config 'split' must be an integer stage index, not {config['split']!r}")
    if not isinstance(config.get("split_extra_blocks", False), bool):
        raise CheckpointError(f"config 'split_extra_blocks' must be true or false, not {config['split_extra_blocks']!r}")
    levels = config["levels"]
    if not isinstance(levels, list) or not levels or not all(isinstance(l, list) and l for l in levels):
        raise CheckpointError("config 'levels' must be a list of non-empty op lists, one per hierarchy level")
    for li, level in enumerate(levels):
        _check_ops(level, f"config levels[{li}]", last_level=li == len(levels) - 1)
    overrides = config.get("branch_overrides", [])
    if not isinstance(overrides, list):
        raise CheckpointError("config 'branch_overrides' must be a list of {\"level\", \"nodes\", \"ops\"} objects")
    for i, o in enumerate(overrides):
        where = f"config branch_overrides[{i}]"
        if not isinstance(o, dict) or set(o) - {"level", "nodes", "ops", "why", "tap"} or not {"level", "nodes", "ops"} <= set(o):
            raise CheckpointError(f"{where} must be an object with 'level', 'nodes' and 'ops' (and an optional 'tap' and 'why')")
        if "tap" in o and (not isinstance(o["tap"], str) or o["level"] != 1):
            raise CheckpointError(f"{where}: 'tap' must be a trunk block's module path like \"blocks.5.1\", at level 1 only")
        if not _is_int(o["level"]) or not 1 <= o["level"] < len(levels):
            raise CheckpointError(f"{where}: 'level' must be a level above the last, 1 to {len(levels) - 1}, not {o['level']!r}")
        if not isinstance(o["nodes"], list) or not all(isinstance(n, str) for n in o["nodes"]):
            raise CheckpointError(f"{where}: 'nodes' must be a list of node ids")  # empty in an expert cut without them
        if not isinstance(o["ops"], list) or not o["ops"]:
            raise CheckpointError(f"{where}: 'ops' must be a non-empty op list")
        _check_ops(o["ops"], f"{where} ops", last_level=False)
    if "data" in config and not isinstance(config["data"], dict):
        raise CheckpointError("config 'data' (preprocessing) must be a JSON object")
    return copy.deepcopy(config)


def _check_ops(level: list, where: str, last_level: bool) -> None:
    """Check one level's op list (see :data:`OP_FIELDS`); ``where`` names it in errors."""
    for oi, op in enumerate(level):
        at = f"{where}[{oi}]"
        if not isinstance(op, dict):
            raise CheckpointError(f"{at} must be an op object like {{\"type\": \"mlp\", \"out\": 64}}, not {op!r}")
        if op.get("type") not in OP_FIELDS:
            continue
        required, optional = OP_FIELDS[op["type"]]
        last = last_level and oi == len(level) - 1
        for name in required:
            if name not in op and not (name == "out" and last):
                raise CheckpointError(f"{at} ({op['type']}) lacks '{name}'")
        for name in required + optional:
            value = op.get(name)
            ok = value is None or (_is_int(value) and value >= (0 if name == "hidden" else 1))
            if name == "hidden" and isinstance(value, list):  # mbconv: one width per block
                ok = bool(value) and all(_is_int(v) and v >= 1 for v in value)
            if not ok:
                raise CheckpointError(f"{at} ({op['type']}): '{name}' must be a positive integer, not {value!r}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def build_nhl(config: str | Path | dict = DEFAULT_VARIANT, teacher: nn.Module | None = None,
              hierarchy: Hierarchy | None = None, pretrained: bool = True, with_split: bool = False) -> NHL:
    """Build an NHL (untrained head) from a variant name, JSON path or config dict.

    Args:
        teacher: the backbone to cut the trunk from; loaded from ``config["backbone"]`` if None.
        hierarchy: overrides ``config["hierarchy"]`` (e.g. a tree shipped inside a checkpoint).
        pretrained: load the backbone's ImageNet weights (False: random, for tests).
        with_split: the trunk also yields its split point when every branch reads a tap (training and
            evaluation need it: the teacher's later layers read it).
    """
    config = get_config(config) if not isinstance(config, dict) else validate_config(config)
    teacher = teacher if teacher is not None else load_teacher(config["backbone"], pretrained=pretrained)
    hierarchy = hierarchy or load_hierarchy(config["hierarchy"])
    overrides = config.get("branch_overrides", ())
    outputs = trunk_outputs(hierarchy, overrides)
    trunk = Trunk(teacher, int(config["split"]), bool(config.get("split_extra_blocks", False)),
                  [SPLIT] + outputs if with_split else outputs).eval().requires_grad_(False)
    config.setdefault("data", data_config(teacher))
    inputs = list(zip(trunk.outputs, trunk.channels))
    config["in_channels"] = dict(inputs).get(SPLIT, trunk.channels[0])
    head = NHLHead.from_hierarchy(hierarchy, config["levels"], config["in_channels"], overrides,
                                  inputs if len(inputs) > 1 or inputs[0][0] != SPLIT else None)
    return NHL(trunk, head, hierarchy, config)


def trunk_outputs(hierarchy: Hierarchy, overrides) -> list[str]:
    """What the trunk must yield for ``hierarchy``'s level-1 branches: its split point if any branch
    reads it, then the taps that override branches read (an expert saved with only tap branches
    builds a trunk that stops at its tap)."""
    level1 = [n.id for n in hierarchy.level(1)]
    tapped = {n: o["tap"] for o in overrides if int(o["level"]) == 1 and "tap" in o for n in o["nodes"]}
    taps = [tapped[n] for n in level1 if n in tapped]
    return ([SPLIT] if any(n not in tapped for n in level1) else []) + list(dict.fromkeys(taps))
