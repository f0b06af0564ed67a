"""Audio loading and conversion (hldemo.cues.audio): files, Gradio pairs, resampling, bad input."""

import numpy as np
import pytest
import soundfile as sf

from hldemo.cues.audio import MAX_SECONDS, TARGET_SAMPLE_RATE, Audio, load_audio, resample
from hldemo.errors import AudioError, HLDemoError


def tone(freq, seconds, rate, amp=0.5):
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def dominant_freq(x, rate):
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spec)]


# --- Gradio (rate, array) pairs ----------------------------------------------------------------
@pytest.mark.parametrize("rate", [8000, 11025, 16000, 22050, 32000, 44100, 48000])
def test_int16_mono_any_rate_becomes_16k_float(rate):
    x = (tone(440, 1.0, rate) * 32767).astype(np.int16)
    a = load_audio((rate, x))
    assert a.samples.dtype == np.float32 and a.samples.ndim == 1
    assert a.sample_rate == TARGET_SAMPLE_RATE and a.source_rate == rate
    assert abs(len(a.samples) - TARGET_SAMPLE_RATE) <= 1
    assert abs(dominant_freq(a.samples, TARGET_SAMPLE_RATE) - 440) < 3
    assert 0.45 < a.peak < 0.55  # amplitude preserved by int16 scaling and resampling
    assert not a.is_silent() and not a.truncated and a.messages == []


def test_stereo_frames_by_channels_is_averaged():
    left = tone(440, 0.5, 44100, 0.8)
    stereo = np.stack([left, np.zeros_like(left)], axis=1)  # (frames, 2) as Gradio gives it
    a = load_audio((44100, (stereo * 32767).astype(np.int16)))
    assert 0.35 < a.peak < 0.45


def test_channels_first_layout_is_accepted():
    x = np.stack([tone(300, 0.5, 16000), tone(300, 0.5, 16000)])  # (2, frames)
    a = load_audio((16000, x))
    assert len(a.samples) == 8000 and 0.45 < a.peak < 0.55


@pytest.mark.parametrize("dtype,scale,offset", [(np.float64, 1.0, 0), (np.int32, 2**31 - 1, 0),
                                                (np.uint8, 127, 128)])
def test_other_sample_types(dtype, scale, offset):
    x = (tone(500, 0.5, 16000) * scale + offset).astype(dtype)
    a = load_audio((16000, x))
    assert a.samples.dtype == np.float32 and 0.45 < a.peak < 0.55


def test_int16_values_stored_as_float_are_rescaled():
    x = np.round(tone(500, 0.5, 16000) * 32767).astype(np.float32)
    assert 0.45 < load_audio((16000, x)).peak < 0.55


def test_plain_python_list_of_ints():
    x = (tone(500, 0.5, 16000) * 32767).astype(np.int16).tolist()
    assert 0.45 < load_audio((16000, x)).peak < 0.55


def test_slight_float_overshoot_is_clipped_not_rescaled():
    x = tone(500, 0.5, 16000, amp=1.03)
    a = load_audio((16000, x))
    assert a.peak == pytest.approx(1.0) and a.rms > 0.6


def test_long_audio_is_cut_at_30_s_with_a_message():
    a = load_audio((16000, tone(200, 40.0, 16000)))
    assert a.truncated and a.duration == pytest.approx(MAX_SECONDS)
    assert a.source_duration == pytest.approx(40.0)
    assert "30 s" in a.messages[0]


def test_silence_is_detected():
    assert load_audio((16000, np.zeros(16000, np.int16))).is_silent()
    assert load_audio((16000, tone(300, 1, 16000, amp=1e-4))).is_silent()
    assert not load_audio((16000, tone(300, 1, 16000, amp=0.01))).is_silent()


def test_audio_object_passes_through():
    a = Audio(samples=np.zeros(16000, np.float32))
    assert load_audio(a) is a


# --- resampling ----------------------------------------------------------------------------------
def test_downsampling_suppresses_aliasing():
    rate = 48000
    x = tone(10000, 1.0, rate)  # above the 8 kHz Nyquist limit of 16 kHz audio
    y = resample(x, rate, 16000)
    assert np.sqrt(np.mean(y**2)) < 0.01 * np.sqrt(np.mean(x**2))  # > 40 dB down


def test_odd_rate_keeps_length_and_pitch():
    y = resample(tone(440, 1.0, 44101), 44101, 16000)
    assert abs(len(y) - 16000) <= 1
    assert abs(dominant_freq(y, 16000) - 440) < 3


# --- files ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt,subtype", [("WAV", "PCM_16"), ("FLAC", "PCM_16"), ("OGG", "VORBIS")])
def test_files_and_bytes_are_read_without_ffmpeg(tmp_path, fmt, subtype):
    path = tmp_path / f"tone.{fmt.lower()}"
    sf.write(path, np.stack([tone(440, 1.0, 22050)] * 2, axis=1), 22050, format=fmt, subtype=subtype)
    for source in (path, str(path), path.read_bytes(), {"path": str(path)}):
        a = load_audio(source)
        assert abs(a.duration - 1.0) < 0.01 and a.source_rate == 22050
        assert abs(dominant_freq(a.samples, 16000) - 440) < 3


# --- bad input: always an AudioError with a message -------------------------------------------
@pytest.mark.parametrize("source,words", [
    (None, "no audio"),
    ("", "no audio"),
    ("/nonexistent/clip.wav", "not found"),
    (b"", "empty"),
    (b"RIFF\x00\x00garbage that is not audio" * 10, "cannot read"),
    ((16000, np.zeros(0, np.int16)), "no samples"),
    ((16000, np.zeros(100, np.int16)), "too short"),
    ((16000, np.full(16000, np.nan, np.float32)), "NaN"),
    ((100, np.zeros(16000, np.int16)), "sample rate"),
    ((10**7, np.zeros(16000, np.int16)), "sample rate"),
    (("fast", np.zeros(16000, np.int16)), "sample rate"),
    ((16000, np.zeros((2, 3, 4000), np.float32)), "shape"),
    ((16000, np.array(["a", "b"] * 8000)), "numbers"),
    (np.zeros(16000, np.float32), "sample rate"),
    (12345, "cannot use"),
])
def test_bad_input_raises_audio_error(source, words):
    with pytest.raises(AudioError, match=words) as info:
        load_audio(source)
    assert isinstance(info.value, HLDemoError) and isinstance(info.value, ValueError)


def test_empty_corrupt_and_directory_files(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.ogg"
    junk.write_bytes(bytes(range(256)) * 40)
    text = tmp_path / "notes.wav"
    text.write_text("this is not a sound file\n" * 50)
    for path, words in ((empty, "empty"), (junk, "cannot read"), (text, "cannot read"), (tmp_path, "not an audio file")):
        with pytest.raises(AudioError, match=words):
            load_audio(path)


def test_a_few_nan_samples_are_repaired():
    x = tone(300, 1, 16000)
    x[::2000] = np.nan
    a = load_audio((16000, x))
    assert np.all(np.isfinite(a.samples)) and a.peak > 0.4
