"""Reading a cue's text before matching: cleaning, splitting into phrases (negations included), and
telling a description by use or an object in its scene from a plain name. Pure functions, no models."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Sequence

MAX_CUE_CHARS = 300  # longer cues are cut (a note says so)

# Words that ask for something rather than name it, dropped from the front/back of each phrase.
_REQUEST = re.compile(
    r"^(?:(?:please|hey|ok(?:ay)?|so|now|and|or|then|also|just|can you|could you|would you|will you|"
    r"i want to see|i want|i'd like to see|i would like to see|i'd like|i would like|i'm looking for|"
    r"i am looking for|i need|i see|we need|let me see|let's see|let us see|"
    r"show me|show us|show|find me|find|look for|look at|looking for|search for|search|spot|detect|"
    r"highlight|focus on|attend to|pay attention to|point to|point at|point out|give me|get me|"
    r"where is|where's|where are|is there|are there|is this|is that|is it|what about|how about|"
    r"there is|there are|there's|here is|here are|here's|it's|it is|this is|that is|these are|see|locate|identify|select|pick|"
    r"the|a|an|some|any|my|your|our|this|that|these|those|one|two|three|several|many|all the|all|"
    r"picture of|photo of|image of|pictures of|photos of|images of|kind of|sort of|type of)\s+)+")
_TRAILING = re.compile(
    r"(?:\s+(?:please|here|there|now|in (?:the|this|that|my) (?:picture|photo|image|scene)|"
    r"in the (?:background|foreground)|thanks|thank you|for me))+$")
_NEGATION = re.compile(
    r"^(?:not|no|non|never|nothing like|without|except|excluding|exclude|ignore|avoid|hide|"
    r"don't show(?: me)?|do not show(?: me)?|dont show(?: me)?|don't want|do not want|no more|"
    r"other than|rather than|instead of|but not|anything but|everything but|all but)\b\s*")
_ANYTHING_BUT = re.compile(r"\b(?:anything|everything|all|any)\s+(?:but|except|other than)\b")
# Split points: (regex, whether the phrase after it starts negated, whether it resets negation).
_SPLIT = re.compile(r"\s*(?:[,;/+&|]+|\.\s|\b(?:or|and|nor|plus|as well as|along with|"
                    r"but not|but|except for|except|excluding|other than|rather than|instead of|"
                    r"without)\b)\s*")
_NEGATING_SPLITS = {"but not", "except for", "except", "excluding", "other than", "rather than",
                    "instead of", "without", "nor"}
WORD_PATTERN = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")


# --- text cleaning -------------------------------------------------------------------------------
def clean_text(text: object) -> tuple[str, list[str]]:
    """Make any input a short, printable, lower-risk string; returns ``(text, notes)``.

    Bytes are decoded as UTF-8 (undecodable bytes dropped); control and format characters are
    removed; emoji and other symbols become their Unicode names ("🐶" -> "dog"); whitespace is
    collapsed; the result is cut at :data:`MAX_CUE_CHARS`.
    """
    notes: list[str] = []
    if text is None:
        return "", notes
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = bytes(text).decode("utf-8", errors="ignore")
    elif not isinstance(text, str):
        text = str(text)
    if len(text) > 20 * MAX_CUE_CHARS:  # don't normalise megabytes
        text = text[: 20 * MAX_CUE_CHARS]
    text = unicodedata.normalize("NFKC", text)
    out: list[str] = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat in ("So", "Sk") and ord(ch) > 0x2000:  # emoji and pictographs: use their name
            name = unicodedata.name(ch, "").lower()
            name = re.sub(r"\b(?:face|emoji|symbol|sign|with|black|white|heavy|medium|large|small)\b", " ", name)
            out.append(f" {name.strip()} " if name.strip() else " ")
        elif cat.startswith("C") or cat in ("Zl", "Zp"):
            out.append(" " if ch in "\t\n\r\x0b\x0c" else "")
        else:
            out.append(ch)
    text = " ".join("".join(out).split())
    if len(text) > MAX_CUE_CHARS:
        cut = text[:MAX_CUE_CHARS].rsplit(" ", 1)[0] or text[:MAX_CUE_CHARS]
        notes.append(f"cue cut to its first {len(cut)} of {len(text)} characters")
        text = cut
    return text, notes


def split_phrases(text: str) -> list[tuple[str, bool]]:
    """Split a cleaned cue into ``(phrase, negated)`` pairs (request words removed).

    Examples:
        >>> split_phrases("show me a cat or a dog")
        [('cat', False), ('dog', False)]
        >>> split_phrases("a cat but not a lion")
        [('cat', False), ('lion', True)]
    """
    low = text.casefold().replace("’", "'")
    low = _ANYTHING_BUT.sub(" not ", low)
    low = re.sub(r"[!?\"()\[\]{}<>:*_~`^=#@$%]", " ", low)
    low = re.sub(r"\.(?=\s|$)", " . ", low)
    pieces: list[tuple[str, str | None]] = []  # (phrase, separator before it)
    pos, sep = 0, None
    for m in _SPLIT.finditer(low):
        pieces.append((low[pos:m.start()], sep))
        sep = m.group(0).strip().strip(".").strip()
        pos = m.end()
    pieces.append((low[pos:], sep))
    out: list[tuple[str, bool]] = []
    negated = False
    for raw, sep in pieces:
        if sep is not None:
            if sep in _NEGATING_SPLITS:
                negated = True
            elif sep == "but":
                negated = False
        phrase = " ".join(raw.replace(".", " ").split())
        phrase = _REQUEST.sub("", phrase + " ").strip()
        if (m := _NEGATION.match(phrase)) is not None:
            negated = True
            phrase = _REQUEST.sub("", phrase[m.end():] + " ").strip()
        phrase = _TRAILING.sub("", phrase).strip(" -'")
        if phrase and any(c.isalnum() for c in phrase):
            out.append((phrase, negated))
    return out


# --- descriptions by use and objects in scenes --------------------------------------------------
_PURPOSE = re.compile(
    r"^(?P<subj>something|some thing|thing|things|anything|object|objects|tool|tools|device|machine|container|"
    r"item|somewhere|place|stuff|what you use|what i use|what we use|what people use)\s+"
    r"(?:(?:you|i|we|people|one)\s+(?:can\s+|could\s+)?(?:use\s+)?|used\s+|that\s+you\s+use\s+)?"
    r"(?:to|for)\s+(?P<verb>[a-z][a-z'-]*)(?P<rest>(?:\s+[a-z0-9'-]+)*)$")
_PARTICLES = frozenset(
    "in into on onto with from at off up down out around about across away for to after before when while "
    "through over under inside along by".split())
_LOCATIVE = re.compile(
    r"\s(?:on top of|in front of|next to|close to|on|in|at|under|underneath|beneath|by|beside|near|inside|"
    r"behind|against|above|below|among|outside|into|onto|across|along|through|over)\s")
_NOT_A_HEAD = frozenset("that which who whose to is are was were does do can will with for".split())
_PARTICIPLE = re.compile(r"^(?:[a-z]+ing|parked|sat|lain|left|hung|perched|placed|seen|kept|stuck|tied)$")
_FILLER = frozenset(
    "a an the some any my your his her its our their you yourself myself me us him them it things thing "
    "stuff someone somebody people".split())


@dataclass(frozen=True)
class PhraseParts:
    """How one phrase of a cue is read before matching.

    Attributes:
        kind: ``"scene"`` (an object in its place: "a cat on its sofa"), ``"use"`` (a description by
            use: "something to drink coffee from") or ``"plain"``.
        head: the words that name the object ("cat"; the whole phrase for the other kinds).
        place: the place of a scene ("sofa"), else None.
        frame: a use description without its verb's object ("something to drink from"); None when
            the verb has no object ("something to wear on your head").
        mentioned: things a use description mentions but does not ask for ("coffee").
    """

    kind: str
    head: str
    place: str | None = None
    frame: str | None = None
    mentioned: tuple[str, ...] = ()


def _content(words: Sequence[str]) -> str:
    return " ".join(w for w in words if w not in _FILLER)


def parse_phrase(phrase: str) -> PhraseParts:
    """Read a phrase as a description by use, an object in a scene, or a plain name.

    Examples:
        >>> parse_phrase("something to drink coffee from")
        PhraseParts(kind='use', head='something to drink coffee from', place=None, frame='something to drink from', mentioned=('coffee',))
        >>> parse_phrase("something to wear on your head").mentioned
        ('head',)
        >>> parse_phrase("cat on its sofa")
        PhraseParts(kind='scene', head='cat', place='sofa', frame=None, mentioned=())
    """
    m = _PURPOSE.match(phrase)
    if m:
        rest = m.group("rest").split()
        chunks: list[list[str]] = [[]]
        for w in rest:
            if w in _PARTICLES:
                chunks.append([])
            else:
                chunks[-1].append(w)
        mentioned = tuple(c for c in (_content(ch) for ch in chunks) if c)
        if not mentioned:
            return PhraseParts("plain", phrase)
        obj = len(chunks[0])  # the verb's direct object ("coffee" in "drink coffee from")
        frame = " ".join([m.group("subj"), "to", m.group("verb")] + rest[obj:]) if _content(chunks[0]) else None
        return PhraseParts("use", phrase, frame=frame, mentioned=mentioned)
    m = _LOCATIVE.search(f" {phrase} ")
    if m and m.start() > 0:
        head = phrase[: m.start()].split()
        while head and _PARTICIPLE.match(head[-1]):  # "bicycle leaning against a wall"
            head.pop()
        place = _content(phrase[m.end() - 1:].split())
        if head and place and len(head) <= 4 and not (_NOT_A_HEAD & set(head)):
            return PhraseParts("scene", " ".join(head), place=place)
    return PhraseParts("plain", phrase)


def singular_forms(word: str) -> list[str]:
    """Plausible singular forms of an English word (cheap rules)."""
    forms = []
    if word.endswith("ies") and len(word) > 4:
        forms.append(word[:-3] + "y")
    if word.endswith("ves") and len(word) > 4:
        forms += [word[:-3] + "f", word[:-3] + "fe"]
    if word.endswith(("ses", "xes", "ches", "shes", "zes", "oes")):
        forms.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        forms.append(word[:-1])
    irregular = {"mice": "mouse", "geese": "goose", "oxen": "ox", "people": "person", "teeth": "tooth",
                 "feet": "foot", "children": "child", "men": "man", "women": "woman", "wolves": "wolf",
                 "knives": "knife", "leaves": "leaf", "fish": "fish", "sheep": "sheep", "deer": "deer"}
    if word in irregular:
        forms.append(irregular[word])
    return forms


def text_key(text: str) -> str:
    """Lower-case words of ``text`` joined by single spaces (the form names are compared in)."""
    return " ".join(WORD_PATTERN.findall(text.casefold().replace("_", " ")))
