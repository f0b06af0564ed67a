"""Write the cue matcher's node embeddings for a hierarchy into hierarchies/embeddings/.

    python scripts/make_cue_embeddings.py [curated | path/to/hierarchy.json]

Shipped so that a fresh install (a Hugging Face Space's first boot) does not spend ~18 s on
2 cores embedding every node text. The file name holds a hash of the hierarchy, the embedder's
weights and the exact texts: when any of them changes, the matcher ignores the stale file and
embeds afresh (and tests/test_cues.py says the file needs regenerating).
"""

import argparse
from pathlib import Path

import numpy as np

from hldemo.cues import matcher as cues

ROOT = Path(__file__).resolve().parent.parent


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("hierarchy", nargs="?", default="curated", help="hierarchy name or JSON path")
    name = p.parse_args().hierarchy
    out = cues.SHIPPED_EMBEDDINGS
    cues.SHIPPED_EMBEDDINGS = ROOT / "nonexistent"  # embed afresh rather than read the shipped file
    matcher = cues.CueMatcher(name, cache=False)
    prefix = f"{matcher.hierarchy.id}-"
    key = next(k for k in cues._NODE_EMBEDDINGS if k.startswith(prefix))
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob(f"{prefix}*.npy"):
        old.unlink()
    np.save(out / f"{key}.npy", cues._NODE_EMBEDDINGS[key])
    print(f"wrote {out / key}.npy")


if __name__ == "__main__":
    main()
