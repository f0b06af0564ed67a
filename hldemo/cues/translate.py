"""German, French and Spanish cues, read word by word into English with FreeDict/Apertium word lists.

The word lists (``hierarchies/lexicon/freedict/<lang>.tsv``, ``word<TAB>english|english...``) are
derived from Debian's FreeDict dictionaries (French and Spanish nouns they lack: Apertium's) by
``scripts/make_cue_lexicon.py`` and hold only the
foreign words whose translations name something in the hierarchies or are words cues are built
from ("zeig mir die Katze" -> "show me the cat"). Licences: ``hierarchies/lexicon/freedict/README.md``.

A cue is read as a foreign language when more of its words are listed for that language (and are
not English too) than are English (the hierarchy's names and the matcher's grammar words): "der
Hund", "le chat", "la comida", but not "a list" (or as many, when every word is listed: "un
papillon" is a butterfly, "papillon" alone the dog breed). When the language is known (a spoken
cue's), a listed word counts even when it is English too: German "Hut" is a hat, not a hut. Then the
longest listed run of words becomes its first translation ("lunettes de soleil", "il y a": the
lists' function words read as English the matcher drops, "there is"), trying simple inflections
(plurals "Vögel", "chevaux", "pájaros"; imperatives "zeig", "montre-moi", "muéstrame"). Foreign words
without a translation are dropped and reported: a cue is never matched on the spelling of a word the
lists do not know; words listed as naming nothing (:data:`NOTHING`: parts of the body, "une
oreille") are dropped and reported too.

Example:
    >>> tr = load_translator()                        # doctest: +SKIP
    >>> tr.translate("zeig mir die Katze", english={"cat"}).text   # doctest: +SKIP
    'show me the cat'
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from ..errors import HierarchyError
from ..utils import HIERARCHY_DIR

WORD_LISTS = HIERARCHY_DIR / "lexicon" / "freedict"
LANGUAGES = {"de": "German", "fr": "French", "es": "Spanish"}  # checked in this order on ties
# inflections tried when a word itself is not listed: (suffix to strip, ending to add)
_INFLECTIONS = {
    "de": (("", ""), ("n", ""), ("en", ""), ("e", ""), ("er", ""), ("s", ""), ("nen", ""), ("", "en"),
           ("", "n"), ("e", "en")),
    "fr": (("", ""), ("s", ""), ("x", ""), ("aux", "al"), ("", "r"), ("", "er"), ("e", "er")),
    "es": (("", ""), ("s", ""), ("es", ""), ("", "r")),
}
MEMO_SIZE = 65536  # words whose lookups are remembered
MIN_INFLECTED = 4  # shorter words are looked up as they are ("a" is not German "an")
NOTHING = "-"  # a listed word's translation when it names nothing a cue selects ("oreille": an ear)
_UMLAUT = str.maketrans("äöü", "aou")
_CLITICS = {"fr": ("moi", "toi", "nous", "vous", "le", "la", "les", "lui", "leur"),
            "es": ("me", "nos", "lo", "la", "los", "las", "le", "les")}
_CLITIC = re.compile(rf"^(?P<verb>[^\W\d_]+?)(?:-(?P<fr>{'|'.join(_CLITICS['fr'])})|"
                     rf"(?P<es>{'|'.join(_CLITICS['es'])}))$")
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?(?:-[^\W\d_]+)*|\d+|[^\w\s]")


def _plain(word: str) -> str:
    """Without accents ("pájaro" -> "pajaro")."""
    return "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")


@dataclass
class Translation:
    """A cue read as another language.

    Attributes:
        language: language code ("de", "fr", "es").
        text: the English reading ("show me the cat").
        words: ``(foreign word, English)`` for each word translated.
        unknown: foreign words without a translation (dropped).
        nothing: foreign words the lists know to name nothing (dropped: "oreille").
    """

    language: str
    text: str
    words: list[tuple[str, str]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    nothing: list[str] = field(default_factory=list)

    @property
    def language_name(self) -> str:
        """The language's English name."""
        return LANGUAGES.get(self.language, self.language)

    def note(self) -> str:
        """One line for the user: what was read as what."""
        pairs = ", ".join(f"'{f}' = '{e}'" for f, e in self.words)
        out = f"read as {self.language_name}: {pairs}" if pairs else f"read as {self.language_name}"
        if self.unknown:
            out += "; not in the word list: " + ", ".join(repr(w) for w in self.unknown)
        if self.nothing:
            out += "; names no category: " + ", ".join(repr(w) for w in self.nothing)
        return out


class Translator:
    """Word-by-word reading of German, French and Spanish cues (see the module docstring).

    Args:
        lists: language code -> {foreign word: English translations, best first}.
    """

    def __init__(self, lists: dict[str, dict[str, tuple[str, ...]]]):
        self.lists = lists
        # the most words a listed entry has, per language ("il y a": 3)
        self._span = {lang: max((w.count(" ") + 1 for w in words), default=1) for lang, words in lists.items()}
        self._plain = {lang: {_plain(w): t for w, t in words.items()} for lang, words in lists.items()}
        self._memo: dict[tuple[str, str], tuple[str, ...]] = {}  # (lang, word) -> lookup's answer

    def lookup(self, lang: str, word: str) -> tuple[str, ...]:
        """English translations of one (lower-case) word, trying its inflections; () if unknown or if
        it names nothing (see :meth:`names_nothing`)."""
        found = self._find(lang, word)
        return () if found == (NOTHING,) else found

    def names_nothing(self, lang: str, word: str) -> bool:
        """True when the lists know ``word`` as a word that names nothing a cue selects ("oreille")."""
        return self._find(lang, word) == (NOTHING,)

    def _find(self, lang: str, word: str) -> tuple[str, ...]:
        key = (lang, word)
        if key not in self._memo:
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = self._lookup(lang, word)
        return self._memo[key]

    def _lookup(self, lang: str, word: str) -> tuple[str, ...]:
        words, plain = self.lists.get(lang, {}), self._plain.get(lang, {})
        m = _CLITIC.match(word) if lang in ("fr", "es") else None
        forms = [word]
        if m and (m.group("fr") if lang == "fr" else m.group("es")):  # "montre-moi", "muéstrame"
            verb = _plain(m.group("verb"))
            verbs = [verb + "r", verb + "er", verb.replace("ue", "o") + "r", verb.replace("ie", "e") + "r"]
            # French "montre-moi" is a verb ("montre" alone: a watch); Spanish "silla" is not "sil-la"
            forms = verbs + forms if lang == "fr" else forms + verbs
        elif "-" in word:
            forms.append(word.replace("-", " "))
        for form in forms:
            for strip, add in _INFLECTIONS.get(lang, (("", ""),)):
                if (strip or add) and len(form) < MIN_INFLECTED:
                    break
                if strip and not form.endswith(strip):
                    continue
                stem = (form[: -len(strip)] if strip else form) + add
                for table, key in ((words, stem), (words, stem.translate(_UMLAUT)), (plain, _plain(stem))):
                    if key in table:
                        return table[key]
        return ()

    def translate(self, text: str, english: Callable[[str], bool] | Iterable[str],
                  languages: Iterable[str] = tuple(LANGUAGES)) -> Translation | None:
        """Read ``text`` as German, French or Spanish, or None when it reads as English.

        Args:
            text: the cleaned cue.
            english: a predicate (or a set) telling whether a lower-case word is English the matcher
                knows (a hierarchy name or a grammar word).
            languages: the languages it may be read as; exactly one means the text is in that
                language (a spoken cue's: the one Whisper heard), so its listed words that are
                English too count as that language ("Hut": a hat).
        """
        known = english if callable(english) else set(english).__contains__
        tokens = _TOKEN.findall(text.casefold().replace("’", "'"))
        words = [t for t in tokens if t[0].isalpha()]
        if not words:
            return None
        is_english = [bool(known(w)) for w in words]
        n_english = sum(is_english)
        best, best_hits = None, 0
        languages = [x for x in LANGUAGES if x in set(languages)]
        for lang in languages:  # evidence: listed words that are not also English ("a", "train")
            # listed: an English word counts only when its translation differs ("papillon", not "a"); a
            # word listed as naming nothing counts too ("Auge" is German, not a misspelt "gauge")
            listed = [(bool(tr) and (not en or w not in tr)) or (not en and self.names_nothing(lang, w))
                      for w, en in zip(words, is_english) for tr in [self.lookup(lang, w)]]
            hits = sum(x for x, en in zip(listed, is_english) if not en or len(languages) == 1)
            # more foreign words than English ones, or as many and every word is listed ("un papillon":
            # a butterfly, not the Papillon dog breed)
            if hits > best_hits and (hits > n_english or all(listed)):
                best, best_hits = lang, hits
        if best is None:
            return None
        out, pairs, unknown, nothing = [], [], [], []
        i = 0
        while i < len(tokens):
            t = tokens[i]
            if not t[0].isalpha():
                out.append(t)
                i += 1
                continue
            span = self._longest_entry(best, tokens, i)  # "lunettes de soleil", "il y a", "c'est"
            if span:
                key = " ".join(tokens[i:i + span])
                tr = self.lookup(best, key)
                out.append(tr[0])
                pairs.append((key, tr[0]))
                i += span
                continue
            parts = [p for p in re.split(r"'", t) if p] if "'" in t else [t]  # "l'oiseau"
            for p in parts:
                tr = self.lookup(best, p)
                if tr:
                    out.append(tr[0])
                    pairs.append((p, tr[0]))
                elif self.names_nothing(best, p):
                    nothing.append(p)
                elif known(p):
                    out.append(p)
                elif len(p) > 2:  # elided articles ("l", "d") are dropped silently
                    unknown.append(p)
            i += 1
        return Translation(best, " ".join(out), pairs, unknown, nothing)

    def _longest_entry(self, lang: str, tokens: list[str], i: int) -> int:
        """How many words from ``tokens[i]`` on form the longest listed entry of several words (or one
        word with an apostrophe, "c'est"); 0 if none."""
        for n in range(min(self._span.get(lang, 1), len(tokens) - i), 0, -1):
            run = tokens[i:i + n]
            if not all(w[0].isalpha() for w in run) or (n == 1 and "'" not in run[0]):
                continue
            if self.lookup(lang, " ".join(run)):
                return n
        return 0


def load_word_lists(folder: str | Path = WORD_LISTS) -> dict[str, dict[str, tuple[str, ...]]]:
    """The FreeDict/Apertium-derived word lists: language code -> {word: English translations}.

    Raises:
        HierarchyError: a list is missing or malformed.
    """
    lists = {}
    for lang in LANGUAGES:
        path = Path(folder) / f"{lang}.tsv"
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise HierarchyError(f"cannot read the {LANGUAGES[lang]} cue word list {path}: {e} "
                                 "(python scripts/make_cue_lexicon.py makes it)") from e
        table = {}
        for i, line in enumerate(lines, 1):
            if not line.strip():
                continue
            word, sep, english = line.partition("\t")
            if not sep or not english.strip():
                raise HierarchyError(f"{path}:{i}: expected 'word<TAB>english|english...'")
            table[word] = tuple(english.split("|"))
        lists[lang] = table
    return lists


_TRANSLATORS: dict[str, Translator] = {}
_LOCK = threading.Lock()


def load_translator(folder: str | Path = WORD_LISTS) -> Translator:
    """A :class:`Translator` over the word lists in ``folder``, loaded once per process."""
    key = str(Path(folder).resolve())
    with _LOCK:
        if key not in _TRANSLATORS:
            _TRANSLATORS[key] = Translator(load_word_lists(folder))
        return _TRANSLATORS[key]
