"""Audio input: read a file or a Gradio ``(sample_rate, array)`` pair into mono float32 16 kHz.

This module has one job: turn whatever a person hands the demo (a wav/ogg/flac file, raw file bytes,
the ``(sample_rate, numpy array)`` pair that a Gradio ``Audio`` component gives, int16 or float, mono
or stereo, 8-48 kHz) into the waveform Whisper expects, without ffmpeg. Files are read with
``soundfile`` (libsndfile), resampled with SciPy's polyphase filter.

Every failure a user can cause (missing, empty, corrupt, unreadable, NaN-filled audio, an absurd
sample rate) raises :class:`hldemo.errors.AudioError` with a message that can be shown as it is.

Example:
    >>> audio = load_audio("examples/sounds/cat.ogg")          # doctest: +SKIP
    >>> audio.samples.dtype, audio.sample_rate, audio.duration  # doctest: +SKIP
    (dtype('float32'), 16000, 1.9)
"""

from __future__ import annotations

import io
from fractions import Fraction
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np

from ..errors import AudioError
from ..utils import error_line

TARGET_SAMPLE_RATE = 16_000
MAX_SECONDS = 30.0  # Whisper's window; longer audio is cut with a message
MIN_SECONDS = 0.1  # shorter than this is treated as empty
MIN_SAMPLE_RATE = 4_000  # below this nothing speech-like survives
MAX_SAMPLE_RATE = 192_000
MAX_FILE_BYTES = 200 * 1024 * 1024  # refuse to read absurdly large files
FLOAT_OVERSHOOT = 1.5  # float audio up to this peak is taken as [-1, 1] and clipped
SILENCE_RMS = 3e-4  # about -70 dBFS: quieter than any real microphone's noise floor
SILENCE_PEAK = 2e-3
MAX_CHANNELS = 32
MAX_RESAMPLE_FACTOR = 1000  # beyond this down factor (44101 Hz -> 16 kHz) the polyphase filter takes seconds

AudioSource = Union[str, Path, bytes, bytearray, "tuple[int, np.ndarray]", "Audio", dict]


@dataclass
class Audio:
    """A mono float32 waveform at :data:`TARGET_SAMPLE_RATE`, ready for Whisper.

    Attributes:
        samples: 1-D float32 array in [-1, 1].
        sample_rate: always :data:`TARGET_SAMPLE_RATE`.
        source_rate: the sample rate the audio came in with.
        source_duration: seconds of audio before the 30 s cap.
        truncated: True when the audio was cut at ``max_seconds``.
        messages: things the user should be told (cut, resampled, ...).
    """

    samples: np.ndarray
    sample_rate: int = TARGET_SAMPLE_RATE
    source_rate: int = TARGET_SAMPLE_RATE
    source_duration: float = 0.0
    truncated: bool = False
    messages: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        """Seconds of audio kept."""
        return len(self.samples) / float(self.sample_rate)

    @property
    def rms(self) -> float:
        """Root-mean-square level (0 for an empty waveform)."""
        return float(np.sqrt(np.mean(np.square(self.samples, dtype=np.float64)))) if len(self.samples) else 0.0

    @property
    def peak(self) -> float:
        """Largest absolute sample value."""
        return float(np.max(np.abs(self.samples))) if len(self.samples) else 0.0

    def is_silent(self) -> bool:
        """True when the waveform is digital silence or close to it."""
        return self.rms < SILENCE_RMS or self.peak < SILENCE_PEAK


# --- reading -------------------------------------------------------------------------------------
def _read_file(source: str | Path | bytes | bytearray) -> tuple[int, np.ndarray]:
    """Read a sound file (path or bytes) with soundfile; returns ``(rate, float32 frames x channels)``."""
    import soundfile as sf  # imported here: libsndfile is only needed for files

    if isinstance(source, (bytes, bytearray)):
        if len(source) == 0:
            raise AudioError("the audio file is empty (0 bytes)")
        handle: Any = io.BytesIO(bytes(source))
        label = "the uploaded audio"
    else:
        path = Path(source).expanduser()
        if not path.exists():
            raise AudioError(f"audio file not found: {path}")
        if not path.is_file():
            raise AudioError(f"not an audio file: {path}")
        size = path.stat().st_size
        if size == 0:
            raise AudioError(f"the audio file is empty (0 bytes): {path.name}")
        if size > MAX_FILE_BYTES:
            raise AudioError(f"the audio file is too large ({size / 2**20:.0f} MiB): {path.name}")
        handle, label = str(path), path.name
    try:
        data, rate = sf.read(handle, dtype="float32", always_2d=True)
    except Exception as e:  # soundfile raises LibsndfileError/RuntimeError/TypeError for bad data
        raise AudioError(
            f"cannot read {label}: not a readable wav/ogg/flac/mp3 file ({error_line(e, 200)})") from e
    return int(rate), data


def _to_float(array: np.ndarray) -> np.ndarray:
    """Integer PCM or float samples -> float32 in [-1, 1]."""
    if array.dtype == np.bool_ or array.dtype.kind not in "iuf":
        raise AudioError(f"audio samples must be numbers, got dtype {array.dtype}")
    if array.dtype.kind == "i":
        scale = float(2 ** (8 * array.dtype.itemsize - 1))
        if array.dtype.itemsize == 8 and array.size:  # a plain list of ints: guess the PCM width
            peak = int(np.max(np.abs(array)))
            scale = 32768.0 if peak <= 32768 else 2.0 ** 31 if peak <= 2 ** 31 else scale
        out = array.astype(np.float32) / scale
    elif array.dtype.kind == "u":
        half = float(2 ** (8 * array.dtype.itemsize - 1))
        out = (array.astype(np.float32) - half) / half
    else:
        out = array.astype(np.float32, copy=False)
        if not np.all(np.isfinite(out)):
            bad = np.count_nonzero(~np.isfinite(out))
            if bad > 0.01 * out.size:
                raise AudioError(f"the audio is corrupt: {bad} of {out.size} samples are NaN or infinite")
            out = np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
        peak = float(np.max(np.abs(out))) if out.size else 0.0
        if peak > FLOAT_OVERSHOOT:  # not [-1, 1] (decoders overshoot a little): rescale
            integral = bool(np.all(out == np.round(out)))  # int16 PCM values stored as float
            out = out / (32768.0 if integral and peak <= 32768.0 else peak)
    return out


def _to_mono(array: np.ndarray) -> np.ndarray:
    """(frames,), (frames, channels) or (channels, frames) -> (frames,)."""
    if array.ndim == 1:
        return array
    if array.ndim != 2:
        raise AudioError(f"audio must be 1-D (mono) or 2-D (multi-channel), got shape {array.shape}")
    frames, channels = array.shape
    if channels > MAX_CHANNELS and frames <= MAX_CHANNELS:  # channels-first layout
        array = array.T
    if array.shape[1] > MAX_CHANNELS:
        raise AudioError(f"audio with {array.shape[1]} channels is not supported (shape {array.shape})")
    return array.mean(axis=1) if array.shape[1] > 1 else array[:, 0]


# --- resampling ----------------------------------------------------------------------------------
def resample(samples: np.ndarray, source_rate: int, target_rate: int = TARGET_SAMPLE_RATE) -> np.ndarray:
    """Band-limited resampling of a 1-D float32 signal: SciPy's polyphase filter (``resample_poly``).

    Args:
        samples: 1-D float32 waveform.
        source_rate: its sample rate in Hz.
        target_rate: wanted sample rate in Hz.

    Returns:
        1-D float32 waveform at ``target_rate`` of length ``ceil(len * target / source)`` (an odd rate such as
        44101 Hz is taken as the nearest multiple of 100 Hz: pitch off by < 0.1 %).
    """
    if source_rate == target_rate or len(samples) == 0:
        return samples.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    ratio = Fraction(int(target_rate), int(source_rate))
    if ratio.denominator > MAX_RESAMPLE_FACTOR:  # an odd rate: resample as if from the nearest multiple of 100 Hz
        ratio = Fraction(int(target_rate), max(100, round(source_rate / 100) * 100))
    return resample_poly(samples.astype(np.float32, copy=False), ratio.numerator, ratio.denominator).astype(np.float32)


# --- entry point ---------------------------------------------------------------------------------
def load_audio(source: AudioSource, *, max_seconds: float = MAX_SECONDS,
               target_rate: int = TARGET_SAMPLE_RATE) -> Audio:
    """Load audio from a file, file bytes, or a Gradio ``(sample_rate, array)`` pair.

    Args:
        source: a path (wav/ogg/flac, whatever libsndfile reads), the bytes of such a file, a
            ``(sample_rate, array)`` pair (int16/int32/uint8/float, shape ``(n,)``, ``(n, ch)`` or
            ``(ch, n)``), a Gradio ``FileData``-like dict with a ``"path"``, or an :class:`Audio`
            (returned as it is).
        max_seconds: keep at most this many seconds (a message says so when audio is cut).
        target_rate: output sample rate (16 kHz for Whisper).

    Returns:
        An :class:`Audio` with mono float32 samples at ``target_rate``.

    Raises:
        AudioError: nothing given, a missing/empty/corrupt/unreadable file, no samples, NaN data,
            an unsupported sample rate or shape.
    """
    if isinstance(source, Audio):
        return source
    if source is None:
        raise AudioError("no audio given")
    if isinstance(source, dict) and source.get("path"):
        source = source["path"]
    if isinstance(source, (str, Path, bytes, bytearray)):
        if isinstance(source, str) and not source.strip():
            raise AudioError("no audio given (empty file name)")
        rate, data = _read_file(source)
    elif isinstance(source, (tuple, list)) and len(source) == 2:
        rate, data = source
        if isinstance(rate, np.ndarray) and not isinstance(data, np.ndarray):
            rate, data = data, rate  # tolerate (array, rate)
        try:
            rate = int(rate)
        except (TypeError, ValueError):
            raise AudioError(f"the sample rate must be a number, got {rate!r}") from None
        if data is None:
            raise AudioError("no audio given")
        data = np.asarray(data)
    elif isinstance(source, np.ndarray):
        raise AudioError("a bare array has no sample rate: pass (sample_rate, array)")
    else:
        raise AudioError(f"cannot use {type(source).__name__} as audio: give a file or (sample_rate, array)")

    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioError(f"unsupported sample rate {rate} Hz (expected {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz)")
    if data.size == 0:
        raise AudioError("the audio has no samples")
    samples = _to_mono(_to_float(data))
    source_duration = len(samples) / rate
    if source_duration < MIN_SECONDS:
        raise AudioError(f"the audio is too short ({source_duration * 1000:.0f} ms)")
    messages: list[str] = []
    truncated = source_duration > max_seconds
    if truncated:
        samples = samples[: int(max_seconds * rate)]
        messages.append(f"audio cut to the first {max_seconds:.0f} s (it was {source_duration:.1f} s long)")
    samples = np.clip(resample(samples, rate, target_rate), -1.0, 1.0)
    return Audio(samples=np.ascontiguousarray(samples, dtype=np.float32), sample_rate=target_rate,
                 source_rate=rate, source_duration=source_duration, truncated=truncated, messages=messages)
