"""The demo's logic, without any UI: one request = image (+ cue) -> expert, costs and predictions.

:class:`DemoEngine` loads everything once (the teacher, the NHL, the cue matcher and Whisper) and
then answers requests with :meth:`DemoEngine.run`::

    engine = DemoEngine("nhl_lite0")
    result = engine.run("examples/photos/cat_chelsea.jpg", cue="meow")
    result.nhl_attention[0].name, result.expert_share           # ('tiger cat', 0.91)

What one request does:

1. **Cue** (:meth:`DemoEngine.interpret`): a typed cue, or speech transcribed by Whisper, is matched
   to hierarchy nodes (:class:`hldemo.cues.CueMatcher`). Its nodes pre-fill the category picker.
2. **Selection**: the picker's entries (node ids, wnids or names) if any, else the cue's nodes.
   Categories the cue negates ("not a dog") are removed. Nothing selected, or all 1000 categories:
   the full network is used, and the result says so.
3. **Expert**: in ``"enhance"`` mode the efficient expert is the trunk plus only the branches on the
   paths to the selected categories (paper eq. 3; cached in a bounded LRU keyed by the sorted
   category tuple), the cheap path: a softmax over its own categories only. In ``"inhibit"`` mode
   nothing is cut out, so the "expert" is the full network.
4. **Attention** (paper Sec. 4.4): top-down gains in the **full** network, for this call only:
   ``gain`` on the selected nodes in ``"enhance"`` mode, ``1 / gain`` in ``"inhibit"`` mode; nodes
   the cue negates always get ``1 / gain`` (:func:`hldemo.net.attention.branch_gains` puts them on
   branches). The cued categories then compete with all the others in one softmax, so a wrong cue
   cannot make the network see what is not there. The default gain is the checkpoint's calibrated
   one (``attention.json``).
5. **Inference**: the teacher, the full NHL, the expert and the full NHL with attention each run on
   the image through :func:`hldemo.net.timing.time_forwards`, the timing code of
   ``python -m hldemo.bench``: the teacher with the same optimisations (batch-norms folded,
   channels-last), at the process's torch thread count, interleaved in alternating order, the
   median of :data:`TIMING_ROUNDS` runs. Their predictions come from those runs.
6. **The expert's blind spot**: the share of the full network's belief (its softmax without
   attention) that falls inside the expert's categories; below :data:`LOW_SHARE` the photo is
   probably none of them, and the explanation says what the full network sees instead.

Nothing a user can send makes :meth:`DemoEngine.run` raise: bad images, audio, cues and selections
end up in :attr:`DemoResult.message` / :attr:`DemoResult.notes`.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import shutil
import sys
import tempfile
import threading
import time
import weakref
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch
from PIL import Image

from ..cues.matcher import CueResult
from ..cues.speech import DEFAULT_SPEECH_MODEL
from ..cues.text import clean_text
from ..errors import HLDemoError, InputError, UnknownCategoryError, exit_on_user_error
from ..net import timing
from ..net.attention import branch_gains, load_default_gain
from ..net.checkpoint import DEFAULT_CHECKPOINT, load_expert_card
from ..net.model import DEFAULT_GAIN  # the fallback for a checkpoint without a calibrated gain
from ..utils import add_device_arguments, device_label, resolve_device, resolve_dtype
from . import render
from .experts import EXPERT_CACHE_SIZE, ExpertCache
from .results import ATTENTION, DEFAULT_MODE, LOW_SHARE, MODES, Cost, DemoResult, Prediction

log = logging.getLogger(__name__)

# --- constants -----------------------------------------------------------------------------------
MIN_GAIN, MAX_GAIN = 1.0, 8.0
TOP_K = 5
EXPORT_CACHE_SIZE = 16  # zipped experts kept on disk for download
THREADS_ENV = "HLDEMO_TORCH_THREADS"
# One intra-op thread per request: on 2 shared cores, batch-1 inference of these small convs runs
# 5-10x slower with 2 oversubscribed threads than with 1; the server runs requests side by side.
# Set where a program starts (app.py, python -m hldemo.demo) by configure_threads, never by the engine.
DEFAULT_THREADS = 1
TIMING_ROUNDS = 3  # timed forwards per network and request: the cost panel shows their median
ProgressFn = Callable[[float, str], None]


# --- the engine ----------------------------------------------------------------------------------
class DemoEngine:
    """Loads the models once and runs demo requests (thread-safe: per-request state only).

    Args:
        checkpoint: NHL checkpoint: a name under ``checkpoints/``, a folder, or a Hub repo id.
        speech_model: Whisper model name or path; None: no speech recognition (audio gets a message).
        cues: load the cue matcher (False: text cues get a message; tests of the core only).
        expert_cache_size: experts kept in the LRU cache.
        timing_rounds: timed forwards per network and request (the cost panel shows the median).
        progress: called as ``progress(fraction, message)`` while loading.
        teacher: an already loaded teacher (tests); loaded from the checkpoint's config otherwise
            (copied to ``device``, never moved).
        device: where the teacher, the NHL, its experts, Whisper and the cue embedder run:
            ``"cpu"`` (default), ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (:func:`hldemo.utils.resolve_device`).
        dtype: the networks' precision (:data:`hldemo.utils.DTYPES`; float16 and bfloat16 are for
            CUDA, bfloat16 also runs on a CPU); Whisper and the embedder keep their own.

    The engine leaves torch's process-wide thread count alone: programs set it where they start
    (:func:`configure_threads`). Exported zips live in a temporary folder that :meth:`close` (or
    the engine's garbage collection, or the interpreter's exit) removes.

    Raises:
        CheckpointError: the checkpoint, or the backbone its config names, cannot be loaded.
        DeviceError: a device this machine lacks, or float16 on the CPU.
    """

    def __init__(self, checkpoint: str | Path = DEFAULT_CHECKPOINT, *, speech_model: str | None = DEFAULT_SPEECH_MODEL,
                 cues: bool = True, expert_cache_size: int = EXPERT_CACHE_SIZE, timing_rounds: int = TIMING_ROUNDS,
                 progress: ProgressFn | None = None, teacher: torch.nn.Module | None = None,
                 device: str | torch.device = "cpu", dtype: str | torch.dtype | None = None):
        from ..net.backbone import load_teacher, make_transform
        from ..net.checkpoint import load_model, read_config
        from ..net.flops import count_macs, count_params

        say = progress or (lambda f, m: log.info("%3.0f%% %s", 100 * f, m))
        t_start = time.perf_counter()
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.device_label = device_label(self.device) + ("" if self.dtype == torch.float32 else f", {str(self.dtype)[6:]}")
        self.timing_rounds = max(1, int(timing_rounds))
        self.load_seconds: dict[str, float] = {}

        def step(fraction: float, what: str, fn: Callable[[], Any]) -> Any:
            say(fraction, f"{what}...")
            t0 = time.perf_counter()
            out = fn()
            self.load_seconds[what] = time.perf_counter() - t0
            return out

        backbone = read_config(checkpoint)["backbone"] if teacher is None else None
        self.teacher = teacher if teacher is not None else step(
            0.05, f"loading the teacher ({backbone})", lambda: load_teacher(backbone))
        # predictions and timings: the teacher as python -m hldemo.bench runs it
        self.timed_teacher = timing.inference_teacher(self.teacher).to(self.device, self.dtype)
        self.model = step(0.25, f"loading the NHL ({checkpoint})",
                          lambda: load_model(checkpoint, teacher=self.teacher, device=self.device, dtype=self.dtype))
        self.checkpoint = str(checkpoint)
        self.default_gain = load_default_gain(checkpoint)  # calibrated (attention.json), else DEFAULT_GAIN
        self.expert_card = load_expert_card(checkpoint)  # experts' measured agreement (experts.json), or {}
        self.hierarchy = self.model.hierarchy
        self.transform = make_transform(self.model.config["data"])
        self.teacher_wnids = _teacher_wnids(self.teacher, self.model.categories)
        self.matcher = None
        if cues:
            from ..cues.matcher import load_cue_matcher

            self.matcher = step(0.4, "loading the cue matcher", lambda: load_cue_matcher(self.hierarchy, device=str(self.device)))
        self.speech = None
        self.speech_model_name = speech_model
        if speech_model:
            from ..cues.speech import load_speech_model

            self.speech = step(0.7, f"loading Whisper ({speech_model})",
                               lambda: load_speech_model(speech_model, device=str(self.device)))

        def costs():
            self.teacher_macs, self.teacher_params = count_macs(self.teacher), count_params(self.teacher)
            self.experts = ExpertCache(self.model, expert_cache_size)

        step(0.85, "counting MACs and parameters", costs)
        self._lock = threading.Lock()
        self._export_lock = threading.Lock()  # one zip written at a time
        self._export_dir = Path(tempfile.mkdtemp(prefix="hldemo-experts-"))
        self._remove_exports = weakref.finalize(self, shutil.rmtree, self._export_dir, ignore_errors=True)
        self._exports: OrderedDict[str, Path] = OrderedDict()
        self._choices = render.picker_choices(self.hierarchy)
        self._choice_values = {v for _, v in self._choices}
        step(0.95, "warming up", self._warm_up)
        self.load_seconds["total"] = time.perf_counter() - t_start
        say(1.0, f"ready in {self.load_seconds['total']:.1f} s")

    # --- public helpers ----------------------------------------------------------------------
    def close(self) -> None:
        """Remove the exported zips' temporary folder (also done at garbage collection and exit)."""
        self._remove_exports()

    def __enter__(self) -> "DemoEngine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def export_dir(self) -> Path:
        """The temporary folder of exported zips (removed by :meth:`close`)."""
        return self._export_dir

    def __repr__(self) -> str:
        return (f"DemoEngine({self.checkpoint!r}, {len(self.model.categories)} categories, on {self.device_label}, "
                f"cues={self.matcher is not None}, speech={self.speech_model_name if self.speech else None})")

    @property
    def categories(self) -> list[str]:
        """wnids of the full network's outputs."""
        return self.model.categories

    def picker_choices(self) -> list[tuple[str, str]]:
        """``(label, value)`` pairs for a category picker: groups (levels 1..depth-1), then categories."""
        return list(self._choices)

    def name(self, key: str) -> str:
        """Display name of a node id / wnid (the key itself when unknown)."""
        return self.hierarchy.display_name(key)

    def expert_for(self, categories: Iterable[str]) -> torch.nn.Module:
        """The efficient expert for a set of wnids (cached; the full NHL for all categories)."""
        return self.experts.get(categories).model

    def cache_info(self) -> dict:
        """Expert cache size and keys' lengths (for tests and monitoring)."""
        return self.experts.info()

    # --- cue ---------------------------------------------------------------------------------
    def interpret(self, cue: object = None, audio: object = None) -> CueResult:
        """Understand a typed cue, or else transcribe and understand a spoken one. Never raises.

        Args:
            cue: typed text (wins when it is not empty).
            audio: a file path, bytes, a ``(sample_rate, array)`` pair or a Gradio file dict.

        Returns:
            The matcher's :class:`hldemo.cues.matcher.CueResult`, as the renderer shows it.
        """
        t0 = time.perf_counter()
        text = cue if isinstance(cue, str) else ("" if cue is None else cue)
        has_text = bool(text.strip()) if isinstance(text, str) else bool(text)
        source = "text" if has_text else "speech" if _has_audio(audio) else "none"
        try:
            if source == "text" and self.matcher is not None:
                result = self.matcher.match(text)
            elif source == "speech" and (self.speech is not None or self.matcher is not None):
                result = self._hear(audio)
            else:
                result = CueResult(message={
                    "text": "The cue matcher is not loaded in this demo: pick categories instead.",
                    "speech": "Speech recognition is not loaded in this demo: type the cue instead.",
                    "none": "No cue given: the full network is used."}[source])
                if source == "text":
                    result.text = clean_text(text)[0]
        except HLDemoError as e:
            result = CueResult(message=f"The cue could not be used: {e}")
        except Exception as e:  # never let a cue break a request
            log.exception("cue interpretation failed")
            result = CueResult(message=f"The cue could not be used (internal error: {type(e).__name__}).")
        if source != "speech" or result.source not in ("speech", "sound"):  # a recording says which it was
            result.source = source
        result.seconds = time.perf_counter() - t0
        return result

    def _hear(self, audio: object) -> CueResult:
        """A recorded cue: YAMNet tells speech from sounds (:meth:`CueMatcher.match_audio`); speech goes to
        Whisper base (loaded on first use), which decides the language first (:mod:`hldemo.cues.spoken`;
        tiny.en reads again an English clip whose base reading names nothing); without base, Whisper
        tiny.en hears English only."""
        from ..cues.speech import MULTILINGUAL_SPEECH_MODEL, load_speech_model, offline_models, transcribe

        if self.matcher is None:
            tr = transcribe(self.speech, audio)
            return CueResult(message=tr.message + (" The cue matcher is not loaded in this demo: pick categories "
                                                   "instead." if tr.understood else " The full network is used."),
                             transcript=tr.text if tr.understood else tr.raw_text, speech=tr, notes=list(tr.notes))
        fallback = None
        if not getattr(self.speech, "is_multilingual", False) and MULTILINGUAL_SPEECH_MODEL in offline_models():
            fallback = load_speech_model(MULTILINGUAL_SPEECH_MODEL, device=str(self.device))
        return self.matcher.match_audio(audio, self.speech, multilingual=fallback)

    # --- the request -------------------------------------------------------------------------
    def run(self, image: object, cue: object = None, audio: object = None, selection: Sequence[str] | None = None,
            mode: str = DEFAULT_MODE, gain: float | None = None, *, top_k: int = TOP_K,
            progress: ProgressFn | None = None) -> DemoResult:
        """One demo request. Never raises: problems are reported in the result.

        Args:
            image: a file path, bytes, NumPy array or PIL image (checked before decoding).
            cue: typed cue (optional).
            audio: spoken cue (optional; used when ``cue`` is empty).
            selection: picker entries (node ids, wnids or names); None or empty: the cue's nodes.
            mode: ``"enhance"`` (expert for the selection; attention x gain on it in the full
                network) or ``"inhibit"`` (no expert; the selection turned down by ``1 / gain``).
            gain: attention strength in [1, 8]; 1 means no attention; None: the checkpoint's
                calibrated default (:attr:`default_gain`).
            top_k: length of the prediction lists.
            progress: called as ``progress(fraction, message)``.

        Returns:
            A :class:`DemoResult`.
        """
        say = progress or (lambda f, m: None)
        t_total = time.perf_counter()
        result = DemoResult()
        try:
            self._run(result, image, cue, audio, selection, mode, gain, int(top_k), say)
        except HLDemoError as e:
            result.ok, result.message = False, str(e)
        except Exception as e:  # a bug must not take the server down: report it
            log.exception("demo request failed")
            result.ok = False
            result.message = f"Something went wrong inside the demo ({type(e).__name__}: {e})."
        if not result.explanation:
            result.explanation = result.message
        result.timings_ms["total"] = _ms(t_total)
        return result

    def _run(self, result: DemoResult, image, cue, audio, selection, mode, gain, top_k: int, say: ProgressFn) -> None:
        from ..data import load_image

        timings = result.timings_ms
        result.device = self.device_label
        result.mode, result.gain = self._check_control(mode, gain, result.notes, self.default_gain)
        say(0.05, "understanding the cue")
        result.cue = self.interpret(cue, audio)
        timings["cue"] = round(result.cue.seconds * 1000, 2)

        # the image first: a bad image ends the request (with the cue still reported)
        say(0.3, "reading the image")
        t0 = time.perf_counter()
        try:
            if image is None or (isinstance(image, str) and not image.strip()):
                raise InputError("no image given: upload a photo, use the webcam or paste one")
            if isinstance(image, dict):  # a Gradio FileData dict
                image = image.get("path") or image.get("url")
            if not isinstance(image, (str, Path, bytes, bytearray, np.ndarray, Image.Image)):
                raise InputError(f"an image must be a file, bytes, an array or a PIL image, not {type(image).__name__}")
            pil = load_image(image)
            x = self.transform(pil).unsqueeze(0).to(self.device, self.dtype)  # moved once; every network reads it
        except InputError as e:
            text = str(e)
            if isinstance(image, (str, Path)):  # the server's temp path means nothing to the user
                text = text.replace(str(image), Path(image).name)
            result.message = f"Could not use the image: {text.rstrip('.')}."
            result.explanation = result.message
            return
        timings["image"] = _ms(t0)

        # selection -> expert categories and attention gains
        self._select(result, selection)
        key = tuple(result.categories)
        entry = self.experts.get(key)
        target = entry.model
        result.active_nodes = [list(ids) for ids in target.head.node_ids]
        result.gains = self._gains(result)

        say(0.5, "running the networks")
        networks = {"teacher": self.timed_teacher, "full NHL": self.model}
        if target is not self.model:
            networks["expert"] = target
        if result.gains:  # the full network with the cue's branches multiplied (paper Sec. 4.4)
            on_branches = branch_gains(self.hierarchy, result.gains)
            networks[ATTENTION] = lambda images: self.model(images, on_branches)
        logits, times = timing.time_forwards(networks, x, rounds=self.timing_rounds)
        ms = {name: round(t["median"], 2) for name, t in times.items()}
        ms.setdefault("expert", ms["full NHL"])
        timings.update(teacher=ms["teacher"], nhl=ms["full NHL"], expert=ms["expert"])
        if ATTENTION in ms:
            timings["attention"] = ms[ATTENTION]

        full = logits["full NHL"]
        result.teacher = self._top(logits["teacher"], self.teacher_wnids, top_k)
        result.nhl = self._top(full, self.model.categories, top_k)
        result.expert = self._top(logits.get("expert", full), target.categories, top_k)
        result.nhl_attention = self._top(logits.get(ATTENTION, full), self.model.categories, top_k)
        if not result.expert_is_full:
            result.expert_share = round(self._share(full, result.categories), 6)
            result.expert_share_low = result.expert_share < LOW_SHARE
            result.expert_card = self._expert_card(result)
        result.costs = [
            self._cost("teacher", self.teacher_macs, self.teacher_params, ms["teacher"], ms["teacher"]),
            self._cost("full NHL", self.experts.full.macs, self.experts.full.params, ms["full NHL"], ms["teacher"]),
            self._cost("expert", entry.macs, entry.params, ms["expert"], ms["teacher"]),
        ]
        if ATTENTION in ms:  # one more pass of the full network: its MACs and parameters
            result.costs.append(self._cost(ATTENTION, self.experts.full.macs, self.experts.full.params, ms[ATTENTION],
                                           ms["teacher"]))
        result.ok = True
        result.message = render.status_sentence(self.hierarchy, result)
        result.explanation = render.explanation_sentence(self.hierarchy, result)
        say(1.0, "done")

    # --- steps -------------------------------------------------------------------------------
    @staticmethod
    def _check_control(mode: object, gain: object, notes: list[str], default_gain: float = DEFAULT_GAIN) -> tuple[str, float]:
        m = str(mode).strip().lower() if mode is not None else DEFAULT_MODE
        if m not in MODES:
            notes.append(f"unknown attention mode {mode!r}: '{DEFAULT_MODE}' used")
            m = DEFAULT_MODE
        try:
            g = float(gain) if gain is not None else default_gain
        except (TypeError, ValueError):
            notes.append(f"attention gain {gain!r} is not a number: {default_gain:g} used")
            g = default_gain
        if not math.isfinite(g):
            notes.append(f"attention gain {gain!r} is not a finite number: {default_gain:g} used")
            g = default_gain
        elif not MIN_GAIN <= g <= MAX_GAIN:
            clamped = min(max(g, MIN_GAIN), MAX_GAIN)
            notes.append(f"attention gain {g:g} is outside {MIN_GAIN:g}-{MAX_GAIN:g}: {clamped:g} used")
            g = clamped
        return m, g

    def _resolve_items(self, items: Sequence[object], notes: list[str]) -> tuple[list[str], set[str]]:
        """Picker entries -> (node ids, categories); unknown entries are reported and skipped."""
        ids: list[str] = []
        cats: set[str] = set()
        unknown: list[str] = []
        for item in items:
            key = item if isinstance(item, str) else ("" if item is None else str(item))
            key = key.strip()
            if not key:
                continue
            if key not in self._choice_values and " — " in key:  # a label pasted instead of a value
                key = key.split(" — ")[0].strip()
            try:
                node = self.hierarchy.node(key)
            except UnknownCategoryError:
                unknown.append(key)
                continue
            if node.id == self.hierarchy.root.id:
                cats.update(self.hierarchy.categories)
                continue
            if node.id not in ids:
                ids.append(node.id)
            cats.update(node.categories)
        if unknown:
            shown = ", ".join(repr(u[:40]) for u in unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
            notes.append(f"ignored picker entries that name no category: {shown}")
        return ids, cats

    def _select(self, result: DemoResult, selection: Sequence[str] | None) -> None:
        cue = result.cue
        items = [selection] if isinstance(selection, str) else list(selection or [])
        ids, cats = self._resolve_items(items, result.notes) if items else ([], set())
        if ids or cats:
            result.selection_source = "picker"
        elif cue.node_ids:
            result.selection_source = "cue"
            ids, cats = self._resolve_items(cue.node_ids, result.notes)
        elif items:
            result.notes.append("none of the picker entries names a category: the full network is used")
        inhibited_by_cue = set(cue.inhibit)
        if cats and inhibited_by_cue and result.mode == "enhance":
            kept = cats - inhibited_by_cue
            if not kept:
                result.notes.append("everything selected is also negated by the cue: the full network is used")
            cats = kept
        result.selection = ids
        all_cats = set(self.model.categories)
        cats &= all_cats
        if result.mode == "inhibit" or not cats or cats == all_cats:
            result.expert_is_full = True
            result.categories = list(self.model.categories)
        else:
            result.expert_is_full = False
            result.categories = sorted(cats)

    def _gains(self, result: DemoResult) -> dict[str, float]:
        """The cue's attention on the full network, per node: x gain on the selection (enhance) or
        / gain (inhibit), / gain on what the cue negates."""
        gains: dict[str, float] = {}
        g = result.gain
        if g != 1.0:
            on_selection = g if result.mode == "enhance" else 1.0 / g
            for nid in result.selection:
                gains[nid] = on_selection
            for nid in result.cue.inhibit_node_ids:
                gains[nid] = 1.0 / g
        return {nid: v for nid, v in gains.items() if nid in self.hierarchy.nodes and nid != self.hierarchy.root.id}

    def _share(self, logits: torch.Tensor, categories: Sequence[str]) -> float:
        """The full network's softmax mass on ``categories``: how much of its belief an expert can see."""
        p = torch.softmax(logits[0].float(), dim=-1)
        return float(p[[self.hierarchy.category_index(w) for w in categories]].sum())

    def _expert_card(self, result: DemoResult) -> dict | None:
        """The model card's measurements of this expert (``experts.json``), when the selection is one
        node the card measured and the expert is exactly that node's."""
        if len(result.selection) != 1 or not self.expert_card:
            return None
        node_id = result.selection[0]
        entry = self.expert_card.get("nodes", {}).get(node_id)
        if entry is None or sorted(self.hierarchy.nodes[node_id].categories) != result.categories:
            return None
        return {"node": node_id, **entry}

    def _top(self, logits: torch.Tensor, wnids: Sequence[str], k: int) -> list[Prediction]:
        p = torch.softmax(logits[0].float(), dim=-1)
        values, idx = p.topk(min(max(k, 1), len(wnids)))
        return [Prediction(wnids[i], self.name(wnids[i]), round(float(v), 6)) for v, i in zip(values.tolist(), idx.tolist())]

    def _cost(self, model: str, macs: int, params: int, ms: float, teacher_ms: float) -> Cost:
        def saved(a: float, b: float) -> float:
            return round(100.0 * (1.0 - a / b), 1) if b else 0.0

        return Cost(model, round(macs / 1e9, 4), round(params / 1e6, 3), round(ms, 2),
                    saved(macs, self.teacher_macs), saved(params, self.teacher_params), saved(ms, teacher_ms))

    # --- export ------------------------------------------------------------------------------
    def export_expert(self, selection: Sequence[str] | None = None, cue: object = None,
                      folder: str | Path | None = None) -> Path:
        """Save the expert for a selection (or a cue's nodes) as a standalone checkpoint, zipped.

        The zip holds ``head.safetensors``, ``config.json``, ``hierarchy.json`` (the tree pruned to
        the expert's categories, so :func:`hldemo.net.checkpoint.load_model` rebuilds exactly this
        expert) and a README. Cached per category set.

        Raises:
            HLDemoError: nothing selected (the full network is the shipped checkpoint already).
        """
        from ..net.checkpoint import save_model_zip
        from ..net.model import NHL

        result = DemoResult()
        result.cue = self.interpret(cue)
        self._select(result, selection)
        if result.expert_is_full:
            raise InputError("select some categories first: the expert for everything is the full network")
        key = tuple(result.categories)
        digest = hashlib.sha1("\n".join(key).encode()).hexdigest()[:10]
        with self._lock:
            cached = self._exports.get(digest)
            if cached is not None and cached.exists() and folder is None:
                self._exports.move_to_end(digest)
                return cached
        entry = self.experts.get(key)
        expert = entry.model
        names = [self.name(n) for n in result.selection] or [self.name(w) for w in key[:3]]
        config = dict(self.model.config)
        config.update(name=f"{config.get('name', 'nhl')}-expert-{digest}",
                      description=f"Efficient expert for {', '.join(names)} ({len(key)} categories), cut from "
                                  f"{self.checkpoint} without retraining (hldemo).",
                      expert_of=self.checkpoint, expert_selection=list(result.selection))
        base = Path(folder) if folder is not None else self._export_dir
        zip_path = base / f"hldemo-expert-{len(key)}cats-{digest}.zip"
        readme = render.export_readme(names, len(key), self.checkpoint, config.get("backbone"), entry.macs / 1e9)
        with self._export_lock:
            save_model_zip(NHL(expert.trunk, expert.head, self.hierarchy, config), zip_path, readme)
        if folder is None:
            with self._lock:
                self._exports[digest] = zip_path
                while len(self._exports) > EXPORT_CACHE_SIZE:
                    _, old = self._exports.popitem(last=False)
                    old.unlink(missing_ok=True)
        return zip_path

    # --- internals ---------------------------------------------------------------------------
    def _warm_up(self) -> None:
        """Two forwards of every network (first calls pay for lazy initialisation)."""
        size = int(self.model.config["data"]["input_size"][-1])
        timing.time_forwards({"teacher": self.timed_teacher, "full NHL": self.model},
                             torch.zeros(1, 3, size, size, device=self.device, dtype=self.dtype), rounds=2)


# --- module helpers ------------------------------------------------------------------------------
def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000.0, 2)


def _has_audio(audio: object) -> bool:
    if audio is None:
        return False
    if isinstance(audio, str):
        return bool(audio.strip())
    if isinstance(audio, dict):
        return bool(audio.get("path") or audio.get("url"))
    return True


def _teacher_wnids(teacher: torch.nn.Module, categories: Sequence[str]) -> list[str]:
    """wnids of the teacher's outputs: ImageNet-1k index order (= sorted wnids)."""
    n = getattr(teacher, "num_classes", None)
    if n == len(categories) and list(categories) == sorted(categories):
        return list(categories)
    try:
        import timm.data

        names = timm.data.ImageNetInfo().label_names()
        if n is None or len(names) == n:
            return list(names)
    except Exception:  # timm without ImageNetInfo
        pass
    raise HLDemoError(f"cannot name the teacher's {n} outputs")



# --- command line --------------------------------------------------------------------------------
def configure_threads(threads: int | str | None = None) -> int:
    """Set torch's process-wide intra-op thread count for a demo program (app.py, the CLI).

    Args:
        threads: the count; default ``$HLDEMO_TORCH_THREADS``, else :data:`DEFAULT_THREADS`.

    Returns:
        The count set.

    Raises:
        InputError: not a whole number >= 1.
    """
    value = threads if threads is not None else (os.environ.get(THREADS_ENV) or DEFAULT_THREADS)
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if n < 1 or str(value).strip() != str(n):
        raise InputError(f"torch threads must be a whole number >= 1 (from {THREADS_ENV} or the caller), not {value!r}")
    torch.set_num_threads(n)
    return n


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m hldemo.demo IMAGE [--cue TEXT | --audio FILE] [--select NODE ...] [--device D] [--json]``."""
    import argparse
    import json

    p = argparse.ArgumentParser(prog="python -m hldemo.demo", description="One demo request, without the UI.")
    p.add_argument("image")
    p.add_argument("--cue", default=None, help="typed cue")
    p.add_argument("--audio", default=None, help="recorded cue, speech or a sound (wav/ogg/flac/mp3)")
    p.add_argument("--select", nargs="*", default=None, help="picker entries: node ids, wnids or names")
    p.add_argument("--mode", default=DEFAULT_MODE, choices=MODES)
    p.add_argument("--gain", type=float, default=None,
                   help=f"attention gain, {MIN_GAIN:g}-{MAX_GAIN:g} (default: the checkpoint's calibrated gain)")
    p.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT)
    p.add_argument("--speech-model", default=DEFAULT_SPEECH_MODEL, help="'none' to skip Whisper")
    add_device_arguments(p)
    p.add_argument("--json", action="store_true", help="print the whole result as JSON")
    args = p.parse_args(argv)
    for flag, path in (("IMAGE", args.image), ("--audio", args.audio)):
        if path is not None and not Path(path).is_file():
            p.error(f"{flag}: no such file: {path}")
    if args.gain is not None and not (math.isfinite(args.gain) and MIN_GAIN <= args.gain <= MAX_GAIN):
        p.error(f"--gain must be between {MIN_GAIN:g} and {MAX_GAIN:g}, not {args.gain:g}")
    speech = None if args.speech_model.lower() == "none" else args.speech_model
    with exit_on_user_error(p.prog):
        configure_threads()
        engine = DemoEngine(args.checkpoint, speech_model=speech, device=args.device, dtype=args.dtype,
                            progress=lambda f, m: print(m, file=sys.stderr))
    r = engine.run(args.image, cue=args.cue, audio=args.audio, selection=args.select, mode=args.mode, gain=args.gain)
    engine.close()
    if args.json:
        print(json.dumps(r.to_dict(), indent=1, ensure_ascii=False))
        return 0 if r.ok else 1
    print(r.explanation)
    for title, preds in (("teacher", r.teacher), ("full NHL", r.nhl), ("expert", r.expert), (ATTENTION, r.nhl_attention)):
        print(f"  {title:>20}: " + ", ".join(f"{q.name} {q.probability:.0%}" for q in preds))
    if r.expert_share is not None:
        print(f"  {'expert share':>20}: {r.expert_share:.1%} of the full network's belief")
    for c in r.costs:
        versus = "" if c.model == "teacher" else f" ({-c.gmacs_saved_pct:+.0f}% vs teacher)"
        print(f"  {c.model:>20}: {c.gmacs:.3f} GMACs{versus}, {c.params_m:.2f} M params, {c.ms:.1f} ms on {r.device}")
    return 0 if r.ok else 1
