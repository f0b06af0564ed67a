"""Measure every level-1 expert's cost against its ranking, pick where each group ships, write experts.json.

    python scripts/make_expert_frontier.py [--trained runs/nhl_lite0_tap/final] [--model checkpoints/nhl_lite0]
                                           [--write-model] [--data ../shared/data]

For every level-1 group of the tree (and the house-cat node) up to three points, each a cost (the
group's expert's GMACs over the teacher's, FlopCounterMode) and a restricted agreement
(:func:`hldemo.evaluate.restricted_agreement`) on dev photos and on the model card's held-out sets:

* **split-6 copy**: the whole trunk, then a full-width copy of the teacher's stage 6 + conv_head
  (the teacher initialisation, exact: agreement 1.00 at 0.997x);
* **tap, least squares**: the branch leaves the trunk after stage 5's second block (``blocks.5.1``,
  0.748x of the teacher) and its stage-6 + conv_head copy is refitted from there by least squares
  (:func:`hldemo.train.distill.init_from_teacher`), no gradient steps; measured for every group;
* **tap, distilled**: the ``--trained`` checkpoint's branch (``python -m hldemo.train --variant
  nhl_lite0_tap ...``) for the groups it taps.

**Where a group ships** is decided on the dev photos only: the distilled tap when its restricted
agreement there is at least :data:`SHIP_AGREEMENT`, else the exact split-6 copy. Dev photos are the
Tiny-ImageNet photos the training did not use, house cats left out (those are a held-out set),
:data:`DEV_PER_CLASS` per class; the held-out sets are reported, never used to decide.

``--write-model`` writes that network into ``--model``: the trained checkpoint with the groups that
miss the bar put back to exact copies (its config, training record and ``train.log`` come along).
``experts.json`` (beside ``--model``) holds every point, the decisions and, under ``nodes``, the
shipped point of every level-1 group and of the house-cat node, which the demo quotes.
"""

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import torch

from hldemo.data import cap_per_wnid, list_images, wnid_of
from hldemo.evaluate import RESTRICTED_TOP, eval_set_files, extract, restricted_agreement
from hldemo.net.backbone import load_teacher
from hldemo.net.checkpoint import load_model, save_model
from hldemo.net.expert import build_expert
from hldemo.net.flops import count_macs
from hldemo.net.variants import build_nhl
from hldemo.train.distill import init_from_teacher
from hldemo.train.fit import calibration_features, command_args, training_files

ROOT = Path(__file__).resolve().parent.parent
SHIP_AGREEMENT = 0.95  # issue #20: an expert that pays must rank as the teacher does on >= 95 % of photos
DEV_PER_CLASS = 20
DEV_SOURCE = "tiny-imagenet-200-train-100pc.tar"
CAT_NODE = "domestic_cat"
EXTRA_NODES = (CAT_NODE,)  # nodes below level 1 whose experts the demo offers by name
TAP = "blocks.5.1"


def agreement_on(expert, trunk, sets: dict, index: dict) -> dict:
    """Restricted agreement of ``expert`` on every set (features made by ``trunk``), and pooled."""
    cols = [index[w] for w in expert.categories]
    out = {}
    with torch.inference_mode():
        for name, (feats, t_logits) in sets.items():
            x = expert.trunk.taken_from(feats, trunk)
            logits = torch.cat([expert.head(x[i:i + 128]) for i in range(0, len(x), 128)]) if len(x) else x
            a, n = restricted_agreement(logits, t_logits, cols)
            out[name] = {"agreement": a, "photos": n}
    n = sum(v["photos"] for v in out.values())
    pooled = sum(v["agreement"] * v["photos"] for v in out.values() if v["photos"]) / n if n else None
    return {"sets": out, "agreement": pooled, "photos": n}


def full_agreement(model, trunk, sets: dict) -> dict:
    """Top-1 agreement of a whole network with the teacher on every set."""
    out = {}
    with torch.inference_mode():
        for name, (feats, t_logits) in sets.items():
            x = model.trunk.taken_from(feats, trunk)
            logits = torch.cat([model.head(x[i:i + 64]) for i in range(0, len(x), 64)])
            out[name] = float((logits.argmax(1) == t_logits.argmax(1)).float().mean())
    return out


def dev_files(data: Path, hierarchy, used: set, cache_dir: Path) -> list[Path]:
    """Tiny-ImageNet photos the training did not use, house cats left out, DEV_PER_CLASS per class."""
    cats = set(hierarchy.nodes[CAT_NODE].categories)
    wanted = set(hierarchy.categories) - cats
    files = [f for f in list_images([data / DEV_SOURCE], cache_dir=cache_dir)
             if wnid_of(f) in wanted and f.resolve() not in used]
    return cap_per_wnid(files, DEV_PER_CLASS)


def _fmt(agreement) -> str:
    return "n/a" if agreement is None else f"{agreement:.3f}"


def merged(trained, exact, teacher, keep: list[str]):
    """The trained network with only the ``keep`` groups tapped; every other group the exact copy."""
    config = {k: v for k, v in trained.config.items() if k != "in_channels"}
    overrides = []
    for o in trained.config.get("branch_overrides", []):
        nodes = [n for n in o["nodes"] if "tap" not in o or n in keep]
        if nodes:
            overrides.append(dict(o, nodes=nodes))
    config["branch_overrides"] = overrides
    model = build_nhl(config, teacher=teacher, hierarchy=trained.hierarchy).eval()
    model.head.load_branches(exact.head)
    if keep:
        model.head.load_branches(build_expert(trained, keep).head)
    return model


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trained", default=str(ROOT / "runs" / "nhl_lite0_tap" / "final"))
    p.add_argument("--model", default=str(ROOT / "checkpoints" / "nhl_lite0"))
    p.add_argument("--write-model", action="store_true", help="write the shipped network into --model")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    args = p.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    trained_dir, folder, data = Path(args.trained).resolve(), Path(args.model).resolve(), Path(args.data).resolve()
    trained = load_model(trained_dir, with_split=True)
    teacher = load_teacher(trained.config["backbone"])
    record = trained.config.get("training", {})
    if "command" not in record:
        raise SystemExit(f"{trained_dir} records no training command: cannot rebuild its photos")
    train_args = command_args(record["command"])
    os.chdir(ROOT)  # the recorded command's paths are relative to the project root
    files = training_files(train_args)
    used = {f.resolve() for f in files}
    hierarchy = trained.hierarchy
    groups = [n.id for n in hierarchy.level(1)]
    tapped = [n for o in trained.config.get("branch_overrides", []) if o.get("tap") == TAP for n in o["nodes"]]
    cache_dir = ROOT / "runs" / "extracted"  # where training unpacks tars, as the card does

    t0 = time.time()
    base = {k: v for k, v in trained.config.items() if k not in ("training", "branch_overrides", "in_channels")}
    tap_ops = next(o["ops"] for o in trained.config["branch_overrides"] if o.get("tap") == TAP)
    least_squares = build_nhl(dict(base, branch_overrides=[{"level": 1, "nodes": groups, "tap": TAP, "ops": tap_ops}]),
                              teacher=teacher, hierarchy=hierarchy, with_split=True).eval()
    calib = calibration_features(least_squares, files, train_args.calibration_images, train_args.seed)
    init_from_teacher(least_squares, teacher, calib)
    exact = build_nhl(base, teacher=teacher, hierarchy=hierarchy).eval()
    init_from_teacher(exact, teacher, least_squares.trunk.split_features(calib))
    del calib
    print(f"exact and least-squares networks in {time.time() - t0:.0f} s", file=sys.stderr, flush=True)

    t0 = time.time()
    held = eval_set_files(data, hierarchy, train_args.holdout_fraction, used=used, cache_dir=cache_dir)
    photo_sets = {"dev": {"Tiny-ImageNet, not used, no house cats (dev)": dev_files(data, hierarchy, used, cache_dir)},
                  "held_out": held}
    sets = {part: {name: extract(trained, teacher, photos)[:2] for name, photos in named.items()}
            for part, named in photo_sets.items()}
    print(f"features of {sum(len(v) for n in photo_sets.values() for v in n.values())} photos in {time.time() - t0:.0f} s",
          file=sys.stderr, flush=True)

    teacher_macs = count_macs(teacher)
    index = {w: i for i, w in enumerate(trained.categories)}
    networks = {"split-6 copy": exact, "tap, least squares": least_squares, "tap, distilled": trained}
    report = {"teacher_gmacs": teacher_macs / 1e9, "restricted_top": RESTRICTED_TOP, "ship_agreement": SHIP_AGREEMENT,
              "tap": TAP, "trained": {"checkpoint": str(trained_dir.relative_to(ROOT)) if trained_dir.is_relative_to(ROOT)
                                      else str(trained_dir), "commands": record.get("commands", [record["command"]])},
              "sets": {part: {k: len(v) for k, v in named.items()} for part, named in photo_sets.items()},
              "groups": {}, "nodes": {}}
    keep = []
    nodes = groups + [n for n in EXTRA_NODES if n in hierarchy.nodes]
    group_of = {node: next(n.id for n in hierarchy.path(hierarchy.nodes[node].categories[0]) if n.level == 1) for node in nodes}
    for node in nodes:
        points = {}
        for label, net in networks.items():
            if label == "tap, distilled" and group_of[node] not in tapped:
                continue
            expert = build_expert(net, node)
            points[label] = {"macs_vs_teacher": count_macs(expert) / teacher_macs,
                             **{part: agreement_on(expert, trained.trunk, s, index) for part, s in sets.items()}}
        entry = {"categories": len(hierarchy.nodes[node].categories), "points": points}
        if node in groups:
            dev = points.get("tap, distilled", {}).get("dev", {}).get("agreement")
            ships = "tap, distilled" if dev is not None and dev >= SHIP_AGREEMENT else "split-6 copy"
            why = ("not distilled at the tap" if dev is None else
                   f"dev restricted agreement {dev:.3f} {'>=' if ships != 'split-6 copy' else '<'} {SHIP_AGREEMENT}")
            entry.update(ships=ships, why=why)
            if ships == "tap, distilled":
                keep.append(node)
        report["groups"][node] = entry
        print(f"{node}: " + "; ".join(f"{k} {v['macs_vs_teacher']:.3f}x dev {_fmt(v['dev']['agreement'])} "
                                     f"held-out {_fmt(v['held_out']['agreement'])}" for k, v in points.items())
              + (f" -> {entry['ships']}" if "ships" in entry else ""), file=sys.stderr, flush=True)
    for node, entry in report["groups"].items():  # a sub-node ships with its group's branch
        if "ships" not in entry:
            entry["ships"] = report["groups"][group_of[node]]["ships"]
            entry["why"] = f"its level-1 group {group_of[node]}'s branch"

    shipped = merged(trained, exact, teacher, keep)
    report["shipped_taps"] = keep
    report["full_network_agreement"] = {part: full_agreement(shipped, trained.trunk, s) for part, s in sets.items()}
    for node, entry in report["groups"].items():
        point = entry["points"][entry["ships"]]
        report["nodes"][node] = {"restricted_agreement": point["held_out"]["agreement"], "photos": point["held_out"]["photos"],
                                 "macs_vs_teacher": point["macs_vs_teacher"], "branch": entry["ships"]}
    if args.write_model:
        training = dict(record, tap_selection={"rule": f"dev restricted agreement >= {SHIP_AGREEMENT}", "tapped": keep,
                                               "command": "python scripts/make_expert_frontier.py --write-model"})
        save_model(shipped, folder, extra={"training": training})
        log = trained_dir.parent / "train.log"
        if log.exists():
            shutil.copyfile(log, folder / "train.log")
        print(f"wrote {folder} (taps: {', '.join(keep) or 'none'})", file=sys.stderr)
    (folder / "experts.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {folder / 'experts.json'}; full network agreement {report['full_network_agreement']}", file=sys.stderr)


if __name__ == "__main__":
    main()
