"""Measure the accuracy/cost frontier of teacher-initialised NHLs (the model card's frontier table).

    python scripts/make_frontier.py [--model checkpoints/nhl_lite0] [--data ../shared/data]

Every configuration in ``FRONTIER`` (data below: trunk split, hidden width of the copied blocks,
conv_head outputs per branch) is built on the shipped checkpoint's teacher and tree, initialised by
:func:`hldemo.train.distill.init_from_teacher` on a fixed sample (``CALIBRATION_IMAGES``) of the photos
of the checkpoint's own training command, and measured on photos never used: top-1 and agreement
with the teacher on each held-out set, and the GMACs (FlopCounterMode) of the full NHL and of the
domestic-cat expert. Writes ``frontier.json`` and ``frontier.png`` beside the checkpoint.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from hldemo.data import load_image, wnid_of
from hldemo.evaluate import eval_set_files
from hldemo.net.backbone import load_teacher, make_transform
from hldemo.net.checkpoint import load_model
from hldemo.net.expert import build_expert
from hldemo.net.flops import count_macs
from hldemo.net.variants import build_nhl
from hldemo.train.distill import TeacherTail, init_from_teacher, mirror_levels
from hldemo.train.fit import calibration_features, recorded_args, training_files

ROOT = Path(__file__).resolve().parent.parent

# (name, trunk split as timm extra_blocks index, hidden width: a fraction of the teacher's or one
# width per copied block, conv_head outputs per branch). Split 6 copies stage 6 + conv_head per
# branch; split 5 copies stages 5-6 + conv_head (the lean side: a cheaper trunk).
FRONTIER = [
    ("stage 6 at full width (exact copies)", 6, 1.0, 1280),
    ("stage 6 at 3/4 width", 6, 0.75, 1280),
    ("stage 6 at 1/2 width", 6, 0.5, 1280),
    ("stage 6 at 1/4 width", 6, 0.25, 1280),
    ("stage 6 at 1/2 width, conv_head 640", 6, 0.5, 640),
    ("stages 5-6 at 1/2 width (lean)", 5, 0.5, 1280),
]
# Photos (each also mirrored) every configuration is fitted on: a fixed sample of the checkpoint's
# training photos, fewer than its own command used, so the whole frontier runs in well under an hour
# on 2 cores (the split-5 configurations refit four more blocks per branch).
CALIBRATION_IMAGES = 3000


@torch.inference_mode()
def features_of(model, files):
    tf = make_transform(model.config["data"])
    return torch.cat([model.trunk(torch.stack([tf(load_image(f)) for f in files[i:i + 32]])).contiguous()
                      for i in range(0, len(files), 32)])


@torch.inference_mode()
def measure(model, teacher, feats: torch.Tensor, wnids) -> dict:
    tail = TeacherTail(teacher, len(model.trunk.model.blocks))
    t = torch.cat([tail(feats[i:i + 64]) for i in range(0, len(feats), 64)])
    n = torch.cat([model.head(feats[i:i + 64]) for i in range(0, len(feats), 64)])
    index = {w: i for i, w in enumerate(model.categories)}
    labels = torch.tensor([index[w] for w in wnids])
    return {"n_images": len(wnids), "teacher_top1": float((t.argmax(1) == labels).float().mean()),
            "nhl_top1": float((n.argmax(1) == labels).float().mean()),
            "agreement": float((t.argmax(1) == n.argmax(1)).float().mean())}


def plot(points: list, teacher_gmacs: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, key, label in ((axes[0], "cat_expert_gmacs", "domestic-cat expert"), (axes[1], "nhl_gmacs", "full NHL")):
        for p in points:
            agree = 100 * p["mean_agreement"]
            ax.scatter(p[key] / teacher_gmacs, agree, s=40)
            ax.annotate(p["name"], (p[key] / teacher_gmacs, agree), fontsize=7, xytext=(4, -3), textcoords="offset points")
        ax.set_xlabel(f"GMACs of the {label} (x teacher)")
        ax.grid(alpha=0.3)
    axes[0].axvline(0.87, color="grey", ls=":", lw=1)
    axes[0].axvline(1.0, color="grey", ls="--", lw=1)
    axes[1].axvline(5.0, color="grey", ls="--", lw=1)
    axes[0].set_ylabel("agreement with the teacher (%, mean of held-out sets)")
    fig.suptitle("Teacher-initialised NHLs: agreement vs cost (python scripts/make_frontier.py)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(ROOT / "checkpoints" / "nhl_lite0"))
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--plot-only", action="store_true", help="redraw frontier.png from frontier.json")
    args = p.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    folder = Path(args.model)
    if args.plot_only:
        data = json.loads((folder / "frontier.json").read_text())
        plot(data["points"], data["teacher_gmacs"], folder / "frontier.png")
        return
    shipped = load_model(folder)
    teacher = load_teacher(shipped.config["backbone"])
    train_args = recorded_args(folder / "train.log")
    if train_args is None:
        raise SystemExit(f"{folder / 'train.log'} records no training command: cannot rebuild its photos")
    os.chdir(ROOT)  # the recorded command's paths are relative to the project root
    files = training_files(train_args)
    held = eval_set_files(args.data, shipped.hierarchy, train_args.holdout_fraction)  # the card's held-out sets
    teacher_gmacs = count_macs(teacher)
    largest_subgroup = max(len(n.categories) for n in shipped.hierarchy.level(2))
    points, cache = [], {}
    for name, split, width, head_out in FRONTIER:
        config = dict(shipped.config, split=split, split_extra_blocks=True,
                      levels=mirror_levels(teacher, split, width, head_out, largest_subgroup))
        config.pop("training", None)
        config.pop("branch_overrides", None)  # every group at the configuration's width
        model = build_nhl(config, teacher=teacher, hierarchy=shipped.hierarchy).eval()
        if split not in cache:  # trunk features of the calibration and held-out photos, once per split
            t0 = time.time()
            cache[split] = (calibration_features(model, files, CALIBRATION_IMAGES, train_args.seed),
                            {k: features_of(model, v) for k, v in held.items()})
            print(f"split {split}: features in {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
        calib, held_feats = cache[split]
        t0 = time.time()
        torch.manual_seed(0)
        init_from_teacher(model, teacher, calib, seed=train_args.seed)
        seconds = time.time() - t0
        sets = {k: measure(model, teacher, f, [wnid_of(x) for x in held[k]]) for k, f in held_feats.items()}
        point = {"name": name, "split": split, "width": width, "head_out": head_out, "levels": config["levels"],
                 "calibration_views": len(calib), "init_seconds": round(seconds, 1),
                 "nhl_gmacs": count_macs(model), "cat_expert_gmacs": count_macs(build_expert(model, "domestic_cat")),
                 "sets": sets, "mean_agreement": sum(s["agreement"] for s in sets.values()) / len(sets)}
        points.append(point)
        print(f"{name}: agreement {point['mean_agreement']:.3f}, full {point['nhl_gmacs'] / teacher_gmacs:.2f}x, "
              f"cat {point['cat_expert_gmacs'] / teacher_gmacs:.3f}x ({seconds:.0f} s)", file=sys.stderr, flush=True)
        (folder / "frontier.json").write_text(json.dumps({"teacher_gmacs": teacher_gmacs, "points": points}, indent=1) + "\n")
    plot(points, teacher_gmacs, folder / "frontier.png")
    print(f"wrote {folder / 'frontier.json'} and frontier.png", file=sys.stderr)


if __name__ == "__main__":
    main()
