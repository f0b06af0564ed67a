"""Saving and loading trained NHL heads: safetensors weights + JSON config (+ the hierarchy).

A checkpoint is a folder::

    config.json        the variant config (backbone, split, levels, preprocessing, training info)
    hierarchy.json     the category tree the branches follow
    head.safetensors   the branch weights (the trunk is the backbone's own, loaded by name)
    README.md          model card (optional)
    attention.json     the default attention gain, chosen on calibration photos (optional;
                       ``python scripts/make_model_card.py`` writes it)
    experts.json       measured agreement of efficient experts with the teacher (optional)

``load_model`` takes a name under ``checkpoints/``, a local folder, or a Hugging Face Hub repo id.
Only JSON and safetensors are ever read: nothing downloaded is unpickled.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import torch
import torch.nn as nn
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..errors import CheckpointError, HierarchyError
from ..hierarchy import Hierarchy
from ..utils import CHECKPOINT_DIR
from .model import NHL

DEFAULT_CHECKPOINT = "nhl_lite0"
CONFIG_FILE, HIERARCHY_FILE, WEIGHTS_FILE = "config.json", "hierarchy.json", "head.safetensors"
ATTENTION_FILE, EXPERTS_FILE = "attention.json", "experts.json"


def available_models() -> list[str]:
    """Checkpoints shipped in ``checkpoints/``."""
    return sorted(p.parent.name for p in CHECKPOINT_DIR.glob(f"*/{WEIGHTS_FILE}"))


def save_model(model: NHL, folder: str | Path, dtype: torch.dtype = torch.float16, extra: dict | None = None) -> Path:
    """Write ``model``'s head, config and hierarchy to ``folder``.

    Args:
        dtype: storage dtype of the weights (float16 halves the size; loading casts back to float32).
        extra: merged into the saved config (e.g. training command and metrics).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = dict(model.config, **(extra or {}))
    if config.get("branch_overrides"):  # an expert names only the overridden branches it holds
        held = {n for ids in model.head.node_ids for n in ids}
        config["branch_overrides"] = [dict(o, nodes=[n for n in o["nodes"] if n in held]) for o in config["branch_overrides"]]
    tensors = {k: v.detach().to(dtype).contiguous() for k, v in model.head.state_dict().items()}
    save_file(tensors, str(folder / WEIGHTS_FILE), metadata={"format": "pt", "variant": str(config.get("name"))})
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    tree = model.hierarchy.subtree(model.categories)  # an expert saves just its own tree
    (folder / HIERARCHY_FILE).write_text(json.dumps(tree.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return folder


def save_model_zip(model: NHL, zip_path: str | Path, readme: str | None = None, **kwargs) -> Path:
    """:func:`save_model` into a zip holding one folder named after the zip (plus ``README.md``).

    The zip is written next to its final name and renamed into place, so a reader never sees half
    of it. ``kwargs`` go to :func:`save_model`.
    """
    zip_path = Path(zip_path)
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hldemo-zip-") as tmp:
        folder = save_model(model, Path(tmp) / zip_path.stem, **kwargs)
        if readme is not None:
            (folder / "README.md").write_text(readme, encoding="utf-8")
        partial = Path(tmp) / zip_path.name
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(folder.iterdir()):
                zf.write(f, arcname=f"{folder.name}/{f.name}")
        shutil.move(str(partial), zip_path)
    return zip_path


def _resolve(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.is_file() and path.name == CONFIG_FILE:
        return path.parent
    if path.is_dir():
        return path
    local = CHECKPOINT_DIR / str(name_or_path)
    if local.is_dir():
        return local
    name = str(name_or_path)
    if name.count("/") == 1 and not name.startswith((".", "/")):
        return _download(name)
    raise CheckpointError(f"no checkpoint '{name_or_path}': not a folder, not in {CHECKPOINT_DIR} "
                          f"(shipped: {available_models()}), not a Hub repo id (user/name)")


def _download(repo_id: str) -> Path:
    """Fetch a checkpoint from the Hugging Face Hub (online only): JSON and safetensors files only."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, allow_patterns=["*.json", "*.safetensors", "*.md"]))
    except Exception as e:  # offline, unknown repo, auth: all say the same to the user
        offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")
        hint = " (HF_HUB_OFFLINE is set)" if offline else ""
        raise CheckpointError(f"cannot download checkpoint '{repo_id}' from the Hugging Face Hub{hint}: {e}") from e


def read_config(name_or_path: str | Path) -> dict:
    """A checkpoint's validated config (backbone, split, levels...), without building the model.

    Args:
        name_or_path: a name under ``checkpoints/``, a local folder, or a Hub repo id (downloaded).

    Raises:
        CheckpointError: no such checkpoint, or its config is missing or malformed.
    """
    from .variants import validate_config

    folder = _resolve(name_or_path)
    try:
        return validate_config(json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8")))
    except FileNotFoundError as e:
        raise CheckpointError(f"checkpoint {folder} lacks {CONFIG_FILE}") from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"checkpoint {folder}: malformed JSON: {e}") from e


def read_checkpoint_json(name_or_path: str | Path, filename: str) -> dict:
    """An optional JSON file of a checkpoint folder (e.g. :data:`ATTENTION_FILE`); {} when absent.

    Raises:
        CheckpointError: no such checkpoint, or the file is not a JSON object.
    """
    path = _resolve(name_or_path) / filename
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"checkpoint file {path}: malformed JSON: {e}") from e
    if not isinstance(data, dict):
        raise CheckpointError(f"checkpoint file {path}: expected a JSON object")
    return data


def load_expert_card(name_or_path: str | Path = DEFAULT_CHECKPOINT) -> dict:
    """The experts' measured agreement with the teacher (``experts.json``): ``{"source", "sets",
    "nodes": {node_id: {"restricted_agreement", "photos", "macs_vs_teacher"}}}``; {} when absent."""
    card = read_checkpoint_json(name_or_path, EXPERTS_FILE)
    if card and not isinstance(card.get("nodes"), dict):
        raise CheckpointError(f"checkpoint {name_or_path}: {EXPERTS_FILE} lacks its 'nodes' object")
    return card


def load_model(name_or_path: str | Path = DEFAULT_CHECKPOINT, teacher: nn.Module | None = None, *,
               device: str | torch.device = "cpu", dtype: str | torch.dtype | None = None, with_split: bool = False) -> NHL:
    """Load a trained NHL: a name under ``checkpoints/``, a local folder, or a Hub repo id.

    Args:
        teacher: an already loaded backbone to cut the trunk from (saves loading it twice; it is
            copied, never moved).
        device: where the network runs: ``"cpu"`` (default), ``"cuda"``, ``"cuda:N"`` or ``"auto"``
            (:func:`hldemo.utils.resolve_device`).
        dtype: the network's precision (:data:`hldemo.utils.DTYPES`; default float32).
        with_split: the trunk yields its split point even when every branch reads a tap
            (:func:`hldemo.net.variants.build_nhl`).

    Raises:
        CheckpointError: missing files, malformed config, or weights that do not fit the config.
        DeviceError: a device this machine lacks, or float16 on the CPU.
    """
    from ..utils import resolve_device, resolve_dtype
    from .variants import build_nhl

    device = resolve_device(device)
    dtype = resolve_dtype(dtype, device)

    folder = _resolve(name_or_path)
    config = read_config(folder)
    try:
        hierarchy = Hierarchy(json.loads((folder / HIERARCHY_FILE).read_text(encoding="utf-8")))
    except FileNotFoundError as e:
        raise CheckpointError(f"checkpoint {folder} lacks {Path(e.filename).name}") from e
    except (json.JSONDecodeError, UnicodeDecodeError, HierarchyError) as e:
        raise CheckpointError(f"checkpoint {folder}: malformed JSON: {e}") from e
    try:
        tensors = load_file(str(folder / WEIGHTS_FILE))
    except (FileNotFoundError, SafetensorError, OSError) as e:
        raise CheckpointError(f"checkpoint {folder}: cannot read {WEIGHTS_FILE}: {e}") from e
    model = build_nhl(config, teacher=teacher, hierarchy=hierarchy, with_split=with_split)
    expected = model.head.state_dict()
    if set(tensors) != set(expected):
        raise CheckpointError(f"checkpoint {folder}: weights do not fit the config "
                              f"(missing {sorted(set(expected) - set(tensors))[:3]}, unexpected {sorted(set(tensors) - set(expected))[:3]})")
    bad = [k for k in expected if tensors[k].shape != expected[k].shape]
    if bad:
        raise CheckpointError(f"checkpoint {folder}: shape mismatch for {bad[:3]}")
    model.head.load_state_dict({k: v.float() for k, v in tensors.items()})
    return model.to(device, dtype).eval()
