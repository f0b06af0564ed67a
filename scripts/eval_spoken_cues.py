"""Where spoken German/French/Spanish cues are lost: a per-clip, stage-by-stage table (issue 12).

Each row of a cue table (``kind`` = espeak-ng voice = language) is spoken by espeak-ng and followed
through the speech path of :meth:`hldemo.cues.CueMatcher.match_speech`, stage by stage:

1. ``tiny``: Whisper tiny.en's transcript, and whether the matcher understood it (what an English-only
   model alone makes of a foreign clip);
2. ``det``: the rank (1 = likeliest) of the clip's true language in Whisper base's language
   detection among the fallback languages (de/fr/es), and its probability;
3. ``base@true``: base decoding in the true language (task=transcribe): the raw text, the status of
   the no-speech / hallucination / low-confidence checks, whether the typed matcher on the raw text
   is right (what a perfect language detection and no checks would give), and base's mean
   log-probability of the cue's own text (below the transcript's: base prefers another text);
4. ``translate``: base translating to English from the true language, and whether the matcher on it
   is right (Whisper's own translation instead of the FreeDict word lists);
5. ``pipeline``: the demo's real result, through its one audio input (:meth:`match_audio`: YAMNet, then
   :meth:`match_speech` for speech), and its seconds.

Usage::

    python scripts/eval_spoken_cues.py                       # tests/tables/languages.tsv
    python scripts/eval_spoken_cues.py --table T.tsv --json out.json
    python scripts/eval_spoken_cues.py --pipeline-only       # only the real result (faster)
    python scripts/eval_spoken_cues.py --words dev           # real people's words (hldemo.cues.word_clips)
    python scripts/eval_spoken_cues.py --words held_out --json out.json
    python scripts/eval_spoken_cues.py --words all --ceiling --languages en,de,fr  # + the forced choice
    python scripts/eval_spoken_cues.py --latency 10          # seconds of a 2 s spoken cue: a sentence, a short word

``--words ROLE`` runs the real people's recordings of :mod:`hldemo.cues.word_clips` (``dev``,
``held_out`` or ``all``) through the demo's audio input and prints, per language, right / wrong category
/ nothing for the words that name a category, and how many words that name nothing matched one.
``--ceiling`` adds, per clip, the verdict of the best spotted category word in the clip's true language,
taken always: where the words are lost when neither the language choice nor "not sure" is to blame.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hldemo.cues.matcher import is_right, load_cue_matcher, load_cue_table  # noqa: E402
from hldemo.cues.speech import CUE_LANGUAGES, load_speech_model, transcribe  # noqa: E402
from hldemo.cues.word_clips import WORD_CLIP_DIR, WORD_CLIP_LANGUAGES, load_word_clips, summarise, verdict  # noqa: E402

DEFAULT_TABLE = ROOT / "tests" / "tables" / "languages.tsv"
ESPEAK_RATE = 130  # words per minute, as the test speaks them


def speak(text: str, voice: str, path: Path, rate: int = ESPEAK_RATE) -> Path:
    """Write espeak-ng's ``voice`` reading ``text`` to ``path`` (a wav)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        sys.exit("espeak-ng is not installed (apt-get install espeak-ng)")
    subprocess.run([exe, "-v", voice, "-s", str(rate), "-w", str(path), text], check=True,
                   capture_output=True, timeout=60)
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--table", default=str(DEFAULT_TABLE), help="cue table (default: %(default)s)")
    p.add_argument("--json", default=None, help="also write the rows as JSON here")
    p.add_argument("--pipeline-only", action="store_true", help="skip the diagnostic stages 1-4")
    p.add_argument("--negatives", action="store_true",
                   help="also run the animal sounds of examples/sounds (they must select nothing)")
    p.add_argument("--rate", type=int, default=ESPEAK_RATE, help="espeak-ng words per minute")
    p.add_argument("--words", choices=("dev", "held_out", "all"), default=None,
                   help="real people's single words (ktuberling-data) instead of an espeak table")
    p.add_argument("--languages", default=",".join(WORD_CLIP_LANGUAGES), help="--words: languages (comma-separated)")
    p.add_argument("--ceiling", action="store_true",
                   help="--words: also the forced choice in each clip's true language (the best spotted category "
                        "word, taken always): what Whisper base's audio support allows with a perfect language "
                        "choice and no 'not sure'")
    p.add_argument("--latency", type=int, default=0, metavar="N",
                   help="time the speech path on a 2 s clip (speech padded with silence) N times")
    p.add_argument("--latency-clip", action="append", default=None,
                   help="the speech --latency pads to 2 s; repeatable (default: the shipped sentence "
                        "show_me_the_cat.wav and short foreign cue die_katze.wav)")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    if args.latency:
        clips = args.latency_clip or [ROOT / "examples" / "speech" / n for n in ("show_me_the_cat.wav", "die_katze.wav")]
        return latency(args.latency, [Path(c) for c in clips])
    if args.words:
        return eval_words(args.words, args.languages.split(","), args.json, args.ceiling)

    matcher = load_cue_matcher("curated")
    tiny, base = load_speech_model("tiny.en", device="cpu"), load_speech_model("base", device="cpu")
    cases = load_cue_table(args.table)
    fallback = tuple(x for x in CUE_LANGUAGES if x != "en")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, c in enumerate(cases):
            wav = speak(c.cue, c.kind, Path(tmp) / f"{i}.wav", args.rate)
            row = {"kind": c.kind, "cue": c.cue, "accepted": list(c.accepted)}
            if not args.pipeline_only:
                t = transcribe(tiny, wav)
                rt = matcher.match_transcript(t)
                row["tiny"] = {"text": t.raw_text, "status": t.status, "understood": rt.understood,
                               "right": is_right(matcher, rt, c.accepted)}
                probs = _language_probs(base, wav, fallback)
                ranked = sorted(probs, key=lambda k: -probs[k])
                row["det"] = {"rank": ranked.index(c.kind) + 1 if c.kind in ranked else None,
                              "p_true": probs.get(c.kind), "ranking": ranked}
                tr = transcribe(base, wav, language=c.kind)
                r_raw = matcher.match(tr.raw_text) if tr.raw_text else matcher.match("")
                row["base"] = {"text": tr.raw_text, "status": tr.status, "logprob": tr.avg_logprob,
                               "no_speech": tr.no_speech_prob, "right_raw": is_right(matcher, r_raw, c.accepted),
                               "true_logprob": _true_text_logprob(base, wav, c.kind, c.cue)}
                tt = transcribe(base, wav, language=c.kind, task="translate")
                r_tt = matcher.match(tt.raw_text) if tt.raw_text else matcher.match("")
                row["translate"] = {"text": tt.raw_text, "status": tt.status,
                                    "right": is_right(matcher, r_tt, c.accepted)}
            t0 = time.perf_counter()
            r = matcher.match_audio(wav, tiny, multilingual=base)
            row["pipeline"] = {"source": r.source, "transcript": r.transcript, "nodes": r.node_ids,
                               "seconds": time.perf_counter() - t0,
                               "language": getattr(r.speech, "language", None),
                               "status": str(getattr(r.speech, "status", None)),
                               "right": is_right(matcher, r, c.accepted)}
            rows.append(row)
            _print_row(row)
            sys.stdout.flush()
    _print_summary(rows)
    if args.negatives:  # non-speech must never be read as words through the one audio input
        sounds = sorted((ROOT / "examples" / "sounds" / "farm-animals").glob("*.ogg"))
        wrong = 0
        for path in sounds:
            r = matcher.match_audio(path, tiny, multilingual=base)
            as_speech = r.source == "speech" and bool(r.node_ids)
            wrong += as_speech
            print(f"{'FALSE' if as_speech else 'ok   '} {path.name}: {r.source}, heard {r.transcript!r} -> {r.node_ids}"
                  f" ({getattr(r.speech, 'status', None)}, {getattr(r.speech, 'language', None)})")
        print(f"non-speech clips (animal sounds) read as words that selected something: {wrong}/{len(sounds)}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, ensure_ascii=False, indent=1))
    return 0


def latency(n: int, clips: list[Path], seconds: float = 2.0) -> int:
    """Seconds of :meth:`CueMatcher.match_speech` (language detection, decoding, keyword scoring,
    matching) on clips of ``seconds``: each of ``clips`` (e.g. the shipped "show me the cat", 1.3 s)
    padded with silence."""
    import numpy as np
    import torch

    from hldemo.cues.audio import TARGET_SAMPLE_RATE, load_audio

    torch.set_num_threads(1)
    matcher = load_cue_matcher("curated")
    tiny, base = load_speech_model("tiny.en", device="cpu"), load_speech_model("base", device="cpu")
    for speech in clips:
        samples = load_audio(speech).samples
        clip = np.zeros(int(seconds * TARGET_SAMPLE_RATE), np.float32)
        clip[:min(len(samples), len(clip))] = samples[:len(clip)]
        times = []
        for i in range(n + 1):
            t0 = time.perf_counter()
            r = matcher.match_speech((TARGET_SAMPLE_RATE, clip), tiny, multilingual=base)
            if i:  # the first call warms up
                times.append(time.perf_counter() - t0)
        times.sort()
        print(f"spoken cue, {seconds:.1f} s clip of {Path(speech).name} ({r.transcript!r} -> {r.node_ids}), torch "
              f"threads {torch.get_num_threads()}: median {times[len(times) // 2]:.2f} s, "
              f"p90 {times[int(0.9 * (len(times) - 1))]:.2f} s, max {times[-1]:.2f} s over {n} runs")
    return 0


def eval_words(which: str, languages, json_out=None, ceiling: bool = False) -> int:
    """Real people's words through the demo's audio input: per clip, then per role and language; with
    ``ceiling``, also the forced choice of the best spotted word in the clip's true language."""
    import torch

    torch.set_num_threads(1)
    matcher = load_cue_matcher("curated")
    tiny, base = load_speech_model("tiny.en", device="cpu"), load_speech_model("base", device="cpu")
    clips = [c for c in load_word_clips(languages=languages, hierarchy=matcher.hierarchy)
             if which == "all" or c.role == which]
    if not clips:
        sys.exit(f"no word clips under {WORD_CLIP_DIR}: apt-get install ktuberling-data (or set HLDEMO_WORD_CLIPS)")
    rows = []
    for c in clips:
        t0 = time.perf_counter()
        r = matcher.match_audio(c.path, tiny, multilingual=base)
        seconds = time.perf_counter() - t0
        v = verdict(c, r.node_ids, is_right(matcher, r, c.accepted))
        rows.append({"role": c.role, "language": c.language, "key": c.key, "clip": c.path.name,
                     "negative": c.negative, "accepted": list(c.accepted), "verdict": v, "nodes": r.node_ids,
                     "transcript": r.transcript, "heard_language": getattr(r.speech, "language", None),
                     "message": r.message, "notes": r.notes, "source": r.source, "seconds": seconds})
        if ceiling:
            rows[-1]["ceiling"] = _forced_choice(matcher, base, c)
        mark = ("NEG-MATCHED" if v != "nothing" else "neg-ok") if c.negative else v
        print(f"{c.role:8} {c.language} {c.key:26} {mark:11} heard {r.transcript!r} ({rows[-1]['heard_language']})"
              f" -> {r.node_ids} {seconds:.2f}s", flush=True)
    print()
    for role, by_lang in summarise(rows).items():
        for lang, k in by_lang.items():
            n = k["n"]
            print(f"{role:8} {lang:3} right {k['right']}/{n} ({k['right'] / max(1, n):.0%})  wrong {k['wrong']}"
                  f" ({k['wrong'] / max(1, n):.0%})  nothing {k['nothing']}  |  negatives matched "
                  f"{k['negatives_matched']}/{k['negatives']} ({k['negatives_matched'] / max(1, k['negatives']):.0%})")
    if ceiling:
        print("forced choice in the true language (the best spotted word, never 'not sure'):")
        for role, by_lang in summarise([dict(r, verdict=r["ceiling"]) for r in rows if "ceiling" in r]).items():
            for lang, k in by_lang.items():
                print(f"  {role:8} {lang:3} right {k['right']}/{k['n']} ({k['right'] / max(1, k['n']):.0%})  "
                      f"negatives matched {k['negatives_matched']}/{k['negatives']}")
    secs = sorted(r["seconds"] for r in rows)
    print(f"seconds per clip: median {secs[len(secs) // 2]:.2f}, p90 {secs[int(0.9 * (len(secs) - 1))]:.2f}, max {secs[-1]:.2f}")
    if json_out:
        Path(json_out).write_text(json.dumps({"summary": summarise(rows), "rows": rows}, ensure_ascii=False, indent=1))
    return 0


def _forced_choice(matcher, model, clip) -> str:
    """The verdict of the best spotted vocabulary word of ``clip``'s true language, always taken."""
    from hldemo.cues.speech import transcribe_languages

    if clip.language not in matcher.spoken_languages():
        return "nothing"
    t = next(transcribe_languages(model, clip.path, language=clip.language))
    spotted = t.scorer.spot(matcher.spoken_vocabulary(clip.language)) if t.scorer is not None else []
    r = matcher.match(spotted[0].text, repair=False, language=clip.language) if spotted else matcher.match("")
    return verdict(clip, r.node_ids, is_right(matcher, r, clip.accepted))


def _language_probs(model, wav, languages) -> dict[str, float]:
    """Whisper's language probabilities for the clip, renormalised over ``languages``."""
    import torch
    import whisper

    from hldemo.cues.audio import load_audio

    clip = load_audio(wav)
    mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(torch.from_numpy(clip.samples)), n_mels=model.dims.n_mels)
    with torch.no_grad():
        _, probs = model.detect_language(mel[None])
    total = sum(probs[0][k] for k in languages) or 1.0
    return {k: probs[0][k] / total for k in languages}


def _true_text_logprob(model, wav, language: str, text: str) -> float:
    """Whisper's mean log-probability of the cue's own text (best of its casings and end marks): when
    it is below that of what Whisper decodes, no search over texts can make Whisper choose the cue."""
    from hldemo.cues.speech import transcribe_languages

    scorer = next(iter(transcribe_languages(model, wav, language=language))).scorer
    if scorer is None:
        return float("-inf")
    return max(scorer.score([f" {v}{end}" for v in {text, text[:1].upper() + text[1:]} for end in ("", ".", "!")]))


def _yn(x) -> str:
    return "ok" if x else "--"


def _print_row(row: dict) -> None:
    pipe = row["pipeline"]
    if "tiny" in row:
        t, d, b, tt = row["tiny"], row["det"], row["base"], row["translate"]
        print(f"{row['kind']} {row['cue']!r:28} | tiny {t['text']!r:22} understood={int(t['understood'])} "
              f"| det rank {d['rank']} p={d['p_true']:.2f} ({'>'.join(d['ranking'])}) | base@true {b['text']!r:26} {b['status']:14} "
              f"lp={b['logprob']:.2f} (cue's own text {b['true_logprob']:.2f}) typed {_yn(b['right_raw'])} | translate {tt['text']!r:24} {_yn(tt['right'])} "
              f"| PIPE {_yn(pipe['right'])} {pipe['language']} {pipe['transcript']!r} {pipe['nodes']} {pipe['seconds']:.1f}s")
    else:
        print(f"{_yn(pipe['right'])} {row['kind']} {row['cue']!r:28} -> {pipe['language']} {pipe['transcript']!r} "
              f"{pipe['nodes']} ({pipe['status']}, {pipe['seconds']:.1f}s)")


def _print_summary(rows: list[dict]) -> None:
    n = len(rows)
    pct = lambda k: f"{k}/{n} = {k / max(1, n):.1%}"  # noqa: E731
    print("\n--- per stage ---")
    if rows and "tiny" in rows[0]:
        print("tiny.en alone 'understood' a foreign clip:", pct(sum(r["tiny"]["understood"] for r in rows)),
              " of which right:", sum(r["tiny"]["right"] for r in rows))
        print("true language ranked 1st by base (de/fr/es):", pct(sum(r["det"]["rank"] == 1 for r in rows)),
              "| in top 2:", pct(sum((r["det"]["rank"] or 9) <= 2 for r in rows)))
        print("base@true-language transcript passes the checks:", pct(sum(r["base"]["status"] == "ok" for r in rows)),
              " statuses:", {s: sum(r["base"]["status"] == s for r in rows) for s in {r["base"]["status"] for r in rows}})
        print("base believes the cue's own text at least as much as its greedy transcript (within 0.05):",
              pct(sum(r["base"]["true_logprob"] >= r["base"]["logprob"] - 0.05 for r in rows)))
        print("typed matcher right on base@true raw transcript:", pct(sum(r["base"]["right_raw"] for r in rows)))
        print("matcher right on base's English translation:", pct(sum(r["translate"]["right"] for r in rows)))
    print("pipeline: language heard = the cue's:", pct(sum(r["pipeline"]["language"] == r["kind"] for r in rows)),
          "| statuses:", {s: sum(r["pipeline"]["status"] == s for r in rows)
                          for s in sorted({str(r["pipeline"]["status"]) for r in rows})})
    print("pipeline: wrong selections (something selected, not right):",
          pct(sum(bool(r["pipeline"]["nodes"]) and not r["pipeline"]["right"] for r in rows)))
    print("PIPELINE (match_speech) right:", pct(sum(r["pipeline"]["right"] for r in rows)),
          "| by language:", {k: f"{sum(r['pipeline']['right'] for r in rows if r['kind'] == k)}/"
                                f"{sum(r['kind'] == k for r in rows)}" for k in dict.fromkeys(r["kind"] for r in rows)})
    secs = [r["pipeline"]["seconds"] for r in rows]
    print(f"seconds per spoken cue (match_speech): mean {sum(secs) / max(1, n):.2f}, max {max(secs, default=0):.2f}")


if __name__ == "__main__":
    sys.exit(main())
