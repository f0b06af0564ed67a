"""Spoken cues: the language first, then only words the audio supports (issue 17).

:func:`match_spoken` reads one recorded cue:

1. Whisper base detects the clip's language among :data:`hldemo.cues.speech.CUE_LANGUAGES` and
   decodes it in that language: a French word is not read as English words. Detection is unsure on a
   single word (a French speaker's "un poisson" is 89 % English to it), so when the transcript is short
   (:data:`hldemo.cues.keywords.MAX_SPOTTED_WORDS` words) the second likeliest language is weighed too,
   and the language whose category words the audio supports best wins: each language's best
   spotted vocabulary entry (:meth:`hldemo.cues.keywords.KeywordScorer.spot`), plus
   :data:`LANGUAGE_PRIOR` times the log of the detection's probability, if that entry is supported well
   (:func:`choose_language`). The second language is decoded only when it wins (a decode is ~0.2 s).
2. The transcript is matched without spelling repair, German, French and Spanish words in the
   chosen language only. A match by names or sound words of every word stands.
3. Otherwise, for a short transcript, candidates replace it when the audio supports them nearly as
   well (:data:`SUPPORT_MARGIN`), and never when they score below :data:`MIN_SUPPORT`: the vocabulary
   entries spotted in the audio, and those spelt nearest to the transcript's words ("school" for
   "shoo"; for German, French and Spanish the listed words of :mod:`hldemo.cues.translate`), all
   scored against the audio with the transcript itself (:class:`hldemo.cues.keywords.KeywordScorer`).
   A spotted entry the audio names clearly (:data:`CLEAR_SUPPORT`, :data:`CLEAR_GAP` above the next
   entry) is taken whatever the free reading was, an interjection ("Boo!" for "ball") included.
4. A short transcript with a word the matcher cannot read ("Egen Schirm", "Robin Billur") that no
   supported word replaced is a guess: the result says "not sure, I heard ..." and selects nothing,
   as it does when nothing matched at all.

The constants were chosen on the development half of :mod:`hldemo.cues.word_clips`
(``python scripts/eval_spoken_cues.py --words dev``); the held-out half only reports.
"""

from __future__ import annotations

import math

from .keywords import MAX_SPOTTED_WORDS, nearest_entries, restyle

# Chosen on the development clips of hldemo.cues.word_clips (python scripts/eval_spoken_cues.py --words dev).
SUPPORT_MARGIN = 0.1  # a candidate may score this much below a transcript the matcher reads ("Come here." is
#                      no "Chameleon.": -1.00 against -1.19) (mean log-prob per token)
PARTIAL_SUPPORT_MARGIN = 0.2  # ... or below one with a word it cannot read ("un chappu.": Whisper was unsure)
MIN_SUPPORT = -1.25  # ... and never below this (a garbled clip supports every text badly: "frommage" -3.2,
#                      "naufrage" -3.23)
CLEAR_SUPPORT = -1.2  # a spotted entry this well supported ...
CLEAR_GAP = 1.1  # ... and this far above the next entry is taken whatever the free transcript was ("Boo!" for "ball")
_UNSURE = ("hallucination", "low_confidence")  # transcripts ("Oh,", "Boo!") whose clip may still name a word
LANGUAGE_TRIES = 2  # languages decoded for a transcript of a word or two (detection often puts the true one second)
LANGUAGE_PRIOR = 0.5  # weight of log p(language) against the spotted entry's mean log-prob
SWITCH_SUPPORT = -1.0  # another language than the detected one wins only with an entry this well supported
#                        (the spoken "meow" of examples/speech: "Aufschluss" at -2.70 is no German)
_FIRM = ("name ", "sound word ")  # reasons of matches that need no support from the audio


def match_spoken(matcher, audio, model, multilingual=None):
    """Transcribe a spoken cue language first and match it; never raises for bad audio.

    Args:
        matcher: a :class:`hldemo.cues.matcher.CueMatcher`.
        audio: anything :func:`hldemo.cues.audio.load_audio` reads.
        model: Whisper tiny.en (English only; it reads again an English clip whose base reading names
            nothing) or a multilingual Whisper.
        multilingual: Whisper base, which detects the language and decodes every language (a second
            encoder pass for tiny.en would cost ~0.4 s of the 1.5 s a 2 s clip may take on 2 cores);
            None: ``model`` alone (English only unless it is multilingual).

    Returns:
        A :class:`hldemo.cues.matcher.CueResult` (``speech``: the transcript; ``notes``: the language).
    """
    from .speech import LOGPROB_THRESHOLD, MAX_TOKENS, SHORT_LOGPROB, SHORT_MAX_TOKENS, transcribe_languages

    if getattr(model, "is_multilingual", False):
        multilingual = model
    if multilingual is not None:
        heard = transcribe_languages(multilingual, audio, languages=matcher.spoken_languages(),
                                     max_tokens=SHORT_MAX_TOKENS, logprob_threshold=SHORT_LOGPROB,
                                     tries=LANGUAGE_TRIES)
        transcript = next(heard)
        if transcript.scorer is not None and _is_short(transcript):
            # the other languages are spotted on the same clip; one is decoded only if it wins
            others = list(transcript.language_probabilities.items())[1:LANGUAGE_TRIES]
            language, note = choose_language(matcher, [(transcript.language, transcript.language_probability,
                                                        transcript.scorer)] + [
                (lang, p, transcript.scorer.for_language(lang)) for lang, p in others])
            if language != transcript.language:
                switched = next((t for t in heard if t.language == language and t.scorer is not None), None)
                if switched is not None:
                    transcript = switched
                    transcript.notes.append(note)
    else:  # English only, with Whisper's usual bounds
        transcript = next(transcribe_languages(model, audio, max_tokens=MAX_TOKENS, logprob_threshold=LOGPROB_THRESHOLD))
    result = read_transcript(matcher, transcript)
    if (not result.understood and transcript.language == "en" and multilingual is not model
            and model is not None and not getattr(model, "is_multilingual", False)):
        # base misreads some short English words that tiny.en, trained on English alone, hears right
        # ("meow" -> "Ciao."); tiny.en's encoder pass (~0.4 s) is spent only when base's English names nothing
        english = next(iter(transcribe_languages(model, audio, max_tokens=MAX_TOKENS, logprob_threshold=LOGPROB_THRESHOLD)))
        second = read_transcript(matcher, english)
        if second.understood:
            second.notes.append(f"Whisper base heard {transcript.text!r}; tiny.en (English only) heard {english.text!r}")
            transcript, result = english, second
    if transcript.language:
        p = transcript.language_probability
        result.notes.insert(0, f"speech: language '{transcript.language}'"
                               + (f", {p:.0%} likely" if p is not None else "") + f", {transcript.status}")
    return result


def choose_language(matcher, candidates):
    """The language, among one clip's ``candidates`` (``(language, detected probability, scorer)``, the
    detected language first), whose category words the audio supports best: the best spotted entry's
    mean log-probability plus :data:`LANGUAGE_PRIOR` times the log of the language's probability; a
    language other than the detected one wins only with an entry supported at :data:`SWITCH_SUPPORT`
    or better. A language whose prior alone is below the best total so far is not searched (its
    total could not be higher).

    Returns:
        ``(language, note)``: the note says what each language scored (None when the detected one stays).
    """
    scored = []
    for language, p, scorer in candidates:
        prior = LANGUAGE_PRIOR * math.log(max(p or 0.0, 1e-6))
        if scored and prior <= max(s[0] for s in scored):
            continue  # a mean log-prob is at most 0: this language cannot win, and is not searched
        spotted = scorer.spot(matcher.spoken_vocabulary(language))
        scored.append(((spotted[0].score if spotted else -math.inf) + prior, language, spotted[:1]))
    detected = candidates[0][0]
    if len(scored) < 2:
        return detected, None
    best = max(scored, key=lambda x: x[0])
    if best[1] == detected or not best[2] or best[2][0].score < SWITCH_SUPPORT:
        return detected, None  # no other language's words are supported (a meow): detection decides
    return best[1], "language chosen by the words the audio supports: " + "; ".join(
        f"'{language}' {score:.2f} ({s[0].text.strip()!r})" if s else f"'{language}' none"
        for score, language, s in sorted(scored, key=lambda x: -x[0]))


def _is_short(transcript) -> bool:
    """True for a transcript of at most :data:`MAX_SPOTTED_WORDS` words (or none): a word or two, on
    which language detection is unsure ("Show me the cat." is a sentence: detection holds)."""
    return sum(any(c.isalnum() for c in w) for w in transcript.raw_text.split()) <= MAX_SPOTTED_WORDS


def read_transcript(matcher, transcript):
    """Match a :class:`hldemo.cues.speech.Transcript` (steps 2-4 of the module docstring)."""
    from .matcher import CueResult
    from .speech import is_filler

    if not getattr(transcript, "understood", False):
        clear = _clear_entry(matcher, transcript) if transcript.status in _UNSURE else None
        if clear is not None:  # Whisper's own reading was an interjection or unsure; the audio names a word
            result = matcher.match(clear.text, transcript=transcript.raw_text, repair=False,
                                   language=transcript.language or "en")
            if result.understood:
                result.notes = list(transcript.notes) + [f"heard {transcript.raw_text!r} ({transcript.status}); "
                                                         + _clear_note(clear)] + result.notes
                result.speech = transcript
                return result
        return CueResult(text="", message=f"{transcript.message} The full model is used.", source="speech",
                         transcript=getattr(transcript, "raw_text", ""), notes=list(transcript.notes),
                         speech=transcript)
    text, language = transcript.text, transcript.language or "en"
    result = matcher.match(text, transcript=text, repair=False, language=language)
    words = [w for w in matcher.spoken_words(text, language) if not is_filler(w)]
    scorer, supported = getattr(transcript, "scorer", None), False
    partial = not all(matcher.knows(w, language) for w in words)
    if not _firm(result) and scorer is not None and 0 < len(words) <= MAX_SPOTTED_WORDS:
        vocabulary = matcher.spoken_vocabulary(language)
        entries: list = []
        clear = _clear_entry(matcher, transcript)
        if clear is not None and clear.entry not in words:
            repaired = matcher.match(clear.text, transcript=text, repair=False, language=language)
            if repaired.understood:
                result, supported = repaired, True
                result.notes.append(f"heard {text!r}; " + _clear_note(clear))
        if not supported:  # candidates to score against the transcript (none needed after a clear word)
            # each word, and all of them as one (Whisper splits compounds: "Egen Schirm" for "Regenschirm")
            spans = [(w,) for w in words] + ([tuple(words)] if len(words) > 1 else [])
            entries = list(dict.fromkeys((span, e) for span in spans for joined in {"".join(span), " ".join(span)}
                                         for e in nearest_entries(joined, vocabulary) if e != " ".join(span)))
            texts = [restyle(text, span, e) for span, e in entries]
            # the entries the audio supports best, found by keyword spotting, whatever their spelling
            for s in scorer.spot(vocabulary):
                if s.entry not in words:
                    entries.append((tuple(words), s.entry))
                    texts.append(s.text)
        if entries:
            own, *scores = scorer.score([text] + texts)
            best = max(range(len(texts)), key=scores.__getitem__)
            heard, entry = " ".join(entries[best][0]), entries[best][1]
            support = f"mean log-prob {scores[best]:.2f} against {own:.2f} for what was heard"
            margin = PARTIAL_SUPPORT_MARGIN if partial else SUPPORT_MARGIN
            if scores[best] >= max(own - margin, MIN_SUPPORT):
                repaired = matcher.match(texts[best], transcript=text, repair=False, language=language)
                if repaired.understood:
                    result, supported = repaired, True
                    result.notes.append(f"heard {heard!r}; the audio supports {entry!r} as well ({support})")
            elif not result.understood:
                result.notes.append(f"{entry!r} is the category word nearest to {heard!r}, but the audio does not "
                                    f"support it ({support})")
    if result.understood and partial and not supported and len(words) <= MAX_SPOTTED_WORDS:
        # a short cue read only in part ("Egen Schirm": 'schirm' = blind; "Robin Billur") is a guess
        result = matcher.match("", transcript=text)
        result.unmatched.append(text)
    if not result.understood:
        result.message = f"Not sure: I heard {text!r}, which names no category. The full model is used."
    result.notes = list(transcript.notes) + result.notes
    result.speech = transcript
    return result


def _clear_entry(matcher, transcript):
    """The vocabulary entry spotted in the clip when the audio names it clearly: a mean log-prob of at
    least :data:`CLEAR_SUPPORT` and :data:`CLEAR_GAP` above the next entry; else None."""
    if transcript.scorer is None:
        return None
    spotted = transcript.scorer.spot(matcher.spoken_vocabulary(transcript.language or "en"))
    if spotted and spotted[0].score >= CLEAR_SUPPORT and (
            len(spotted) == 1 or spotted[0].score - spotted[1].score >= CLEAR_GAP):
        return spotted[0]
    return None


def _clear_note(spotted) -> str:
    return f"the audio names {spotted.entry!r} clearly (mean log-prob {spotted.score:.2f}, the next word at least {CLEAR_GAP} lower)"


def _firm(result) -> bool:
    """True when every match of ``result`` is by a name or a sound word and every word was read (no
    audio support needed)."""
    matches = result.matches + result.inhibited
    return bool(matches) and all(m.reason.startswith(_FIRM) for m in matches) and not result.unmatched
