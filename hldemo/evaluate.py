"""Evaluate an NHL against its teacher on labelled photos, like the paper's tables.

    python -m hldemo.evaluate --images DIR [DIR ...] [--model nhl_lite0] [--split holdout] [--device auto] [--json]

DIR holds photos labelled by ImageNet wnid: an ImageFolder (``DIR/<wnid>/*.jpg``) or files named
``<wnid>_*.jpg``; photos of other wnids are skipped. Reported on the same images:

* top-1 of the teacher and of the full NHL, and their top-1 agreement;
* efficient experts (each level-1 and level-2 node with >= 2 images, and ``domestic_cat``): top-1
  of the real expert module vs the teacher restricted to the same categories;
* top-down attention in the full network (paper Tables 4-5): top-1 against the gain with a right cue
  (the photo's own group at each level, or its category) and with random wrong cues
  (:data:`WRONG_CUE_SEEDS` draws of another node of the same level), and how often the attended
  network still agrees with the teacher under a wrong cue. :func:`choose_gain` picks the demo's
  default gain from these curves on calibration photos (``scripts/make_model_card.py`` writes it
  into the checkpoint's ``attention.json``).

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

from .data import is_holdout, list_images, load_example_credits, load_image, wnid_of
from .errors import exit_on_user_error
from .net.attention import attention_level, branch_gains
from .net.backbone import load_teacher, make_transform
from .net.checkpoint import DEFAULT_CHECKPOINT, load_model
from .net.expert import build_expert
from .net.model import NHLHead
from .train.distill import TeacherTail
from .utils import add_device_arguments, device_label, resolve_device, resolve_dtype

# The photo sets the model card and the accuracy/cost frontier report on (folders of the project's
# data, ../shared/data): (name, folder, which photos, only this node's categories). "holdout" = the
# hashed held-out part (hldemo.data.is_holdout), "all", or "unused" = photos training did not use.
# Photos the demo ships as examples (hldemo.data.EXAMPLE_CREDITS) are left out of every set: they were picked
# by looking at what the network does with them.
EVAL_SETS = (("ImageNet samples, held out (1 photo per class)", "imagenet-samples", "holdout", None),
             ("imagen, held out", "imagen", "holdout", None),
             ("NIPS 2017 ImageNet-compatible (Flickr, never used; demo examples left out)",
              "nips17-imagenet-compatible", "all", None),
             ("Tiny-ImageNet house cats, not used (64 px)", "tiny-imagenet-200-train-100pc.tar", "unused",
              "domestic_cat"))
# The photos the default attention gain is chosen on: never the held-out ones ("train" = the rest).
CALIBRATION_SETS = (("ImageNet samples, not held out", "imagenet-samples", "train", None),
                    ("imagen, not held out", "imagen", "train", None))
CUE_GAINS = (1.0, 1.05, 1.1, 1.15, 1.2, 1.3, 1.4, 1.5, 1.6, 1.8, 2.0, 2.5, 3.0)
WRONG_CUE_SEEDS = 10
MAX_WRONG_CUE_COST = 0.005  # a random wrong cue may cost at most 0.5 point of top-1 at the default gain
# The default gain must keep the wrong-cue cost under MAX_WRONG_CUE_COST on photos it never saw, so the
# rule bounds the cost's one-sided 95 % upper confidence limit (mean + z * standard error over the
# calibration photos), not its mean: at the mean alone, gain 1.2 cost 0.42 point on calibration photos
# and 0.53-0.57 on two held-out sets.
COST_CONFIDENCE_Z = 1.645
CAT_NODE = "domestic_cat"
RESTRICTED_TOP = 5  # restricted agreement counts photos whose teacher top-5 holds one of the expert's categories
BATCH = 32
HEAD_CHUNK = 256  # photos per pass of the branch levels from cached level-1 features


def example_sources() -> set[str]:
    """Paths (under ``../shared/data``) of the photos the demo ships as examples (``examples/photos/credits.csv``)."""
    return {row["source"] for row in load_example_credits() if row.get("source")}


def _relative(path: Path, folder: str | Path) -> str:
    """``path`` relative to ``folder`` in POSIX form ("" when it is not under it, e.g. unpacked from a tar)."""
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return ""


def eval_set_files(data_dir: str | Path, hierarchy, holdout_fraction: float, used: set[Path] | None = None,
                   cache_dir: str | Path = "cache", which_sets: tuple | None = None) -> dict[str, list[Path]]:
    """The photos of each of :data:`EVAL_SETS` (or ``which_sets``, e.g. :data:`CALIBRATION_SETS`) that
    name the hierarchy's categories, the demo's example photos left out.

    Args:
        data_dir: the folder holding the sets' folders (the project's ``../shared/data``).
        hierarchy: the model's :class:`hldemo.hierarchy.Hierarchy`.
        holdout_fraction: the fraction the training run held out (its config's ``training``).
        used: resolved paths of the photos training used; None leaves out the "unused" sets.
        cache_dir: where tar archives are unpacked.
    """
    sets = {}
    examples = example_sources()
    for name, folder, which, node in (EVAL_SETS if which_sets is None else which_sets):
        if which == "unused" and used is None:
            continue
        wanted = set(hierarchy.nodes[node].categories if node else hierarchy.categories)
        files = [f for f in list_images([Path(data_dir) / folder], cache_dir=cache_dir) if wnid_of(f) in wanted
                 and _relative(f, data_dir) not in examples]
        if which in ("holdout", "train"):
            files = [f for f in files if is_holdout(f, holdout_fraction) == (which == "holdout")]
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
        t_logits.append(tail(model.trunk.split_features(f).float()) if tail is not None else teacher(x.float()))
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
        e_logits = expert.head(expert.trunk.taken_from(feats[rows], model.trunk)) if rows else torch.zeros(0, len(sub))
        experts[node_id] = {"level": hierarchy.nodes[node_id].level, "n_images": len(rows), "n_categories": len(sub),
                            "expert_top1": top1(e_logits, y), "teacher_top1": top1(t_logits[rows][:, sub], y)}
    report["experts"] = {f"level{lvl}": _pooled([experts[n] for n in ids if n in experts]) for lvl, ids in levels.items()}
    report["experts"]["per_node"] = experts

    report["cue_curves"] = cue_curves(model, pooled, t_logits, labels_wnid, seed=seed)
    return report


class CueLogits:
    """Full-NHL logits with one cue per photo at a gain, as the demo applies it, computed cheaply
    from the pooled level-1 features.

    A cue's gain changes only the logits of the categories under the branches it multiplies, so
    only those are computed again, by the levels below level 1 cut out for the cue's group (its
    level-1 group for a group cue, its subgroup for a subgroup or category cue): exact, and
    hundreds of times cheaper than running levels 2.. of all 1000 categories per photo and gain.

    Args:
        model: the full NHL (a tree of depth >= 3).
        pooled: the photos' pooled level-1 features (:func:`extract`).
    """

    def __init__(self, model, pooled: torch.Tensor):
        self.model, self.pooled, self.hierarchy = model, pooled, model.hierarchy
        if attention_level(self.hierarchy) < 2:
            raise ValueError("cue curves need attention below level 1 (a tree of depth >= 3)")
        self.base = torch.cat([model.head(pooled[i:i + HEAD_CHUNK], start=1) for i in range(0, len(pooled), HEAD_CHUNK)]) \
            if len(pooled) else pooled.new_zeros(0, len(model.categories))
        self._index = {w: i for i, w in enumerate(model.categories)}
        self._level1 = {n: i for i, n in enumerate(model.head.levels[0].node_ids)}
        self._tails: dict[str, tuple] = {}

    def _tail(self, node_id: str) -> tuple:
        """Levels 2.. of the branches under ``node_id``, the level-1 branches they read, their categories' columns."""
        if node_id not in self._tails:
            sub = self.model.head.subset(list(self.hierarchy.nodes[node_id].categories))
            tail = NHLHead(list(sub.levels)[1:], sub.categories)
            self._tails[node_id] = (tail, [self._level1[n] for n in sub.levels[0].node_ids],
                                    torch.tensor([self._index[w] for w in sub.categories]))
        return self._tails[node_id]

    @torch.inference_mode()
    def __call__(self, cues: list[str], gain: float) -> torch.Tensor:
        """Logits (photos, categories) with photo i's cue ``cues[i]`` (a node id) at ``gain``."""
        out = self.base.clone()
        if gain == 1.0:
            return out
        groups: dict[str, list[int]] = {}
        for i, node_id in enumerate(cues):
            node = self.hierarchy.nodes[node_id]
            key = node_id if node.level <= 2 else node.parent  # a category's logits depend on its subgroup
            groups.setdefault(key, []).append(i)
        for key, rows in groups.items():
            tail, parents, columns = self._tail(key)
            gains = [branch_gains(self.hierarchy, {cues[i]: gain}) for i in rows]
            idx = torch.tensor(rows)
            out[idx[:, None], columns] = tail(self.pooled[idx][:, parents], gains)
        return out


@torch.inference_mode()
def cue_curves(model, pooled: torch.Tensor, t_logits: torch.Tensor, labels_wnid: list[str],
               gains=CUE_GAINS, seeds: int = WRONG_CUE_SEEDS, seed: int = 0) -> dict:
    """Full-NHL top-1 against the attention gain, with right and with random wrong cues (Tables 4-5).

    For each level of the tree a cue can name, the right cue is the photo's own node at that level
    (its group, subgroup or category); a wrong cue is another node of that level drawn at random,
    ``seeds`` times. Gains act as the demo applies them (:func:`hldemo.net.attention.branch_gains`).

    Returns:
        ``{"gains", "seeds", "n_images", "none_top1", "levels": {level: {"right_top1",
        "wrong_top1" (mean over seeds), "wrong_top1_min" (worst seed), "wrong_cost_se" (standard error,
        over photos, of the wrong cues' mean cost in top-1), "wrong_teacher_agreement" (mean; top-1
        equal to the teacher's), "wrong_teacher_agreement_min"}}}``, lists over ``gains``.
    """
    hierarchy = model.hierarchy
    with_cues = CueLogits(model, pooled)
    index = {w: i for i, w in enumerate(model.categories)}
    labels = torch.tensor([index[w] for w in labels_wnid])
    teacher_top = t_logits.argmax(1)
    out = {"gains": list(gains), "seeds": seeds, "n_images": len(labels_wnid), "none_top1": top1(with_cues.base, labels),
           "levels": {}}
    if not len(labels_wnid):
        return out
    rng = random.Random(seed)
    for level in range(1, hierarchy.depth + 1):
        nodes = [n.id for n in hierarchy.level(level)]
        right = [hierarchy.path(w)[level - 1].id for w in labels_wnid]
        wrong = [[rng.choice([n for n in nodes if n != r]) for r in right] for _ in range(seeds)]
        curve = {"right_top1": [], "wrong_top1": [], "wrong_top1_min": [], "wrong_cost_se": [],
                 "wrong_teacher_agreement": [], "wrong_teacher_agreement_min": []}
        correct_none = (with_cues.base.argmax(1).cpu() == labels).float()
        for g in gains:
            curve["right_top1"].append(top1(with_cues(right, g), labels))
            accs, agree, correct = [], [], torch.zeros(len(labels))
            for cues in wrong:
                logits = with_cues(cues, g)
                accs.append(top1(logits, labels))
                agree.append(float((logits.argmax(1) == teacher_top).float().mean()))
                correct += (logits.argmax(1).cpu() == labels).float() / len(wrong)
            cost = correct_none - correct  # per photo: what the wrong cues cost it, averaged over the draws
            curve["wrong_top1"].append(sum(accs) / len(accs))
            curve["wrong_top1_min"].append(min(accs))
            curve["wrong_cost_se"].append(float(cost.std() / len(cost) ** 0.5) if len(cost) > 1 else 0.0)
            curve["wrong_teacher_agreement"].append(sum(agree) / len(agree))
            curve["wrong_teacher_agreement_min"].append(min(agree))
        out["levels"][str(level)] = curve
    return out


def choose_gain(curves: dict, max_cost: float = MAX_WRONG_CUE_COST, z: float = COST_CONFIDENCE_Z) -> dict:
    """The default attention gain from :func:`cue_curves` of calibration photos: the gain whose right
    cues reach the highest top-1 (mean over cue levels) while random wrong cues, at every level, cost
    at most ``max_cost`` of top-1 with one-sided confidence ``z`` (mean cost over the seeds plus ``z``
    standard errors over the photos); the smaller gain on a tie.

    Returns:
        ``{"gain", "max_wrong_cue_cost", "confidence_z", "right_top1", "wrong_top1", "wrong_cost_upper"
        (per level at that gain), "none_top1"}``.
    """
    gains, none, levels = curves["gains"], curves["none_top1"], curves["levels"]

    def upper(c: dict, i: int) -> float:
        return none - c["wrong_top1"][i] + z * c.get("wrong_cost_se", [0.0] * len(gains))[i]

    best = 0
    for i in range(len(gains)):
        if all(upper(c, i) <= max_cost + 1e-9 for c in levels.values()):
            if _mean(c["right_top1"][i] for c in levels.values()) > _mean(c["right_top1"][best] for c in levels.values()) + 1e-12:
                best = i
    return {"gain": gains[best], "max_wrong_cue_cost": max_cost, "confidence_z": z, "none_top1": none,
            "right_top1": {lvl: c["right_top1"][best] for lvl, c in levels.items()},
            "wrong_top1": {lvl: c["wrong_top1"][best] for lvl, c in levels.items()},
            "wrong_cost_upper": {lvl: upper(c, best) for lvl, c in levels.items()}}


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def curve_at(curves: dict, gain: float) -> dict:
    """The cue curves' values at one gain (one of ``curves["gains"]``): ``{level: {key: value}}``."""
    i = curves["gains"].index(gain)
    return {lvl: {k: v[i] for k, v in c.items()} for lvl, c in curves["levels"].items()}


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
    c = report["cue_curves"]
    print(f"attention in the full NHL (no cue: top-1 {c['none_top1']:.3f}; wrong cues: mean of {c['seeds']} random draws)")
    for level, curve in c["levels"].items():
        print(f"  level {level} cues, gain: " + "  ".join(f"{g:g}" for g in c["gains"]))
        print("    right cue top-1:  " + "  ".join(f"{v:.3f}" for v in curve["right_top1"]))
        print("    wrong cue top-1:  " + "  ".join(f"{v:.3f}" for v in curve["wrong_top1"]))
    print(f"default gain these photos would choose: {choose_gain(c)['gain']:g}")


if __name__ == "__main__":
    main()
