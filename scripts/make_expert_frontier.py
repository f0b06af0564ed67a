"""Measure, per level-1 group, what its expert costs and how faithfully it ranks its own categories.

    python scripts/make_expert_frontier.py [--model checkpoints/nhl_lite0] [--lean nhl_lite0_lean]
                                           [--distilled runs/nhl_lite0_lean/final] [--data ../shared/data]

For every level-1 group of the checkpoint's tree (and the house-cat node), up to three points: cost as
the GMACs of the group's expert (FlopCounterMode) over the teacher's; restricted agreement
(:func:`hldemo.evaluate.restricted_agreement`) on the model card's held-out photo sets:

* **shipped**: the checkpoint's own expert (full-width exact copies for the default);
* **lean, least squares**: the lean branch of the ``--lean`` variant's ``branch_overrides`` for every
  group, initialised by :func:`hldemo.train.distill.init_from_teacher` only (no gradient steps);
* **lean, distilled**: for the groups a ``--distilled`` checkpoint narrows (made by
  ``python -m hldemo.train --variant nhl_lite0_lean ...``), that checkpoint's expert, and that
  checkpoint's full-network agreement with the teacher per set.

Writes ``experts.json`` beside the checkpoint: the points, and under ``nodes`` the shipped point of
every level-1 group and of the house-cat node, which the demo quotes next to an expert's answer.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from hldemo.evaluate import RESTRICTED_TOP, eval_set_files, extract, restricted_agreement
from hldemo.net.backbone import load_teacher
from hldemo.net.checkpoint import load_model
from hldemo.net.expert import build_expert
from hldemo.net.flops import count_macs
from hldemo.net.variants import build_nhl, get_config
from hldemo.train.distill import init_from_teacher
from hldemo.train.fit import calibration_features, command_args, recorded_args, training_files

ROOT = Path(__file__).resolve().parent.parent
CALIBRATION_IMAGES = 1000  # photos (each also mirrored) the least-squares point is fitted on, as the shipped init
EXTRA_NODES = ("domestic_cat",)  # nodes below level 1 whose experts the demo offers by name


def agreement_on(expert, sets: dict, index: dict) -> dict:
    """Restricted agreement of ``expert`` on every held-out set, and pooled over them."""
    cols = [index[w] for w in expert.categories]
    out = {}
    with torch.inference_mode():
        for name, (feats, t_logits) in sets.items():
            logits = torch.cat([expert.head(feats[i:i + 128]) for i in range(0, len(feats), 128)]) if len(feats) else feats
            a, n = restricted_agreement(logits, t_logits, cols)
            out[name] = {"agreement": a, "photos": n}
    n = sum(v["photos"] for v in out.values())
    pooled = sum(v["agreement"] * v["photos"] for v in out.values() if v["photos"]) / n if n else None
    return {"sets": out, "agreement": pooled, "photos": n}


def full_agreement(model, sets: dict) -> dict:
    """Top-1 agreement of a whole network with the teacher on every held-out set."""
    out = {}
    with torch.inference_mode():
        for name, (feats, t_logits) in sets.items():
            logits = torch.cat([model.head(feats[i:i + 64]) for i in range(0, len(feats), 64)])
            out[name] = float((logits.argmax(1) == t_logits.argmax(1)).float().mean())
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(ROOT / "checkpoints" / "nhl_lite0"))
    p.add_argument("--lean", default="nhl_lite0_lean", help="variant whose branch_overrides give the lean branch")
    p.add_argument("--distilled", default=None, help="a checkpoint trained with lean branches, to measure too")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    args = p.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    folder = Path(args.model)
    shipped = load_model(folder)
    teacher = load_teacher(shipped.config["backbone"])
    lean_overrides = get_config(args.lean).get("branch_overrides", [])
    if not lean_overrides:
        raise SystemExit(f"variant {args.lean} narrows no branch (no branch_overrides): nothing to compare")
    distilled = load_model(Path(args.distilled).resolve(), teacher=teacher) if args.distilled else None
    train_args = recorded_args(folder / "train.log")
    if train_args is None:
        raise SystemExit(f"{folder / 'train.log'} records no training command: cannot rebuild its photos")
    os.chdir(ROOT)  # the recorded command's paths are relative to the project root
    files = training_files(train_args)
    used = {f.resolve() for f in files}
    for command in distilled.config.get("training", {}).get("commands", []) if distilled else []:
        used |= {f.resolve() for f in training_files(command_args(command))}  # unseen by both
    held = eval_set_files(args.data, shipped.hierarchy, train_args.holdout_fraction, used=used,
                          cache_dir=ROOT / "runs" / "extracted")  # where training unpacks tars, as the card does
    t0 = time.time()
    sets = {}
    for name, photos in held.items():
        feats, t_logits, _ = extract(shipped, teacher, photos)
        sets[name] = (feats, t_logits)
    print(f"held-out features in {time.time() - t0:.0f} s", file=sys.stderr, flush=True)

    hierarchy = shipped.hierarchy
    groups = [n.id for n in hierarchy.level(1)]
    lean_ops = lean_overrides[0]["ops"]
    base = {k: v for k, v in shipped.config.items() if k not in ("training", "branch_overrides")}
    lean = build_nhl(dict(base, branch_overrides=[{"level": 1, "nodes": groups, "ops": lean_ops}]),
                     teacher=teacher, hierarchy=hierarchy).eval()
    t0 = time.time()
    init_from_teacher(lean, teacher, calibration_features(lean, files, CALIBRATION_IMAGES, train_args.seed))
    print(f"least-squares lean branches in {time.time() - t0:.0f} s", file=sys.stderr, flush=True)

    teacher_macs = count_macs(teacher)
    index = {w: i for i, w in enumerate(shipped.categories)}
    narrowed = {n for o in (distilled.config.get("branch_overrides", []) if distilled else []) for n in o["nodes"]}
    report = {"teacher_gmacs": teacher_macs / 1e9, "restricted_top": RESTRICTED_TOP, "lean_variant": args.lean,
              "lean_ops": lean_ops, "sets": {k: len(v) for k, v in held.items()}, "groups": {}, "nodes": {}}
    if distilled is not None:
        same = all(distilled.config.get(k) == get_config(args.lean).get(k) for k in ("backbone", "split", "levels", "hierarchy"))
        same = same and [(o["nodes"], o["ops"]) for o in distilled.config.get("branch_overrides", [])] == \
            [(o["nodes"], o["ops"]) for o in lean_overrides]
        report["distilled"] = {"commands": distilled.config.get("training", {}).get("commands", []),
                               "config_is_lean_variant": same,
                               "full_network_agreement": full_agreement(distilled, sets)}
    for node in groups + [n for n in EXTRA_NODES if n in hierarchy.nodes]:
        group = next(n.id for n in hierarchy.path(hierarchy.nodes[node].categories[0]) if n.level == 1)
        expert = build_expert(shipped, node)
        points = {"shipped": {"macs_vs_teacher": count_macs(expert) / teacher_macs, **agreement_on(expert, sets, index)},
                  "lean, least squares": {"macs_vs_teacher": count_macs(build_expert(lean, node)) / teacher_macs,
                                          **agreement_on(build_expert(lean, node), sets, index)}}
        if group in narrowed:
            expert = build_expert(distilled, node)
            points["lean, distilled"] = {"macs_vs_teacher": count_macs(expert) / teacher_macs, **agreement_on(expert, sets, index)}
        report["groups"][node] = {"categories": len(hierarchy.nodes[node].categories), "points": points}
        report["nodes"][node] = {"restricted_agreement": points["shipped"]["agreement"], "photos": points["shipped"]["photos"],
                                 "macs_vs_teacher": points["shipped"]["macs_vs_teacher"]}
        print(f"{node}: " + "; ".join(f"{k} {v['macs_vs_teacher']:.3f}x {v['agreement'] if v['agreement'] is None else round(v['agreement'], 3)}"
                                     for k, v in points.items()), file=sys.stderr, flush=True)
    (folder / "experts.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {folder / 'experts.json'}", file=sys.stderr)


if __name__ == "__main__":
    main()
