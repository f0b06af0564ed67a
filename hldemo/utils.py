"""Small helpers every part of hldemo shares: where files live, the cache, devices, threads, hashes, text.

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
DEVICE_ENV = "HLDEMO_DEVICE"  # the commands' default --device (else "auto")
DTYPES = ("float32", "float16", "bfloat16")  # --dtype: the networks' precision (Whisper and the embedder keep theirs)

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


def resolve_device(spec: object = "auto"):
    """The ``torch.device`` a ``--device`` value names: the one place hldemo picks a device.

    Args:
        spec: ``"auto"`` (or None): CUDA when torch sees a GPU, else the CPU; ``"cpu"``; ``"cuda"``
            (the current GPU) or ``"cuda:N"``; or a ``torch.device``.

    Returns:
        ``cpu`` or ``cuda:N`` (always with its index).

    Raises:
        DeviceError: a name that is no device, or a GPU this machine does not have.
    """
    import torch

    from .errors import DeviceError

    text = "auto" if spec is None else str(spec).strip().lower()
    if text == "auto":
        text = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        device = None
    if device is None or device.type not in ("cpu", "cuda") or (device.type == "cpu" and device.index not in (None, 0)):
        raise DeviceError(f"unknown device {spec!r}: use auto, cpu, cuda or cuda:N")
    if device.type == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}, but no GPU is visible"
        raise DeviceError(f"device '{text}' asked for, but CUDA is not available here (torch {torch.__version__}, "
                          f"{build}): use --device cpu or auto")
    index = torch.cuda.current_device() if device.index is None else device.index
    if index >= torch.cuda.device_count():
        raise DeviceError(f"device '{text}' asked for, but this machine has {torch.cuda.device_count()} GPU(s) "
                          f"(cuda:0..cuda:{torch.cuda.device_count() - 1})")
    return torch.device("cuda", index)


def resolve_dtype(name: object = None, device: object = "cpu"):
    """The ``torch.dtype`` a ``--dtype`` value names, checked against the device it will run on.

    Args:
        name: one of :data:`DTYPES`, a ``torch.dtype``, or None (float32).
        device: where the networks run (a ``torch.device`` or a ``--device`` value).

    Raises:
        DeviceError: an unknown dtype, or float16 on the CPU (half-precision convolutions are a GPU
            feature; on a CPU use float32, or bfloat16, which runs there but is slower on most CPUs).
    """
    import torch

    from .errors import DeviceError

    text = "float32" if name is None else str(name).removeprefix("torch.")
    if text not in DTYPES:
        raise DeviceError(f"unknown dtype {name!r}: use one of {', '.join(DTYPES)}")
    dtype = getattr(torch, text)
    if dtype == torch.float16 and resolve_device(device).type == "cpu":
        raise DeviceError("dtype float16 needs a CUDA device: on the CPU use float32 (or bfloat16)")
    return dtype


def device_label(device: object) -> str:
    """How reports name a device: ``cpu``, or ``cuda:0 (NVIDIA H100 80GB HBM3)``."""
    import torch

    device = torch.device(device)
    if device.type != "cuda":
        return str(device)
    index = torch.cuda.current_device() if device.index is None else device.index
    return f"cuda:{index} ({torch.cuda.get_device_name(index)})"


def add_device_arguments(parser, dtype: bool = True) -> None:
    """``--device`` (and with ``dtype``, ``--dtype``) for a command's argparse parser, resolved later by
    :func:`resolve_device` and :func:`resolve_dtype` inside the command's user-error handler."""
    parser.add_argument("--device", default=os.environ.get(DEVICE_ENV) or "auto",
                        help=f"auto (CUDA when available), cpu, cuda or cuda:N (default: ${DEVICE_ENV} or auto)")
    if dtype:
        parser.add_argument("--dtype", default="float32", choices=DTYPES,
                            help="the networks' precision: float16 and bfloat16 are for CUDA (bfloat16 also runs on a CPU)")


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
