"""Evaluate an NHL against its teacher on labelled photos, like the paper's tables.

    python -m hldemo.evaluate --images DIR [DIR ...] [--model nhl_lite0] [--split holdout] [--device auto] [--json]

DIR holds photos labelled by ImageNet wnid: an ImageFolder (``DIR/<wnid>/*.jpg``) or files named
``<wnid>_*.jpg``; photos of other wnids are skipped. Reported on the same images:

* top-1 of the teacher and of the full NHL, and their top-1 agreement;
* efficient experts (each level-1 and level-2 node with >= 2 images, and ``domestic_cat``): top-1
  of the real expert module vs the teacher restricted to the same categories;
* top-down attention (paper Table 4): top-1 of the full NHL when the correct category's branch
  gets gain g, and of the domestic-cat expert likewise;
* wrong cues (paper Table 5): the demo's gain (``hldemo.net.model.DEFAULT_GAIN``) with a fraction of
  the cues pointing at a random wrong category instead.

The networks run on ``--device`` (default: a GPU when there is one) in ``--dtype``; the teacher's
logits, the reference, are computed in float32 from the same trunk features.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import torch

from .data import is_holdout, list_images, load_image, wnid_of
from .errors import exit_on_user_error
from .net.backbone import load_teacher, make_transform
from .net.checkpoint import DEFAULT_CHECKPOINT, load_model
from .net.expert import build_expert
from .net.model import DEFAULT_GAIN
from .train.distill import TeacherTail
from .utils import add_device_arguments, device_label, resolve_device, resolve_dtype

# The photo sets the model card and the accuracy/cost frontier report on (folders of the project's
# data, ../shared/data): (name, folder, which photos, only this node's categories). "holdout" = the
# hashed held-out part (hldemo.data.is_holdout), "all", or "unused" = photos training did not use.
EVAL_SETS = (("ImageNet samples, held out (1 photo per class)", "imagenet-samples", "holdout", None),
             ("imagen, held out", "imagen", "holdout", None),
             ("NIPS 2017 ImageNet-compatible (Flickr, never used)", "nips17-imagenet-compatible", "all", None),
             ("Tiny-ImageNet house cats, not used (64 px)", "tiny-imagenet-200-train-100pc.tar", "unused",
              "domestic_cat"))
GAINS = (1.0, 1.1, 1.2, 1.4, 1.6, 1.8, 2.0, 3.0)
WRONG_FRACTIONS = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999, 1.0)
CAT_NODE = "domestic_cat"
RESTRICTED_TOP = 5  # restricted agreement counts photos whose teacher top-5 holds one of the expert's categories
BATCH = 32


def eval_set_files(data_dir: str | Path, hierarchy, holdout_fraction: float, used: set[Path] | None = None,
                   cache_dir: str | Path = "cache") -> dict[str, list[Path]]:
    """The photos of each of :data:`EVAL_SETS` that name the hierarchy's categories.

    Args:
        data_dir: the folder holding the sets' folders (the project's ``../shared/data``).
        hierarchy: the model's :class:`hldemo.hierarchy.Hierarchy`.
        holdout_fraction: the fraction the training run held out (its config's ``training``).
        used: resolved paths of the photos training used; None leaves out the "unused" sets.
        cache_dir: where tar archives are unpacked.
    """
    sets = {}
    for name, folder, which, node in EVAL_SETS:
        if which == "unused" and used is None:
            continue
        wanted = set(hierarchy.nodes[node].categories if node else hierarchy.categories)
        files = [f for f in list_images([Path(data_dir) / folder], cache_dir=cache_dir) if wnid_of(f) in wanted]
        if which == "holdout":
            files = [f for f in files if is_holdout(f, holdout_fraction)]
        elif which == "unused":
            files = [f for f in files if f.resolve() not in used]
        sets[name] = files
    return sets


@torch.inference_mode()
def extract(model, teacher, files, batch: int = BATCH, progress: bool = False):
    """Trunk features, teacher logits and pooled level-1 features of every photo (trunk and level 1
    run once per photo; ``model.head(pooled, start=1)`` gives the NHL's logits), on ``model``'s
    device and in its dtype (the teacher's logits in float32)."""
    weight = next(model.head.parameters())
    tf = make_transform(model.config["data"])
    tail = TeacherTail(teacher, len(model.trunk.model.blocks)) if hasattr(model.trunk.model, "blocks") else None
    feats, t_logits, pooled = [], [], []
    for i in range(0, len(files), batch):
        x = torch.stack([tf(load_image(f)) for f in files[i:i + batch]]).to(weight.device, weight.dtype)
        f = model.trunk(x.contiguous(memory_format=torch.channels_last))
        feats.append(f.contiguous())
        t_logits.append(tail(f.float()) if tail is not None else teacher(x.float()))
        pooled.append(model.head.pooled_level1(f))
        if progress:
            print(f"\r{min(i + batch, len(files))}/{len(files)} photos", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return torch.cat(feats), torch.cat(t_logits), torch.cat(pooled)


def _pooled(nodes: list[dict]) -> dict:
    """Expert vs restricted-teacher top-1 over all photos of a level's nodes (each photo once)."""
    nodes = [e for e in nodes if e["n_images"]]
    n = sum(e["n_images"] for e in nodes)

    def correct(key: str) -> int:
        return sum(round(e[key] * e["n_images"]) for e in nodes)
    return {"n_nodes": len(nodes), "n_images": n,
            "expert_top1": correct("expert_top1") / n if n else None,
            "teacher_top1": correct("teacher_top1") / n if n else None,
            "nodes_expert_at_least_teacher": sum(e["expert_top1"] >= e["teacher_top1"] for e in nodes)}


def restricted_agreement(expert_logits: torch.Tensor, teacher_logits: torch.Tensor, columns, top: int = RESTRICTED_TOP) -> tuple[float, int]:
    """How often an expert ranks first what the teacher ranks first among the expert's categories.

    Counted on the photos where the expert is the one to ask: those whose teacher top-``top`` holds
    one of its categories (issue #20's "restricted agreement").

    Args:
        expert_logits: (N, k) logits of the expert over its own categories.
        teacher_logits: (N, C) the teacher's logits over all its categories.
        columns: the teacher's column of each of the expert's k categories.

    Returns:
        (agreement, photos counted); agreement is NaN when no photo counts.
    """
    columns = torch.as_tensor(columns)
    teacher_top = teacher_logits.topk(min(top, teacher_logits.shape[1]), dim=1).indices
    rows = torch.isin(teacher_top, columns).any(1)
    n = int(rows.sum())
    if not n:
        return float("nan"), 0
    same = expert_logits[rows].argmax(1) == teacher_logits[rows][:, columns].argmax(1)
    return float(same.float().mean()), n


def top1(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return float((logits.argmax(1).cpu() == labels.cpu()).float().mean()) if len(labels) else float("nan")


@torch.inference_mode()
def evaluate(model, teacher, files, labels_wnid, seed: int = 0, progress: bool = False) -> dict:
    feats, t_logits, pooled = extract(model, teacher, files, progress=progress)
    n_logits = model.head(pooled, start=1)
    index = {w: i for i, w in enumerate(model.categories)}
    labels = torch.tensor([index[w] for w in labels_wnid])
    report = {"n_images": len(files), "teacher_top1": top1(t_logits, labels), "nhl_top1": top1(n_logits, labels),
              "agreement": float((t_logits.argmax(1) == n_logits.argmax(1)).float().mean())}

    # experts: the real sliced modules on the photos of their own categories, every level-1 and
    # level-2 node with >= 2 photos (and the domestic-cat node always)
    hierarchy = model.hierarchy
    experts = {}
    levels = {lvl: [n.id for n in hierarchy.level(lvl)] for lvl in (1, 2) if hierarchy.depth > lvl}
    wanted = [n for ids in levels.values() for n in ids]
    for node_id in wanted + ([CAT_NODE] if CAT_NODE in hierarchy.nodes and CAT_NODE not in wanted else []):
        cats = set(hierarchy.nodes[node_id].categories)
        rows = [i for i, w in enumerate(labels_wnid) if w in cats]
        if len(rows) < 2 and node_id != CAT_NODE:
            continue
        expert = build_expert(model, node_id)
        sub = torch.tensor([index[w] for w in expert.categories])
        local = {w: j for j, w in enumerate(expert.categories)}
        y = torch.tensor([local[labels_wnid[i]] for i in rows], dtype=torch.long)
        e_logits = expert.head(feats[rows]) if rows else torch.zeros(0, len(sub))
        experts[node_id] = {"level": hierarchy.nodes[node_id].level, "n_images": len(rows), "n_categories": len(sub),
                            "expert_top1": top1(e_logits, y), "teacher_top1": top1(t_logits[rows][:, sub], y)}
    report["experts"] = {f"level{lvl}": _pooled([experts[n] for n in ids if n in experts]) for lvl, ids in levels.items()}
    report["experts"]["per_node"] = experts

    # attention on the correct category's branch (Table 4), full NHL and the cat expert
    # gains on categories act on level 3 only: level 1 runs once, the sweeps start from its pooled output
    def with_gains(head, x, gain_dicts):
        return (torch.cat([head(x[i:i + 256], gain_dicts[i:i + 256], start=1) for i in range(0, len(x), 256)])
                if len(x) else x.new_zeros(0, 1))


    report["attention_gain_sweep"] = {str(g): top1(with_gains(model.head, pooled, [{w: g} for w in labels_wnid]), labels) for g in GAINS}
    cat = build_expert(model, CAT_NODE) if CAT_NODE in hierarchy.nodes else None
    if cat is not None:
        rows = [i for i, w in enumerate(labels_wnid) if w in cat.categories]
        local = {w: j for j, w in enumerate(cat.categories)}
        y = torch.tensor([local[labels_wnid[i]] for i in rows], dtype=torch.long)
        report["cat_expert_gain_sweep"] = {"n_images": len(rows), **{
            str(g): top1(with_gains(cat.head, cat.head.pooled_level1(feats[rows]), [{labels_wnid[i]: g} for i in rows]), y)
            if rows else None for g in GAINS}}

    # wrong cues (Table 5): at the demo's gain, a fraction of the photos get it on a random wrong category
    rng = random.Random(seed)
    wrong = {}
    for frac in WRONG_FRACTIONS:
        cues = []
        for w in labels_wnid:
            if rng.random() < frac:
                w = rng.choice([c for c in model.categories if c != w])
            cues.append({w: DEFAULT_GAIN})
        wrong[str(frac)] = top1(with_gains(model.head, pooled, cues), labels)
    report["wrong_cue_robustness"] = {"gain": DEFAULT_GAIN, "no_attention": report["nhl_top1"], **wrong}
    return report


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m hldemo.evaluate", description=__doc__.split("\n\n")[0])
    p.add_argument("--images", nargs="+", required=True, help="folders of wnid-labelled photos")
    p.add_argument("--model", default=DEFAULT_CHECKPOINT, help="checkpoint name, folder or Hub repo id")
    p.add_argument("--split", choices=("all", "holdout", "train"), default="all",
                   help="use only the held-out (or training) part by the hash split hldemo.train uses")
    p.add_argument("--holdout-fraction", type=float, default=0.3)
    p.add_argument("--max-images", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    add_device_arguments(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    with exit_on_user_error(p.prog):
        run(args)


def run(args) -> None:
    """Evaluate as the command line ``args`` asks and print the report."""
    torch.set_num_threads(max(torch.get_num_threads(), 1))
    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    model = load_model(args.model, device=device, dtype=dtype)
    teacher = load_teacher(model.config["backbone"]).to(device)  # float32: the reference
    files = [f for f in list_images(args.images) if wnid_of(f) in set(model.categories)]
    if args.split != "all":
        files = [f for f in files if is_holdout(f, args.holdout_fraction) == (args.split == "holdout")]
    if args.max_images:
        files = files[: args.max_images]
    if not files:
        raise SystemExit("no photos with an ImageNet-1k wnid label found")
    report = evaluate(model, teacher, files, [wnid_of(f) for f in files], seed=args.seed, progress=not args.json)
    report.update({"model": str(args.model), "images": [str(i) for i in args.images], "split": args.split,
                   "device": device_label(device), "dtype": args.dtype})
    if args.json:
        print(json.dumps(report))
        return
    print(f"{report['n_images']} photos  teacher top-1 {report['teacher_top1']:.3f}  NHL top-1 {report['nhl_top1']:.3f}  "
          f"agreement {report['agreement']:.3f}")
    for level, e in report["experts"].items():
        if level != "per_node" and e["n_images"]:
            print(f"experts: {e['n_nodes']} {level} nodes, {e['n_images']} photos: expert top-1 {e['expert_top1']:.3f} vs "
                  f"teacher restricted {e['teacher_top1']:.3f}; expert >= teacher on {e['nodes_expert_at_least_teacher']}/{e['n_nodes']} nodes")
    print("attention gain on the correct branch (full NHL top-1): " +
          "  ".join(f"{g}: {v:.3f}" for g, v in report["attention_gain_sweep"].items()))
    if "cat_expert_gain_sweep" in report:
        c = report["cat_expert_gain_sweep"]
        print(f"cat expert ({c['n_images']} photos): " + "  ".join(f"{g}: {c[str(g)]:.3f}" for g in GAINS if c[str(g)] is not None))
    w = report["wrong_cue_robustness"]
    print(f"wrong cues at gain {w['gain']} (no attention {w['no_attention']:.3f}): " +
          "  ".join(f"{int(float(f) * 1000) / 10}%: {w[str(f)]:.3f}" for f in WRONG_FRACTIONS))


if __name__ == "__main__":
    main()
