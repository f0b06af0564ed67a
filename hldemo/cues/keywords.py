"""Keyword scoring with Whisper: how much the audio supports each of a few candidate texts.

A free transcript of one short word is a guess ("shoo" for "school", "Mails." for "mouth"). Here
candidate texts are scored by Whisper's decoder, teacher-forced on the clip's encoder output: the
mean log-probability per token of each text (end of text included). Candidates come from two places:

* :meth:`KeywordScorer.spot`: keyword spotting over a vocabulary (the category words of the clip's
  language). A beam search whose every text is a vocabulary entry, optionally after an article
  ("une fusée", "ein Ball") and before an end mark, finds the entries the audio supports best
  without scoring every entry;
* the vocabulary entries spelt nearest to the transcript's words (:func:`nearest_entries`).

A candidate the audio supports about as well as the free transcript may replace it; one it does not
support may not (:mod:`hldemo.cues.spoken` decides).

The decoder runs on a batch of texts against one clip: the clip's cross-attention keys and values are
computed once, and the batch is folded into the query axis (a copy of the keys per text would cost
~0.05 s each on a CPU).

Example:
    >>> scorer = KeywordScorer(model, features, "en")        # doctest: +SKIP  (features: encoder output)
    >>> scorer.score([" Shoo.", " School."])                  # doctest: +SKIP
    [-0.41, -2.87]
    >>> scorer.spot(["school", "shoe", "cat"])                # doctest: +SKIP
    [Spotted(entry='school', text=' School.', score=-0.9), ...]
"""

from __future__ import annotations

import contextlib
import difflib
import threading
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from ..utils import limit_torch_threads

NEAREST_WORDS = 10  # vocabulary entries scored per transcript (the nearest by spelling)
NEAREST_CUTOFF = 0.6  # difflib ratio below which a vocabulary entry is not a candidate ("shoo"/"school" 0.8)
MAX_SPOTTED_WORDS = 3  # longer transcripts are sentences: they are matched as they are, never replaced
SPOT_BEAM = 8  # texts kept per step of the keyword search (8: ~0.3 s for a short clip on one CPU thread)
SPOT_MAX_TOKENS = 12  # an article, a vocabulary entry and an end mark fit
SPOT_RESULTS = 5  # best distinct entries returned
# Articles a spoken single word may come with ("une fusée", "ein Ball", "the cat"): optional in the search.
ARTICLES = {"en": ("a", "an", "the"), "de": ("ein", "eine", "einen", "der", "die", "das"),
            "fr": ("un", "une", "des", "le", "la", "les", "l'"),
            "es": ("un", "una", "unos", "unas", "el", "la", "los", "las")}
END_MARKS = (".", "!", "?", " !", " ?")  # Whisper ends a single word with one (French puts a space before ! and ?)


@dataclass(frozen=True)
class Spotted:
    """A vocabulary ``entry`` found in the audio: the ``text`` Whisper scored (article and end mark
    included) and its mean log-probability per token, ``score``."""

    entry: str
    text: str
    score: float


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
        self._clip: dict = {}  # per clip, shared with for_language()'s scorers: the cross-attention keys and values
        self._spotted: dict[tuple, list[Spotted]] = {}  # spot()'s answers (the language choice and the reading share them)

    def for_language(self, language: str | None) -> "KeywordScorer":
        """The scorer of texts in ``language`` on the same clip: one per language and clip, so that
        they share the cross-attention keys and values (~0.1 s of a CPU thread each) and the spotted
        entries (the language choice spots a language before its transcript is decoded)."""
        scorers = self._clip.setdefault("scorers", {self.language: self})
        language = language if self.model.is_multilingual else "en"
        if language not in scorers:
            other = KeywordScorer(self.model, self.features, language, threads=self.threads, lock=self.lock)
            other._clip = self._clip
            scorers[language] = other
        return scorers[language]

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
        start = len(prefix) - 1  # the prediction of the first text token
        with self.lock, limit_torch_threads(self.threads), torch.no_grad():
            hidden = self._hidden([], [], tokens[:, :-1])[:, start:]
            logp = self._logits(hidden).log_softmax(-1).gather(-1, tokens[:, start + 1:, None])[..., 0]
        return [float(logp[i, :len(s) - 1 - start].mean()) for i, s in enumerate(seqs)]

    def spot(self, vocabulary: Sequence[str], n: int = SPOT_RESULTS, beam: int = SPOT_BEAM) -> list[Spotted]:
        """The ``n`` vocabulary entries the audio supports best, best first (keyword spotting).

        A beam search over texts "[article] entry [end mark]" (:class:`_VocabularyTrie`): each step
        extends the ``beam`` likeliest partial texts by the tokens that keep them on a vocabulary
        entry; a text whose entry is complete may end. Scores are mean log-probabilities per token,
        end of text included, as :meth:`score` gives them.
        """
        if not vocabulary:
            return []
        key = (len(vocabulary), hash(tuple(vocabulary)), n, beam)
        if key not in self._spotted:
            self._spotted[key] = self._spot(vocabulary, n, beam)
        return list(self._spotted[key])

    def _spot(self, vocabulary: Sequence[str], n: int, beam: int) -> list[Spotted]:
        import torch

        trie = _VocabularyTrie.get(self.tokenizer, self.language, vocabulary)
        eot = self.tokenizer.eot
        prefix = torch.tensor([self.tokenizer.sot_sequence_including_notimestamps], device=self.features.device)
        live: list[tuple[tuple[int, ...], float, int, str | None]] = [((), 0.0, 0, None)]  # tokens, sum, node, ended entry
        found: dict[str, Spotted] = {}
        with self.lock, limit_torch_threads(self.threads), torch.no_grad():
            cache: list = []  # per block: the live texts' self-attention keys and values
            logp = self._extend(cache, [0], prefix)
            for _ in range(SPOT_MAX_TOKENS):
                grown = []  # (tokens, sum, node, ended entry, parent's row)
                for i, (row, (seq, total, node, ended)) in enumerate(zip(logp, live)):
                    entry = ended or trie.entry.get(node)
                    if entry is not None:  # the text may end here
                        score = (total + float(row[eot])) / (len(seq) + 1)
                        if entry not in found or score > found[entry].score:
                            found[entry] = Spotted(entry, self.tokenizer.decode(list(seq)), score)
                    if ended is not None:
                        continue  # after the end mark only the end of text may follow
                    nexts, children = trie.next_tokens(node)
                    if len(nexts):
                        best = np.argsort(-row[nexts])[:beam]
                        grown += [(seq + (int(nexts[j]),), total + float(row[nexts[j]]), int(children[j]), None, i)
                                  for j in best]
                    if entry is not None:
                        grown += [(seq + (t,), total + float(row[t]), node, entry, i) for t in trie.end_marks]
                grown = sorted(grown, key=lambda g: -g[1])[:beam]
                if not grown:
                    break
                tokens = torch.tensor([[g[0][-1]] for g in grown], device=self.features.device)
                logp = self._extend(cache, [g[4] for g in grown], tokens)
                live = [g[:4] for g in grown]
        return sorted(found.values(), key=lambda s: -s.score)[:n]

    # --- Whisper's own decoding, on the clip's shared keys and values ------------------------------
    def detect_language(self) -> dict[str, float]:
        """Whisper's language detection: each language's probability (softmax over the language
        tokens after the start of transcript), as ``whisper.decoding.detect_language`` gives it."""
        tok = self.tokenizer
        logits = self._first_step()[0, list(tok.all_language_tokens)]
        return dict(zip(tok.all_language_codes, logits.softmax(-1).tolist()))

    def decode(self, options):
        """Greedy decoding of the clip in this scorer's language, as ``whisper.decode`` does it with
        ``options`` (temperature 0, no timestamps: its initial tokens, logit filters, sample length,
        statistics), but on the clip's keys and values computed once (~0.07 s a decode on a CPU
        thread) and without whisper's cache hooks on the shared model.

        Returns:
            A ``whisper.DecodingResult``.
        """
        import torch
        from whisper.decoding import DecodingResult, DecodingTask
        from whisper.utils import compression_ratio

        if options.temperature != 0 or not options.without_timestamps or options.beam_size or options.best_of:
            raise ValueError("KeywordScorer.decode is greedy at temperature 0, without timestamps")
        task = DecodingTask(self.model, options)  # whisper's own prompt, filters and limits
        eot, device = task.tokenizer.eot, self.features.device
        tokens = torch.tensor([task.initial_tokens], device=device)
        total = torch.zeros(1, device=device)  # float32, as whisper sums
        no_speech = float(self._first_step().softmax(-1)[0, task.tokenizer.no_speech]) \
            if task.tokenizer.no_speech is not None else float("nan")
        with self.lock, limit_torch_threads(self.threads), torch.no_grad():
            cache: list = []
            logits = self._extend(cache, [0], tokens, logits=True)
            for _ in range(task.sample_len):
                for f in task.logit_filters:
                    f.apply(logits, tokens)
                token = logits.argmax(-1)
                total += logits.log_softmax(-1)[0, token]
                tokens = torch.cat([tokens, token[:, None]], -1)
                if int(token) == eot or tokens.shape[-1] > task.n_ctx:
                    break
                logits = self._extend(cache, [0], tokens[:, -1:], logits=True)
        sampled = tokens[0, task.sample_begin:].tolist()
        sampled = sampled[:sampled.index(eot)] if eot in sampled else sampled
        text = task.tokenizer.decode(sampled).strip()
        return DecodingResult(audio_features=self.features[0], language=options.language or self.language,
                              tokens=sampled, text=text, avg_logprob=float(total) / (len(sampled) + 1),
                              no_speech_prob=no_speech, temperature=0.0, compression_ratio=compression_ratio(text))

    def _first_step(self):
        """The logits after the start-of-transcript token alone, ``(1, vocabulary)``: language detection
        and p(no speech) read them (once per clip)."""
        import torch

        if "first" not in self._clip:
            with self.lock, limit_torch_threads(self.threads), torch.no_grad():
                sot = torch.tensor([[self.tokenizer.sot]], device=self.features.device)
                self._clip["first"] = self._extend([], [0], sot, logits=True)
        return self._clip["first"]

    # --- the decoder on a batch of texts against one clip -----------------------------------------
    def _cross(self) -> list:
        """Per decoder block, the clip's cross-attention keys and values (computed once per clip)."""
        if "cross" not in self._clip:
            self._clip["cross"] = [_keys_values(b.cross_attn, self.features) for b in self.model.decoder.blocks]
        return self._clip["cross"]

    def _logits(self, hidden):
        """Next-token logits (float32) from hidden states (Whisper's tied output embedding)."""
        return (hidden @ self.model.decoder.token_embedding.weight.to(hidden.dtype).T).float()

    def _extend(self, cache: list, parents: Sequence[int], tokens, logits: bool = False):
        """Feed ``tokens`` (``(texts, new tokens)``) to the decoder, each text continuing the cached text
        at row ``parents[i]`` (incremental decoding: only the new tokens are computed); ``cache`` (per
        block: self-attention keys and values) is updated in place. Returns the next token's
        log-probabilities per text, as a numpy array (``logits``: the logits, as a tensor)."""
        out = self._logits(self._hidden(cache, parents, tokens)[:, -1])
        return out if logits else out.log_softmax(-1).cpu().numpy()

    def _hidden(self, cache: list, parents: Sequence[int], tokens):
        """The decoder's last hidden states, ``(texts, new tokens, width)``, for ``tokens`` continuing the
        cached texts as :meth:`_extend` does (an empty ``cache``: the tokens are whole texts)."""
        import torch
        import torch.nn.functional as F

        decoder = self.model.decoder
        rows = torch.as_tensor(list(parents), device=tokens.device)
        start, new = (cache[0][0].shape[2] if cache else 0), tokens.shape[1]
        x = (decoder.token_embedding(tokens) + decoder.positional_embedding[start:start + new]).to(self.features.dtype)
        # each new token sees the cached tokens and the new ones up to itself
        mask = torch.ones(new, start + new, dtype=torch.bool, device=tokens.device).tril(start)
        for i, (block, (k_cross, v_cross)) in enumerate(zip(decoder.blocks, self._cross())):
            attn, h = block.attn, block.attn_ln(x)
            q, k, v = (_heads(f(h), attn.n_head) for f in (attn.query, attn.key, attn.value))
            if cache and len(cache) > i:
                k, v = torch.cat([cache[i][0][rows], k], 2), torch.cat([cache[i][1][rows], v], 2)
                cache[i] = (k, v)
            else:
                cache.append((k, v))
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            x = x + attn.out(out.transpose(1, 2).flatten(2))
            x = x + _cross_attention(block.cross_attn, block.cross_attn_ln(x), k_cross, v_cross)
            x = x + block.mlp(block.mlp_ln(x))
        return decoder.ln(x)


def _keys_values(attention, features):
    """One clip's cross-attention keys and values, split into heads: ``(1, heads, frames, head width)``."""
    return _heads(attention.key(features), attention.n_head), _heads(attention.value(features), attention.n_head)


def _heads(x, heads: int):
    """``(texts, tokens, width)`` -> ``(texts, heads, tokens, head width)``."""
    return x.reshape(*x.shape[:2], heads, -1).transpose(1, 2)


def _cross_attention(attention, x, k, v):
    """Whisper's cross-attention for a batch of texts on one clip: the batch is folded into the query
    axis, so the clip's keys and values are shared, not copied per text."""
    import torch.nn.functional as F

    n, t, width = x.shape
    q = _heads(attention.query(x).reshape(1, n * t, width), attention.n_head)
    out = F.scaled_dot_product_attention(q, k, v)
    return attention.out(out.transpose(1, 2).reshape(n, t, width))


class _VocabularyTrie:
    """The token sequences of " [article] entry" for every vocabulary entry (as written and
    capitalised), as a trie: node 0 is the root; ``entry[node]`` is the entry a node completes.

    Whisper's tokenizer encodes each space-separated word on its own, so an article's tokens followed
    by an entry's are the tokens of both together: the entries are stored once, and an article's last
    node continues with the root's words (``link``); after an elided article ("l'") a word has no
    space, and continues from node 1, the same entries without their leading space.
    """

    _CACHE: dict[tuple, "_VocabularyTrie"] = {}
    _LOCK = threading.Lock()

    def __init__(self, tokenizer, language: str, vocabulary: Iterable[str]):
        self.children: list[dict[int, int]] = [{}, {}]
        self.entry: dict[int, str] = {}
        self.link: dict[int, int] = {}  # an article's last node -> the node whose continuations follow it
        articles = ARTICLES.get(language, ())
        elided = any(a.endswith("'") for a in articles)
        for word in vocabulary:
            for form in dict.fromkeys((word, word[:1].upper() + word[1:])):
                self.entry.setdefault(self._add(0, tokenizer.encode(f" {form}")), word)
                if elided:
                    self.entry.setdefault(self._add(1, tokenizer.encode(form)), word)
        for a in articles:
            for article in dict.fromkeys((a, a[:1].upper() + a[1:])):
                self.link[self._add(0, tokenizer.encode(f" {article}"))] = 1 if article.endswith("'") else 0
        self.end_marks = tuple(t[0] for t in (tokenizer.encode(m) for m in END_MARKS) if len(t) == 1)
        self._arrays: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _add(self, node: int, tokens: Sequence[int]) -> int:
        """The node ``tokens`` lead to from ``node``, made where missing."""
        for t in tokens:
            node = self._child(node, t)
        return node

    def _child(self, node: int, token: int) -> int:
        nxt = self.children[node].get(token)
        if nxt is None:
            nxt = self.children[node][token] = len(self.children)
            self.children.append({})
        return nxt

    def next_tokens(self, node: int) -> tuple[np.ndarray, np.ndarray]:
        """The tokens that continue ``node`` and the nodes they lead to (as arrays)."""
        if node not in self._arrays:
            kids = self.children[node]
            if node in self.link:  # after an article: its own continuations, and a word
                kids = {**self.children[self.link[node]], **kids}
            self._arrays[node] = (np.fromiter(kids.keys(), np.int64, len(kids)),
                                  np.fromiter(kids.values(), np.int64, len(kids)))
        return self._arrays[node]

    @classmethod
    def get(cls, tokenizer, language: str, vocabulary: Sequence[str]) -> "_VocabularyTrie":
        """The trie for a tokenizer's language and a vocabulary, built once per process."""
        key = (tokenizer.encoding.name, language, len(vocabulary), hash(tuple(vocabulary)))
        with cls._LOCK:
            if key not in cls._CACHE:
                cls._CACHE[key] = cls(tokenizer, language, vocabulary)
            return cls._CACHE[key]


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
