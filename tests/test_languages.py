"""German, French and Spanish cues (issue 12): typed through the FreeDict/Apertium word lists
(hldemo.cues.translate), with the real embedder; no mocks.

The table (tests/tables/languages.tsv) was written before it was first run; measured misses carry a
note there and are expected failures here.
"""

import math
from pathlib import Path

import numpy as np
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



@pytest.mark.parametrize("cue,language,accepted", [
    ("Il y a une fleur ?", "fr", "flowers"), ("des oiseaux", "fr", "birds"), ("C'est un chat.", "fr", "domestic_cat"),
    ("Voici un chien", "fr", "dog"), ("Es gibt einen Hund", "de", "dog"), ("Das ist eine Katze", "de", "domestic_cat"),
    ("Hay un perro", "es", "dog"), ("Es un gato", "es", "domestic_cat"), ("unos pájaros", "es", "birds")])
def test_function_words_read_as_the_english_the_matcher_drops(cue_matcher, cue, language, accepted):
    """Articles and sentence frames ("des", "il y a", "es gibt", "hay") are no content words ("des" was
    "from"): a short sentence matches like its English counterpart, typed or with its language known."""
    for lang in (None, language):
        r = cue_matcher.match(cue, transcript=cue if lang else None, repair=lang is None, language=lang)
        assert r.language == language and is_right(cue_matcher, r, (accepted,)), (r.translation, r.summary())
        assert not r.unmatched and "from" not in r.translation.split(), r.to_dict()


@pytest.mark.parametrize("cue,language", [("boy", "en"), ("girl", "en"), ("a child", "en"), ("Junge", "de"),
                                          ("Mädchen", "de"), ("un garçon.", "fr"), ("Une fille ?", "fr")])
def test_words_for_people_reach_people(cue_matcher, cue, language):
    """'Junge' is a boy, not a pup (-> dog): the word lists follow the hierarchy's names for people."""
    r = cue_matcher.match(cue, transcript=cue, repair=False, language=language)
    assert r.node_ids == ["people"], r.summary()


def test_a_known_language_chooses_the_sense(cue_matcher):
    """German 'Hut' is a hat when the language is known (a spoken cue's), typed alone it stays a hut."""
    assert cue_matcher.match("Hut", transcript="Hut", repair=False, language="de").node_ids == ["hats"]
    assert cue_matcher.match("Rock", transcript="Rock", repair=False, language="de").node_ids == ["dresses_and_robes"]
    assert cue_matcher.match("Hut").language == "en"


@pytest.mark.parametrize("cue,language", [("une bouche", "fr"), ("une oreille", "fr"), ("das Ohr", "de"),
                                          ("der Mund", "de"), ("Auge", "de")])
def test_body_parts_name_nothing(cue_matcher, cue, language):
    """A part of the body names no category ('une oreille' is no ear of corn, 'une bouche' not 'boucher',
    to clog): the word lists mark such words, typed or spoken they match nothing and say so."""
    for lang in (None, language):
        r = cue_matcher.match(cue, transcript=cue if lang else None, repair=lang is None, language=lang)
        assert not r.understood and r.categories == [] and r.language == language, r.summary()
        assert any("names no category" in n for n in r.notes), r.notes

@pytest.mark.parametrize("cue,language,accepted", [
    ("un brocoli", "fr", "n07714990"), ("une arche", "fr", "monuments"), ("la palissade", "fr", "fences_and_doors"),
    ("una valla", "es", "fences_and_doors"), ("la bufanda", "es", "ties_scarves_gloves"),
    ("un taburete", "es", "seats")])
def test_nouns_freedict_lacks_come_from_apertium(cue_matcher, cue, language, accepted):
    """French and Spanish nouns FreeDict lacks ("brocoli", "valla") are read through the Apertium pairs
    of the word lists, typed or with the language known."""
    for lang in (None, language):
        r = cue_matcher.match(cue, transcript=cue if lang else None, repair=lang is None, language=lang)
        assert r.language == language and is_right(cue_matcher, r, (accepted,)), (r.translation, r.summary())


@pytest.mark.parametrize("cue,language,accepted", [("un petit chien", "fr", "dog"), ("un petit chat", "fr", "domestic_cat")])
def test_an_adjective_is_no_apertium_noun(cue_matcher, cue, language, accepted):
    """Apertium lists "petit" as a noun too (a kid); the lists leave out words its analyser knows only
    as other parts of speech, so a small dog is a dog, not a kid dog (toy dogs, people)."""
    r = cue_matcher.match(cue)
    assert r.language == language and "kid" not in r.translation.split(), r.translation
    assert r.node_ids == [accepted], r.summary()


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


ROOT = Path(__file__).resolve().parent.parent
ESPEAK = shutil.which("espeak-ng")
# The test speaks every other row (8 per language). With tiny.en first and base decoding held to the
# cue vocabulary it measured 5/24 right, 3/24 wrong; since issue 17 (base detects the language of every
# clip and decodes it freely in that language; misheard words are replaced only by words the audio
# supports, tuned on real people's recordings, not on espeak) 2/24 right, 1/24 wrong: espeak-ng's short
# foreign cues are mostly detected as English ("Katze" -> "Cuts.") and now say "not sure" instead of
# being forced onto the word lists. One clip of slack each for CPU float differences between machines.
SPOKEN_CUES = LANGUAGE_CUES[::2]
SPOKEN_FLOOR = 1 / 24
SPOKEN_MAX_WRONG = 2


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


def test_english_speech_is_detected_as_english(cue_matcher, whisper_tiny, whisper_base):
    """Whisper base decides the language of every clip first (issue 17), English included."""
    r = cue_matcher.match_audio(ROOT / "examples" / "speech" / "show_me_the_cat.wav", whisper_tiny,
                                multilingual=whisper_base)
    assert r.node_ids == ["domestic_cat"] and r.speech.language == "en"
    assert r.speech.language_probability > 0.5 and any(n.startswith("speech: language 'en'") for n in r.notes)


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
            assert r.speech.language_probability is not None


# --- issue 17: the language first, and only words the audio supports -----------------------------
def test_a_foreign_word_is_not_read_as_english_words(cue_matcher, whisper_tiny, whisper_base):
    """tiny.en alone hears espeak's "die Katze" as English words; the language-first path hears German
    and maps it to the cat."""
    from hldemo.cues.speech import transcribe

    clip = ROOT / "examples" / "speech" / "die_katze.wav"
    english = transcribe(whisper_tiny, clip)
    assert "katze" not in english.raw_text.lower()  # what the English-only model makes of it
    r = cue_matcher.match_audio(clip, whisper_tiny, multilingual=whisper_base)
    assert r.speech.language == "de" and "katze" in r.transcript.lower()
    assert r.node_ids == ["domestic_cat"] and r.language == "de"


@pytest.mark.parametrize("voice,word,accepted", [("fr", "parapluie", "n04507155"), ("de", "Regenschirm", "n04507155"),
                                                  ("de", "Kamel", "camels_and_llamas")])
def test_a_misheard_foreign_word_selects_nothing_wrong(cue_matcher, whisper_tiny, whisper_base, tmp_path,
                                                       voice, word, accepted):
    """espeak-ng's single foreign words are hard for Whisper base ("parapluie" is 92 % English to it,
    "Mama, please."): the result is the right category or "not sure", never English words' guess."""
    if ESPEAK is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    path = tmp_path / "word.wav"
    subprocess.run([ESPEAK, "-v", voice, "-s", "130", "-w", str(path), word], check=True, capture_output=True,
                   timeout=60)
    r = cue_matcher.match_audio(path, whisper_tiny, multilingual=whisper_base)
    assert r.source == "speech"
    assert not r.node_ids or is_right(cue_matcher, r, (accepted,)), (r.transcript, r.node_ids, r.notes)
    if not r.understood:
        assert "full model" in r.message


def test_a_repair_needs_the_audio(cue_matcher, whisper_tiny, whisper_base, tmp_path):
    """Typed "ouch" is repaired to "couch"; spoken, the audio does not support "couch" (its mean
    log-prob is far below the transcript's), so the result says what was heard and selects nothing."""
    if ESPEAK is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    typed = cue_matcher.match("ouch")
    assert typed.understood and "'ouch' read as 'couch'" in typed.matches[0].reason
    path = tmp_path / "ouch.wav"
    subprocess.run([ESPEAK, "-v", "en", "-s", "130", "-w", str(path), "ouch"], check=True, capture_output=True,
                   timeout=60)
    r = cue_matcher.match_audio(path, whisper_tiny, multilingual=whisper_base)
    assert r.source == "speech" and r.heard and not r.understood and r.categories == []
    assert r.message.startswith("Not sure: I heard") and "ouch" in r.message.lower()
    assert any("'couch'" in n and "does not support" in n for n in r.notes), r.notes


def test_keyword_scores_are_whispers_own(whisper_base):
    """The batched teacher-forced scores equal one-by-one scores, and the audio prefers what was said."""
    from hldemo.cues.speech import transcribe_languages

    t = next(transcribe_languages(whisper_base, ROOT / "examples" / "speech" / "show_me_the_cat.wav", language="en"))
    texts = [t.raw_text, " Show me the dog.", " Zeig mir die Katze."]
    batch = t.scorer.score(texts)
    single = [t.scorer.score([x])[0] for x in texts]
    assert np.allclose(batch, single, atol=1e-3)
    assert batch[0] > batch[1] + 0.5 and batch[0] > batch[2] + 0.5
    assert abs(batch[0] - t.avg_logprob) < 0.3  # Whisper's own avg_logprob (its decoding filters aside)


def test_keyword_spotting_finds_the_word_in_its_language(cue_matcher, whisper_base):
    """The vocabulary search finds the spoken word among thousands of German entries, with an article
    where one was said, and its score is the teacher-forced score of the text it found."""
    from hldemo.cues.speech import transcribe_languages

    t = next(transcribe_languages(whisper_base, ROOT / "examples" / "speech" / "die_katze.wav", language="de"))
    vocabulary = cue_matcher.spoken_vocabulary("de")
    assert len(vocabulary) > 1000
    spotted = t.scorer.spot(vocabulary)
    assert spotted[0].entry == "katze" and "Katze" in spotted[0].text, spotted
    assert [s.score for s in spotted] == sorted((s.score for s in spotted), reverse=True)
    assert len({s.entry for s in spotted}) == len(spotted) > 1
    assert abs(spotted[0].score - t.scorer.score([spotted[0].text])[0]) < 1e-3
    assert spotted[0].score > spotted[1].score
    assert t.scorer.spot([]) == []


def test_the_vocabulary_trie_holds_every_article_and_entry():
    """Entries are stored once and articles link to them: every " [article] entry" text (elided "l'"
    included, as Whisper's tokenizer encodes it whole) leads to its entry, and nothing else does."""
    from whisper.tokenizer import get_tokenizer

    from hldemo.cues.keywords import ARTICLES, _VocabularyTrie

    tok = get_tokenizer(True, num_languages=99, language="fr", task="transcribe")
    words = ["oiseau", "fusée", "chat", "lunettes de soleil", "arc"]
    trie = _VocabularyTrie(tok, "fr", words)

    def walk(tokens):
        node = 0
        for t in tokens:
            nexts, kids = trie.next_tokens(node)
            hit = np.flatnonzero(nexts == t)
            if not len(hit):
                return None
            node = int(kids[hit[0]])
        return trie.entry.get(node)

    for w in words:
        for form in (w, w[:1].upper() + w[1:]):
            assert walk(tok.encode(f" {form}")) == w
            for a in ARTICLES["fr"]:
                for article in (a, a[:1].upper() + a[1:]):
                    assert walk(tok.encode(f" {article}{'' if a.endswith(chr(39)) else ' '}{form}")) == w, (article, form)
    assert walk(tok.encode(" Hund")) is None and walk(tok.encode(" une")) is None


def test_the_language_whose_words_the_audio_supports_wins(cue_matcher, whisper_base):
    """With detection undecided (equal priors), the spoken "die Katze" is read as German, not as the
    English words Whisper makes of it: the German vocabulary's best entry is supported far better; and
    the note says why. A strong detection prior still keeps a language."""
    from hldemo.cues.speech import transcribe_languages
    from hldemo.cues.spoken import LANGUAGE_PRIOR, choose_language

    clip = ROOT / "examples" / "speech" / "die_katze.wav"
    english = next(transcribe_languages(whisper_base, clip, language="en")).scorer
    german = english.for_language("de")
    assert english.for_language("de") is german and german.for_language("en") is english  # one per language
    language, note = choose_language(cue_matcher, [("en", 0.5, english), ("de", 0.5, german)])
    assert language == "de" and "language chosen by the words the audio supports" in note, note
    gap = german.spot(cue_matcher.spoken_vocabulary("de"))[0].score - \
        english.spot(cue_matcher.spoken_vocabulary("en"))[0].score
    assert gap > 0
    p_german = 0.5 * math.exp(-(gap + 1.0) / LANGUAGE_PRIOR)  # odds that outweigh the audio's support
    assert choose_language(cue_matcher, [("en", 1 - p_german, english), ("de", p_german, german)]) == ("en", None)
    assert choose_language(cue_matcher, [("en", 0.5, english)]) == ("en", None)


def test_the_next_language_is_decoded_on_the_scorer_that_spotted_it(whisper_base):
    """The language choice spots the second language before its transcript is decoded; the transcript
    decoded afterwards carries that same scorer (its spotted entries are not searched again), and
    every transcript keeps the detected probabilities, likeliest first."""
    from hldemo.cues.speech import transcribe_languages

    heard = transcribe_languages(whisper_base, ROOT / "examples" / "speech" / "die_katze.wav",
                                 languages=("en", "de"), tries=2)
    first = next(heard)
    probabilities = first.language_probabilities
    assert list(probabilities) == sorted(probabilities, key=lambda k: -probabilities[k]) and len(probabilities) == 2
    assert abs(sum(probabilities.values()) - 1) < 1e-6 and probabilities[first.language] == first.language_probability
    other = list(probabilities)[1]
    spotter = first.scorer.for_language(other)
    second = next(heard)
    assert second.language == other and second.scorer is spotter and second.language_probabilities == probabilities
    assert next(heard, None) is None


def test_restyle_and_nearest_entries():
    from hldemo.cues.keywords import nearest_entries, restyle

    assert restyle(" Shoo.", ("shoo",), "school") == " School."
    assert restyle(" Egen Schirm.", ("egen", "schirm"), "regenschirm") == " Regenschirm."
    assert restyle("Une fise !", ("fise",), "fusée") == "Une fusée !"
    assert set(nearest_entries("shoo", ["school", "shoe", "cat"])) == {"shoe", "school"}
    assert nearest_entries("xyz", ["school", "shoe"]) == []


# --- real people's words (ktuberling-data) and words that name nothing -------------------------------
from hldemo.cues.cue_table import load_negative_words  # noqa: E402
from hldemo.cues.word_clips import WORD_CLIP_DIR, load_word_clips, load_word_labels, role  # noqa: E402

needs_word_clips = pytest.mark.skipif(not (WORD_CLIP_DIR / "fr.soundtheme").is_file(),
                                      reason=f"no word clips in {WORD_CLIP_DIR} (apt-get install ktuberling-data)")


def test_word_clip_labels_name_real_nodes(curated):
    labels = load_word_labels()
    for key, accepted in labels.items():
        for node in accepted or ():
            assert node in curated, (key, node)
    assert role("umbrella") == role("umbrella") and {role(k) for k in labels} == {"dev", "held_out"}
    assert sum(v == () for v in labels.values()) >= 40 and sum(bool(v) for v in labels.values()) >= 50


@needs_word_clips
def test_word_clips_split_by_word(curated):
    clips = load_word_clips(hierarchy=curated)
    assert {c.language for c in clips} >= {"en", "de", "fr"}
    by_key = {}
    for c in clips:
        by_key.setdefault(c.key, set()).add(c.role)
    assert all(len(roles) == 1 for roles in by_key.values())  # a word and its translations: one side


@needs_word_clips
@pytest.mark.parametrize("clip,accepted", [("fr/tv_guitare.wav", "string_instruments"),
                                           ("fr/robot_fusee.wav", "missiles_and_blades")])
def test_a_misheard_word_the_audio_supports(cue_matcher, whisper_tiny, whisper_base, clip, accepted):
    """A real speaker's "une guitare" is decoded "Une vitage !": the French word the audio supports as
    well as the transcript, or names clearly ("guitare", "fusée"), is taken, and the notes say so."""
    r = cue_matcher.match_audio(WORD_CLIP_DIR / clip, whisper_tiny, multilingual=whisper_base)
    assert r.speech.language == "fr" and is_right(cue_matcher, r, (accepted,)), (r.transcript, r.notes)
    assert any("the audio supports" in n or "the audio names" in n for n in r.notes), r.notes


def test_words_that_name_nothing_match_nothing(cue_matcher):
    """Typed words that name no category (hierarchies/lexicon/negative_words.txt): after calibrating the
    one-word threshold on the dev half (scripts/calibrate_cue_threshold.py), three match by similarity
    ("arm" ~ arms, "Käse" read as "k se" ~ kart, "étoile" read as "toilet"); those matched by a name come
    from the word lists ("Angel" = fishing rod), which no threshold changes. Measured: 8/61 dev (2 by
    similarity), 7/64 held out (1)."""
    words = load_negative_words()
    matched = [(w.word, r.node_ids, [m.reason for m in r.matches]) for w in words for r in [cue_matcher.match(w.word)]
               if r.node_ids]
    by_similarity = [m for m in matched if any("similar to" in x for x in m[2])]
    assert len(by_similarity) <= 3, by_similarity
    assert len(matched) <= 0.15 * len(words), matched
