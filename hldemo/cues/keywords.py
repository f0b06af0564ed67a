"""Keyword scoring with Whisper: how much the audio supports each of a few candidate texts.

A free transcript of one short word is a guess ("shoo" for "school", "Mails." for "mouth"). Here the
candidates (the transcript itself and the vocabulary words nearest to it) are scored by Whisper's
decoder, teacher-forced on the clip's encoder output: the mean log-probability per token of each text
(end of text included), all candidates in one batched decoder call. A candidate the audio supports
about as well as the free transcript may replace it; one it does not support may not.

Example:
    >>> scorer = KeywordScorer(model, features, "en")        # doctest: +SKIP  (features: encoder output)
    >>> scorer.score([" Shoo.", " School."])                  # doctest: +SKIP
    [-0.41, -2.87]
"""

from __future__ import annotations

import contextlib
import difflib
from typing import Iterable, Sequence

from ..utils import limit_torch_threads

NEAREST_WORDS = 10  # vocabulary entries scored per transcript (the nearest by spelling)
NEAREST_CUTOFF = 0.6  # difflib ratio below which a vocabulary entry is not a candidate ("shoo"/"school" 0.8)
MAX_SPOTTED_WORDS = 3  # longer transcripts are sentences: they are matched as they are, never replaced


class KeywordScorer:
    """Teacher-forced scores of texts given one clip's encoder output.

    Args:
        model: a ``whisper.model.Whisper``.
        features: its encoder output for the clip, ``(1, frames, width)`` or ``(frames, width)``.
        language: the language the texts are in (ignored by English-only models).
        threads: torch CPU threads while scoring (:func:`hldemo.utils.limit_torch_threads`).
        lock: held while scoring (the model's decoder is shared with transcription).
    """

    def __init__(self, model, features, language: str | None, *, threads: int | None = None, lock=None):
        from whisper.tokenizer import get_tokenizer

        self.model, self.threads, self.lock = model, threads, lock or contextlib.nullcontext()
        self.features = features if features.ndim == 3 else features[None]
        self.language = language if model.is_multilingual else "en"
        self.tokenizer = get_tokenizer(model.is_multilingual, num_languages=model.num_languages,
                                       language=self.language if model.is_multilingual else None,
                                       task="transcribe")

    def score(self, texts: Sequence[str]) -> list[float]:
        """Mean log-probability per token of each text (its tokens and the end of text), as Whisper's
        ``avg_logprob`` counts it, without any logit filter; one decoder call for all texts. A text is
        scored with the leading space Whisper's transcripts start with ("Boo!" as " Boo!")."""
        import torch

        if not texts:
            return []
        tok = self.tokenizer
        prefix = list(tok.sot_sequence_including_notimestamps)
        seqs = [prefix + tok.encode(t if t.startswith(" ") else f" {t}") + [tok.eot] for t in texts]
        width = max(len(s) for s in seqs)
        tokens = torch.tensor([s + [tok.eot] * (width - len(s)) for s in seqs], device=self.features.device)
        with self.lock, limit_torch_threads(self.threads), torch.no_grad():
            # one copy of the audio for all texts: the cross-attention keys and values are computed once
            # and broadcast over the batch (expanding them costs ~0.1 s per text on a CPU)
            logits = self.model.decoder(tokens[:, :-1], self.features)
            logp = logits.float().log_softmax(-1).gather(-1, tokens[:, 1:, None])[..., 0]
        start = len(prefix) - 1  # the prediction of the first text token
        return [float(logp[i, start:len(s) - 1].mean()) for i, s in enumerate(seqs)]


def nearest_entries(text: str, vocabulary: Iterable[str], n: int = NEAREST_WORDS,
                    cutoff: float = NEAREST_CUTOFF) -> list[str]:
    """The ``n`` vocabulary entries spelt most like ``text`` (lower case, no punctuation), best first."""
    return difflib.get_close_matches(text, list(vocabulary), n=n, cutoff=cutoff)


def restyle(transcript: str, span: Sequence[str], entry: str) -> str:
    """``transcript`` with the words of ``span`` (found in any case, first to last) replaced by
    ``entry`` in the first word's capitalisation (" Shoo." -> " School.", " Egen Schirm." ->
    " Regenschirm."), so that scores compare words, not punctuation."""
    folded = transcript.casefold()
    start = folded.find(span[0].casefold())
    end = folded.find(span[-1].casefold(), max(start, 0))
    if start < 0 or end < 0:
        return f" {entry}"
    end += len(span[-1])
    found = transcript[start:end]
    if found.isupper() and len(found) > 1:
        entry = entry.upper()
    elif found[:1].isupper():
        entry = entry[:1].upper() + entry[1:]
    return transcript[:start] + entry + transcript[end:]
