"""Images in and out: safe decoding, folders and tars of ImageNet-labelled photos, the held-out split."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import tarfile
import warnings
from collections import Counter
from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import InputError
from .utils import EXAMPLES_DIR

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
MAX_PIXELS = 40_000_000  # refuse before decoding: a 30000x30000 PNG would need 2.7 GB
MIN_SIDE = 8
EXAMPLE_CREDITS = EXAMPLES_DIR / "photos" / "credits.csv"  # who made each example photo, its licence, its source
WNID = re.compile(r"n\d{8}")


def load_image(source, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """An RGB PIL image from a path, bytes, NumPy array or PIL image, checked before decoding.

    Handles RGBA/LA/P (composited on white), CMYK, grayscale, 16-bit and float images, EXIF
    rotation, and animated images (first frame).

    Raises:
        InputError: unreadable, truncated, too large (pixel count checked from the header) or too
            small images, with a message that says which.
    """
    if source is None:
        raise InputError("no image given")
    if isinstance(source, np.ndarray):
        source = _array_to_image(source)
    try:
        if isinstance(source, Image.Image):
            img = source
        else:
            fp = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img = Image.open(fp)  # lazy: reads the header only
        w, h = img.size
        if w * h > max_pixels:
            raise InputError(f"image of {w}x{h} pixels is too large (limit {max_pixels / 1e6:.0f} megapixels)")
        if min(w, h) < MIN_SIDE:
            raise InputError(f"image of {w}x{h} pixels is too small (min {MIN_SIDE} px a side)")
        if getattr(img, "is_animated", False):
            img.seek(0)
        img.load()
        img = ImageOps.exif_transpose(img)
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise InputError(f"image is too large to decode safely: {e}") from e
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, TypeError) as e:
        raise InputError(f"cannot read the image (not an image, or corrupt/truncated): {e}") from e
    return _to_rgb(img)


def _array_to_image(a: np.ndarray) -> Image.Image:
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)):
        raise InputError(f"an image array must be HxW, HxWx1, HxWx3 or HxWx4, got shape {a.shape}")
    if a.dtype != np.uint8:
        a = a.astype(np.float64)
        hi = a.max() if a.size else 1.0
        a = np.clip(a / (hi if hi > 1.0 else 1.0) * 255.0, 0, 255).astype(np.uint8)
    return Image.fromarray(a[..., 0] if a.ndim == 3 and a.shape[2] == 1 else a)


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):  # high bit depth: rescale, don't clip
        a = np.asarray(img, dtype=np.float64)
        hi = a.max() if a.size and a.max() > 0 else 1.0
        img = Image.fromarray((a / hi * 255.0).astype(np.uint8))
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert("RGB")


def wnid_of(path: str | Path) -> str | None:
    """The ImageNet wnid of a photo: its folder name, else its file-name prefix (n01440764_tench.JPEG)."""
    path = Path(path)
    if WNID.fullmatch(path.parent.name):
        return path.parent.name
    m = WNID.match(path.name)
    return m.group(0) if m else None


def is_holdout_key(path: str | Path) -> float:
    """A number in [0, 1) from a hash of the file name: the same on every machine."""
    digest = hashlib.sha1(Path(path).name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def is_holdout(path: str | Path, fraction: float) -> bool:
    """Deterministic held-out split: the files whose hash key falls below ``fraction``."""
    return is_holdout_key(path) < fraction


def cap_per_wnid(files: Iterable[str | Path], n: int) -> list[Path]:
    """At most ``n`` photos per wnid, picked by file-name hash (the same on every machine), sorted."""
    count: Counter = Counter()
    kept = []
    for f in sorted(files, key=is_holdout_key):
        count[wnid_of(f)] += 1
        if count[wnid_of(f)] <= n:
            kept.append(f)
    return sorted(kept)


def extract_tar(tar_path: Path, cache_dir: Path) -> Path:
    """Unpack a tar of images once into ``cache_dir`` (tars give no cheap random access)."""
    out = cache_dir / tar_path.stem
    done = out / ".extracted"
    if not done.exists():
        out.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tar_path) as tf:
            members = [m for m in tf.getmembers() if m.isfile() and Path(m.name).suffix.lower() in IMAGE_EXTENSIONS]
            tf.extractall(out, members=members, filter="data")
        done.touch()
    return out


def list_images(sources: Iterable[str | Path], cache_dir: str | Path = "cache") -> list[Path]:
    """All image files under folders (recursively) or inside tars, sorted."""
    files: list[Path] = []
    for src in sources:
        src = Path(src)
        if src.suffix == ".tar":
            src = extract_tar(src, Path(cache_dir))
        if not src.exists():
            raise InputError(f"image source {src} does not exist")
        if src.is_file():
            files.append(src)
        else:
            files.extend(p for p in src.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
    return sorted(files)


def load_example_credits(path: str | Path = EXAMPLE_CREDITS) -> list[dict]:
    """The demo's example photos and their credits, one dict per photo: ``file`` (in
    ``examples/photos``), ``what``, ``author``, ``licence``, ``original`` (a web page) and ``source``
    (its path under ``../shared/data`` when it came from there, else empty) and ``cue`` (for the
    photos that show attention at work: a right cue that tips the full NHL's answer to the right
    category, found by ``scripts/find_attention_examples.py``); [] without the file."""
    path = Path(path)
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return [dict(row) for row in csv.DictReader(f)]
