"""Probe issue #20's "branch after stage 4" lever: experts whose copy of stage 5 drops residual blocks.

    python scripts/probe_depth_pruning.py [--model checkpoints/nhl_lite0] [--drops 3 2,3] [--data ../shared/data]

An expert that branches after stage 4 carries its own copy of stage 5 (4 blocks, 23.6 % of the
teacher's MACs, 3 of them residual) before today's stage-6 + conv_head copy. Dropping k residual blocks
from that copy (no training: a residual block's input is already a valid input of the next block) is
the cheapest way to get under the teacher's cost. For each set of dropped blocks this prints the
expert's cost over the teacher's (FlopCounterMode), the whole pruned network's top-1 agreement with the
teacher per held-out set, and every level-1 group's restricted agreement
(:func:`hldemo.evaluate.restricted_agreement`) pooled over the model card's held-out sets (the photos
the checkpoint's training command used are left out). Measurement only: nothing is written.
"""

import argparse
import copy
import os
import sys
from pathlib import Path

import torch

from hldemo.evaluate import eval_set_files, restricted_agreement
from hldemo.net.backbone import load_teacher, make_transform
from hldemo.data import load_image
from hldemo.net.checkpoint import load_model
from hldemo.net.flops import count_macs
from hldemo.train.fit import recorded_args, training_files

ROOT = Path(__file__).resolve().parent.parent
STAGE = 5  # timm block stage whose residual blocks may be dropped (lite0: 192 channels at stride 32)
EXTRA_NODES = ("domestic_cat",)
BATCH = 32


def without_blocks(teacher, drop: tuple[int, ...]):
    """The teacher with blocks ``drop`` of stage :data:`STAGE` removed (a copy)."""
    pruned = copy.deepcopy(teacher)
    pruned.blocks[STAGE] = torch.nn.Sequential(*[b for j, b in enumerate(teacher.blocks[STAGE]) if j not in drop])
    return pruned


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(ROOT / "checkpoints" / "nhl_lite0"))
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--drops", nargs="+", default=["3", "2", "1", "2,3"],
                   help="comma-separated indices of stage-5 blocks to drop, one set per argument")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    folder = Path(args.model).resolve()
    model = load_model(folder)
    teacher = load_teacher(model.config["backbone"]).eval()
    train_args = recorded_args(folder / "train.log")
    if train_args is None:
        raise SystemExit(f"{folder / 'train.log'} records no training command: cannot rebuild its photos")
    os.chdir(ROOT)  # the recorded command's paths are relative to the project root
    used = {f.resolve() for f in training_files(train_args)}
    held = eval_set_files(args.data, model.hierarchy, train_args.holdout_fraction, used=used,
                          cache_dir=ROOT / "runs" / "extracted")
    tf = make_transform(model.config["data"])
    teacher_macs = count_macs(teacher)

    def stem_to_stage(x):  # shared by every variant: computed once per photo
        x = teacher.bn1(teacher.conv_stem(x))
        for block in teacher.blocks[:STAGE]:
            x = block(x)
        return x

    def rest(net, x):
        for block in net.blocks[STAGE:]:
            x = block(x)
        return net.classifier(net.global_pool(net.bn2(net.conv_head(x))))

    with torch.inference_mode():
        feats = {name: torch.cat([stem_to_stage(torch.stack([tf(load_image(f)) for f in files[i:i + BATCH]]))
                                  for i in range(0, len(files), BATCH)]) for name, files in held.items()}
        reference = {name: torch.cat([rest(teacher, x[i:i + BATCH]) for i in range(0, len(x), BATCH)])
                     for name, x in feats.items()}
        h = model.hierarchy
        index = {w: i for i, w in enumerate(model.categories)}
        nodes = [n.id for n in h.level(1)] + [n for n in EXTRA_NODES if n in h.nodes]
        for spec in args.drops:
            drop = tuple(int(j) for j in spec.split(","))
            net = without_blocks(teacher, drop)
            # an expert = the pruned path + its own branch: the pruned teacher's cost, less the classifier
            # rows of the other categories, which is within 0.3 % of the teacher's GMACs
            cost = count_macs(net) / teacher_macs
            logits = {name: torch.cat([rest(net, x[i:i + BATCH]) for i in range(0, len(x), BATCH)]) for name, x in feats.items()}
            agree = ", ".join(f"{name.split(',')[0].split(' (')[0]} {float((logits[name].argmax(1) == reference[name].argmax(1)).float().mean()):.3f}"
                              for name in feats)
            print(f"drop stage-{STAGE} blocks {drop}: {cost:.3f}x the teacher's GMACs; top-1 agreement with the teacher: {agree}")
            for node in nodes:
                cols = [index[w] for w in h.nodes[node].categories]
                right = counted = 0
                for name in feats:
                    a, n = restricted_agreement(logits[name][:, cols], reference[name], cols)
                    if n:
                        right, counted = right + a * n, counted + n
                print(f"  {node} ({len(cols)} categories): restricted agreement {right / counted:.3f} on {counted} photos"
                      if counted else f"  {node}: no photo counts")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
