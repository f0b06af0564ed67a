"""Find demo examples of top-down attention: photos where a right cue, in the full NHL at the default
gain, turns a wrong top-1 into the right category.

    python scripts/find_attention_examples.py [--images ../shared/data/nips17-imagenet-compatible] [--limit 40]

Searches photos the project may ship (the NIPS 2017 set is CC BY 2.0; ``credits.csv`` there names each
photo's author), cueing each photo with its own subgroup and with its own category, as a user typing
"a cat" or "lynx" would. Prints, per hit, the photo, its label, the full NHL's answer without and with
the cue, and the credit. The photos picked from this list go to ``examples/photos`` (credited in
``examples/photos/credits.csv``), and ``hldemo.evaluate`` leaves them out of its evaluation sets.
"""

import argparse
import csv
import sys
from pathlib import Path

import torch

from hldemo.data import list_images, wnid_of
from hldemo.evaluate import CueLogits, extract
from hldemo.net.attention import load_default_gain
from hldemo.net.backbone import load_teacher
from hldemo.net.checkpoint import DEFAULT_CHECKPOINT, load_model

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", default=str(ROOT.parent / "shared" / "data" / "nips17-imagenet-compatible"))
    p.add_argument("--model", default=DEFAULT_CHECKPOINT)
    p.add_argument("--gain", type=float, default=None, help="default: the checkpoint's calibrated gain")
    p.add_argument("--limit", type=int, default=40)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    gain = args.gain or load_default_gain(args.model)
    teacher = load_teacher(model.config["backbone"])
    h = model.hierarchy
    files = [f for f in list_images([args.images]) if wnid_of(f) in set(model.categories)]
    credits_path = Path(args.images) / "credits.csv"
    credits = {}
    if credits_path.is_file():
        with open(credits_path, newline="", encoding="utf-8") as f:
            credits = {row["file"]: row for row in csv.DictReader(f)}
    print(f"{len(files)} photos, gain {gain:g}", file=sys.stderr)
    _, _, pooled = extract(model, teacher, files, progress=True)
    labels = [wnid_of(f) for f in files]
    index = {w: i for i, w in enumerate(model.categories)}
    with_cues = CueLogits(model, pooled)
    with torch.inference_mode():
        plain = torch.softmax(with_cues.base, -1)
        hits = []
        for level in range(2, h.depth + 1):
            cues = [h.path(w)[level - 1].id for w in labels]
            attended = torch.softmax(with_cues(cues, gain), -1)
            for i, f in enumerate(files):
                y = index[labels[i]]
                if plain[i].argmax() != y and attended[i].argmax() == y:
                    hits.append((float(plain[i, y]), f, labels[i], cues[i], int(plain[i].argmax()), float(plain[i].max()),
                                 float(attended[i, y])))
    for _, f, label, cue, top, p_top, p_att in sorted(hits, key=lambda t: -t[0])[:args.limit]:
        rel = f.relative_to(args.images).as_posix() if f.is_relative_to(args.images) else f.name
        c = credits.get(rel, {})
        print(f"{rel}\t{h.display_name(label)}\tcue {h.display_name(cue)!r}\tfull NHL: {h.display_name(model.categories[top])} "
              f"{p_top:.0%} -> with the cue: {h.display_name(label)} {p_att:.0%}\t{c.get('author', '?')}\t{c.get('original_page', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
