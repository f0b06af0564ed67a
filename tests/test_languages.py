"""German, French and Spanish cues (issue 12): typed through the FreeDict word lists
(hldemo.cues.translate), with the real embedder; no mocks.

The table (tests/tables/languages.tsv) was written before it was first run; measured misses carry a
note there and are expected failures here.
"""

from pathlib import Path

import pytest

from hldemo.cues.matcher import is_right, load_cue_table, run_cue_table
from hldemo.cues.translate import LANGUAGES, load_translator, load_word_lists
from hldemo.errors import HierarchyError

TABLES = Path(__file__).resolve().parent / "tables"
LANGUAGE_CUES = load_cue_table(TABLES / "languages.tsv")
MIN_RATE = 0.90


def _params(cases, how):
    return [pytest.param(c, id=f"{c.kind}:{c.cue}",
                         marks=[pytest.mark.xfail(reason=c.note, strict=True)] if how in c.note else [])
            for c in cases]


def test_language_table_is_big_enough():
    assert len(LANGUAGE_CUES) >= 30 and {c.kind for c in LANGUAGE_CUES} == set(LANGUAGES)


def test_typed_language_rate(cue_matcher):
    report = run_cue_table(cue_matcher, LANGUAGE_CUES)
    print(f"typed non-English cues: {report['right']}/{report['n']} = {report['rate']:.1%} {report['by_kind']}")
    assert report["rate"] >= MIN_RATE, [r for r in report["rows"] if not r["right"]]


@pytest.mark.parametrize("case", _params(LANGUAGE_CUES, "typed"))
def test_typed_language_table(cue_matcher, case):
    r = cue_matcher.match(case.cue)
    assert is_right(cue_matcher, r, case.accepted), (r.translation, r.summary())
    if r.language != "en":  # "des fruits" reads as English well enough
        assert r.language == case.kind and r.translation, r.to_dict()
        assert any(n.startswith(f"read as {LANGUAGES[case.kind]}") for n in r.notes)


@pytest.mark.parametrize("text", ["show me the cat", "a cat", "the train", "pizza", "a dog or a horse",
                                  "something to drink from", "a list", "papillon"])
def test_english_cues_stay_english(cue_matcher, text):
    r = cue_matcher.match(text)
    assert r.language == "en" and r.translation is None


def test_a_foreign_word_the_lists_do_not_know_is_not_guessed(cue_matcher):
    """'unicornio' is Spanish (after 'el') but in no word list: no category is picked by spelling."""
    r = cue_matcher.match("el unicornio")
    assert not r.understood and r.categories == [] and r.language == "es"
    assert "unicornio" in r.unmatched and "full model" in r.message
    assert any("not in the word list" in n for n in r.notes)


def test_inflections_and_clitics():
    tr = load_translator()
    assert tr.lookup("de", "vogel")[0] == "bird" and tr.lookup("de", "vögel")[0].startswith("bird")
    assert tr.lookup("de", "pferde")[0].startswith("horse") and tr.lookup("fr", "oiseaux")[0] == "bird"
    assert tr.lookup("fr", "chevaux")[0] == "horse"
    assert tr.lookup("fr", "montre-moi")[0] == "show"  # the verb, not "montre" (a watch)
    assert tr.lookup("es", "muéstrame")[0] == "show"
    assert tr.lookup("es", "pajaro") == tr.lookup("es", "pájaro")  # accents may be left out
    assert tr.lookup("de", "ei") == () and tr.lookup("de", "eier")  # short words are not inflected


def test_negation_and_several_objects_in_another_language(cue_matcher):
    r = cue_matcher.match("un gato o un perro")
    assert sorted(r.node_ids) == ["dog", "domestic_cat"] and r.language == "es"
    r = cue_matcher.match("die Katze, nicht der Hund")
    assert r.node_ids == ["domestic_cat"] and [m.node for m in r.inhibited] == ["dog"]


def test_word_lists_state_their_licence_and_load_cleanly(tmp_path):
    readme = (Path(__file__).resolve().parent.parent / "hierarchies" / "lexicon" / "freedict" / "README.md").read_text()
    assert "GPL" in readme and "make_cue_lexicon.py" in readme
    lists = load_word_lists()
    assert set(lists) == set(LANGUAGES) and all(len(words) > 500 for words in lists.values())
    (tmp_path / "de.tsv").write_text("katze\n")
    with pytest.raises(HierarchyError, match="expected 'word<TAB>english"):
        load_word_lists(tmp_path)
    with pytest.raises(HierarchyError, match="make_cue_lexicon.py"):
        load_word_lists(tmp_path / "missing")


# --- spoken: espeak-ng voices of those languages, Whisper tiny.en then base -----------------------
import shutil  # noqa: E402
import subprocess  # noqa: E402

from hldemo.cues.speech import Vocabulary, transcribe_languages  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ESPEAK = shutil.which("espeak-ng")
# scripts/eval_spoken_cues.py measures the whole table: 12/48 = 25.0 % right, 4/48 wrong selections
# (before the vocabulary-held decoding: 8/48 right, 5 wrong), far below the 90 % aimed at: Whisper base
# believes other texts more than espeak-ng's French. The test speaks every other row (8 per language,
# ~2 min: each clip costs ~4 s on one core): measured 6/24 right, 3/24 wrong there with the torch sinc
# resampler; 5/24 right, 3 wrong since recordings are resampled with scipy's resample_poly (issue 18: Whisper
# base hears "Obst und Gemüse" as "Oh, spoons." after a resampling difference of ~1e-3; the YAMNet gate in
# front of Whisper loses none of the 24). One clip of slack each for CPU float differences between machines.
SPOKEN_CUES = LANGUAGE_CUES[::2]
SPOKEN_FLOOR = 4 / 24
SPOKEN_MAX_WRONG = 4


def _speak(case, path):
    subprocess.run([ESPEAK, "-v", case.kind, "-s", "130", "-w", str(path), case.cue], check=True,
                   capture_output=True, timeout=60)
    return path


@pytest.fixture(scope="module")
def spoken_table(cue_matcher, whisper_tiny, whisper_base, tmp_path_factory):
    """Every other cue of languages.tsv spoken by espeak-ng and matched once: (case, result) pairs."""
    if ESPEAK is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    folder = tmp_path_factory.mktemp("spoken")
    # through the demo's one audio input: YAMNet must pass each clip on to Whisper as speech
    return [(case, cue_matcher.match_audio(_speak(case, folder / f"{i}.wav"), whisper_tiny,
                                           multilingual=whisper_base))
            for i, case in enumerate(SPOKEN_CUES)]


def test_spoken_german_example_clip(cue_matcher, whisper_tiny, whisper_base):
    """The demo's non-English example: tiny.en understands nothing, base hears German."""
    r = cue_matcher.match_audio(ROOT / "examples" / "speech" / "die_katze.wav", whisper_tiny,
                                multilingual=whisper_base)
    assert r.node_ids == ["domestic_cat"] and r.language == "de" and r.translation
    assert r.speech.language == "de" and r.speech.understood and "katze" in r.transcript.lower()


def test_english_speech_stays_with_tiny_en(cue_matcher, whisper_tiny, whisper_base):
    r = cue_matcher.match_audio(ROOT / "examples" / "speech" / "show_me_the_cat.wav", whisper_tiny,
                                multilingual=whisper_base)
    assert r.node_ids == ["domestic_cat"] and r.speech.language == "en"
    assert r.speech.language_probability is None  # tiny.en answered: base never ran


def test_spoken_language_table(cue_matcher, spoken_table):
    rows = [(c.kind, c.cue, r.transcript, r.node_ids, is_right(cue_matcher, r, c.accepted)) for c, r in spoken_table]
    right = sum(row[-1] for row in rows)
    wrong = sum(bool(row[3]) and not row[-1] for row in rows)  # a wrong selection is worse than none
    print(f"spoken non-English cues: {right}/{len(rows)} = {right / len(rows):.1%}, {wrong} wrong selections")
    for row in rows:
        print(("ok  " if row[-1] else "MISS"), *row[:-1])
    assert right / len(rows) >= SPOKEN_FLOOR and wrong <= SPOKEN_MAX_WRONG


def test_spoken_cues_read_as_their_language(cue_matcher, spoken_table):
    """A right spoken cue was heard by base in its own language (not by tiny.en, not guessed); its
    text may read as English too ("Das Auto.")."""
    for case, r in spoken_table:
        if is_right(cue_matcher, r, case.accepted):
            assert r.speech.language == case.kind and r.language in (case.kind, "en"), (case, r.transcript)
            assert r.speech.language_probability is not None and any("vocabulary" in n for n in r.speech.notes)


def test_vocabulary_allows_only_its_words():
    v = Vocabulary(["zeig", "mir", "das", "pferd", "vogel", "l", "avion", "muestrame", "el", "caballo"])
    assert v.allows(" Zeig mir das Pferd.", complete=True) and v.allows("Vögel!", complete=True)
    assert v.allows("l'avion", complete=True) and v.allows("¡Muéstrame el caballo!", complete=True)
    assert v.allows(" Zeig mir das Pf") and not v.allows(" Zeig mir das Pf", complete=True)
    assert not v.allows("Ciao !") and not v.allows("Zeig mich") and not v.allows("", complete=True)
    assert not v.allows("Pferd\u0bcd\u0b82")  # only Latin accents are ignored, not any combining mark
    assert v.allows(" ¡") and not v.allows(" ....")  # no text of punctuation alone


def test_spoken_forms_cover_what_the_translator_reads():
    tr = load_translator()
    for lang, words in {"de": ["katze", "vögel", "pferde", "zeig"], "fr": ["oiseaux", "chevaux", "montre", "moi", "l"],
                        "es": ["pájaros", "muéstrame", "caballos"]}.items():
        vocabulary = Vocabulary(tr.spoken_forms(lang))
        for word in words:
            assert vocabulary.allows(word, complete=True), (lang, word)
            assert tr.lookup(lang, word) or word in ("l",), (lang, word)


def test_constrained_decoding_spells_vocabulary_words(whisper_base):
    """Decoding held to a vocabulary spells its words, scored by the model without the constraint
    (a forced text must not look confident)."""
    vocabulary = Vocabulary(["die", "der", "katze", "hund"])
    held = next(transcribe_languages(whisper_base, ROOT / "examples" / "speech" / "die_katze.wav",
                                     language="de", vocabularies={"de": vocabulary}))
    assert vocabulary.allows(held.raw_text, complete=True) and "katze" in held.raw_text.lower()
    assert any("vocabulary" in n for n in held.notes) and held.understood
    english = next(transcribe_languages(whisper_base, ROOT / "examples" / "speech" / "show_me_the_cat.wav",
                                        language="de", vocabularies={"de": vocabulary}))
    assert not english.understood  # "show me the cat" held to four German words: nothing usable
