"""Small helpers every part of hldemo shares: where files live, the cache, threads, hashes, text.

Each exists once here so the network, cue and demo code agree on them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from pathlib import Path
from typing import Iterable

REPO_ROOT = Path(__file__).resolve().parent.parent
CHECKPOINT_DIR = REPO_ROOT / "checkpoints"  # shipped NHL heads (safetensors + JSON config)
HIERARCHY_DIR = REPO_ROOT / "hierarchies"  # category trees, cue lexicons, shipped embeddings
EXAMPLES_DIR = REPO_ROOT / "examples"  # licensed photos and spoken cues the demo offers
CACHE_ENV = "HLDEMO_CACHE"

_THREADS_LOCK = threading.Lock()
_threads_active = 0
_threads_saved = 0


def cache_dir() -> Path:
    """Directory for converted checkpoints and other derived files.

    ``$HLDEMO_CACHE`` if set, else ``$XDG_CACHE_HOME/hldemo`` (``~/.cache/hldemo``).
    """
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hldemo"


@contextlib.contextmanager
def limit_torch_threads(threads: int | None):
    """Run a block with torch limited to ``threads`` CPU threads; thread-safe and re-entrant.

    torch's thread count is process-wide: while any caller is inside, it stays at ``threads``, and the
    original count comes back when the last one leaves. ``None`` or 0 changes nothing.
    """
    global _threads_active, _threads_saved
    if not threads:
        yield
        return
    import torch

    with _THREADS_LOCK:
        if _threads_active == 0:
            _threads_saved = torch.get_num_threads()
            torch.set_num_threads(threads)
        _threads_active += 1
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _threads_active -= 1
            if _threads_active == 0:
                torch.set_num_threads(_threads_saved)


def sha256_file(paths: str | Path | Iterable[str | Path], chunk: int = 1 << 22) -> str:
    """Hex SHA-256 of a file, or of several files read one after the other (a split checkpoint)."""
    h = hashlib.sha256()
    for path in [paths] if isinstance(paths, (str, Path)) else paths:
        with open(path, "rb") as f:
            while block := f.read(chunk):
                h.update(block)
    return h.hexdigest()


def error_line(e: BaseException, n: int = 300) -> str:
    """The first line of an exception's message (its type's name when empty), cut to ``n`` characters."""
    lines = str(e).strip().splitlines()
    return lines[0][:n] if lines else type(e).__name__


def clip_text(text: object, n: int = 60) -> str:
    """``text`` on one line, cut to ``n`` characters with an ellipsis (for labels and messages)."""
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"
