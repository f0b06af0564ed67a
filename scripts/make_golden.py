"""Write the golden top-5 outputs of the shipped checkpoint on fixed photos, and YAMNet's top scores on fixed
clips (tests/golden/).

Run after training a new default checkpoint: ``python scripts/make_golden.py [--model nhl_lite0]``;
after changing YAMNet or the audio front end: ``python scripts/make_golden.py --yamnet``.
"""

import argparse
import json
from pathlib import Path

import torch

from hldemo.data import load_image
from hldemo.net.backbone import make_transform
from hldemo.net.checkpoint import load_model

ROOT = Path(__file__).resolve().parent.parent

PHOTO_DIR = "tests/fixtures/photos"  # committed CC BY photos (relative to the repo root): a fresh clone has them
PHOTOS = ["n02123394_46b657df12fd7c26.jpg", "n02123597_ecd3a969dd466349.jpg", "n02086910_6cc289dc7a8fce86.jpg",
          "n07745940_f4902a569fa12171.jpg", "n03063599_adcf48b42266309d.jpg", "n02814533_dd722682a9f2b9dd.jpg"]


def golden_top5(model, photo_dir: Path, names) -> list[list[str]]:
    tf = make_transform(model.config["data"])
    x = torch.stack([tf(load_image(photo_dir / n)) for n in names])
    with torch.inference_mode():
        return [[model.categories[i] for i in row] for row in model(x).topk(5).indices.tolist()]


SOUND_CLIPS = ["examples/sounds/farm-animals/cat.ogg", "examples/sounds/farm-animals/dog.ogg",
               "examples/sounds/farm-animals/cow.ogg", "examples/speech/show_me_the_cat.wav",
               "examples/sounds/freedesktop/bell.oga"]


def golden_yamnet(clips=SOUND_CLIPS, top: int = 5) -> dict:
    """YAMNet's window-score shape and its ``top`` classes' best-window scores per clip."""
    import numpy as np

    from hldemo.cues.sounds import load_sound_tagger

    tagger = load_sound_tagger()
    out = {}
    for rel in clips:
        best = tagger.scores(ROOT / rel).max(0)
        out[rel] = {"shape": list(tagger.scores(ROOT / rel).shape),
                    "top": [[tagger.lexicon.names[i], round(float(best[i]), 4)] for i in np.argsort(-best)[:top]]}
    return {"model": "checkpoints/yamnet/yamnet.tflite", "clips": out}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="nhl_lite0")
    p.add_argument("--yamnet", action="store_true", help="write YAMNet's golden scores instead")
    args = p.parse_args()
    if args.yamnet:
        path = ROOT / "tests" / "golden" / "yamnet_scores.json"
        path.write_text(json.dumps(golden_yamnet(), indent=1) + "\n")
        print(f"wrote {path}")
        return
    model = load_model(args.model)
    out = {"model": args.model, "photo_dir": PHOTO_DIR, "photos": PHOTOS,
           "top5": golden_top5(model, ROOT / PHOTO_DIR, PHOTOS)}
    path = ROOT / "tests" / "golden" / f"{Path(args.model).name}_top5.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
