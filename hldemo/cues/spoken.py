"""Spoken cues: the language first, then only words the audio supports (issue 17).

:func:`match_spoken` reads one recorded cue:

1. Whisper base detects the clip's language among :data:`hldemo.cues.speech.CUE_LANGUAGES` and
   decodes it in that language only (:func:`hldemo.cues.speech.listen`): a French word is not read as
   English words.
2. The transcript is matched without spelling repair. A match by a name or a sound word stands.
3. Otherwise the vocabulary entries of that language spelt nearest to the transcript ("school" for
   "shoo"; for German, French and Spanish the FreeDict words of :mod:`hldemo.cues.translate`) are
   scored against the audio with the transcript itself (:class:`hldemo.cues.keywords.KeywordScorer`).
   The best one replaces the transcript only when the audio supports it nearly as well
   (:data:`SUPPORT_MARGIN`); else an embedding match of the transcript stands, and when there is none
   the result says "not sure, I heard 'shoo'" and selects nothing.
"""

from __future__ import annotations

from .keywords import MAX_SPOTTED_WORDS, nearest_entries, restyle

SUPPORT_MARGIN = 0.35  # a candidate may score this much below the transcript (mean log-prob per token)
_FIRM = ("name ", "sound word ")  # reasons of matches that need no support from the audio


def match_spoken(matcher, audio, model, multilingual=None):
    """Transcribe a spoken cue language first and match it; never raises for bad audio.

    Args:
        matcher: a :class:`hldemo.cues.matcher.CueMatcher`.
        audio: anything :func:`hldemo.cues.audio.load_audio` reads.
        model: Whisper tiny.en (English only) or a multilingual Whisper.
        multilingual: Whisper base, which detects the language (and decodes every language when
            ``model`` is English-only: see :data:`ENGLISH_MODEL`); None: ``model`` alone (English only
            unless it is multilingual).

    Returns:
        A :class:`hldemo.cues.matcher.CueResult` (``speech``: the transcript; ``notes``: the language).
    """
    from .speech import listen, transcribe

    if getattr(model, "is_multilingual", False):
        multilingual = model
    if multilingual is None:
        transcript = transcribe(model, audio)
    else:
        english = model if ENGLISH_MODEL == "tiny.en" and model is not multilingual else None
        transcript = listen(multilingual, audio, languages=matcher.spoken_languages(), english_model=english)
    result = read_transcript(matcher, transcript)
    if transcript.language:
        p = transcript.language_probability
        result.notes.insert(0, f"speech: language '{transcript.language}'"
                               + (f", {p:.0%} likely" if p is not None else "") + f", {transcript.status}")
    return result


ENGLISH_MODEL = "base"  # who decodes a clip base detected as English: "base" (the same encoder output,
#                         ~0.4 s less) or "tiny.en" (a second encoder); see scripts/eval_spoken_cues.py --words


def read_transcript(matcher, transcript):
    """Match a :class:`hldemo.cues.speech.Transcript` (steps 2-3 of the module docstring)."""
    from .matcher import CueResult

    if not getattr(transcript, "understood", False):
        return CueResult(text="", message=f"{transcript.message} The full model is used.", source="speech",
                         transcript=getattr(transcript, "raw_text", ""), notes=list(transcript.notes),
                         speech=transcript)
    text, language = transcript.text, transcript.language or "en"
    result = matcher.match(text, transcript=text, repair=False)
    words = matcher.spoken_words(text, language)
    scorer = getattr(transcript, "scorer", None)
    if not _firm(result) and scorer is not None and 0 < len(words) <= MAX_SPOTTED_WORDS:
        vocabulary = matcher.spoken_vocabulary(language)
        entries = [(w, e) for w in words for e in nearest_entries(w, vocabulary) if e != w]
        if entries:
            texts = [restyle(text, w, e) for w, e in entries]
            own, *scores = scorer.score([text] + texts)
            best = max(range(len(texts)), key=scores.__getitem__)
            heard, entry = entries[best]
            support = f"mean log-prob {scores[best]:.2f} against {own:.2f} for what was heard"
            if scores[best] >= own - SUPPORT_MARGIN:
                repaired = matcher.match(texts[best], transcript=text, repair=False)
                if repaired.understood:
                    result = repaired
                    result.notes.append(f"heard {heard!r}; the audio supports {entry!r} as well ({support})")
            elif not result.understood:
                result.notes.append(f"{entry!r} is spelt like {heard!r}, but the audio does not support it ({support})")
    if not result.understood:
        result.message = f"Not sure: I heard {text!r}, which names no category. The full model is used."
    result.notes = list(transcript.notes) + result.notes
    result.speech = transcript
    return result


def _firm(result) -> bool:
    """True when every match of ``result`` is by a name or a sound word (no audio support needed)."""
    matches = result.matches + result.inhibited
    return bool(matches) and all(m.reason.startswith(_FIRM) for m in matches)
