"""``python -m hldemo.cues``: match typed cues, recorded cues (speech or sounds) and cue tables.

Command line::

    python -m hldemo.cues [--json] [--hierarchy NAME] TEXT...
    python -m hldemo.cues --audio FILE [--speech-model tiny.en] [--json]
    python -m hldemo.cues --table tests/tables/descriptions_scenes.tsv   # a cue table's rate
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from pathlib import Path
from typing import Sequence

from ..errors import HierarchyError, HLDemoError
from ..hierarchy import DEFAULT_HIERARCHY
from ..utils import add_device_arguments, resolve_device
from .cue_table import load_cue_table, run_cue_table
from .matcher import MATCH_THRESHOLD, CueResult, load_cue_matcher

def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m hldemo.cues",
        description="Map text (or speech) cues to hierarchy nodes and ImageNet categories.")
    p.add_argument("text", nargs="*", help="cues, one result line each")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--hierarchy", default=DEFAULT_HIERARCHY, help="hierarchy name or JSON path (default: %(default)s)")
    p.add_argument("--audio", action="append", default=[], metavar="FILE",
                   help="a recorded cue (wav/ogg/flac/mp3): speech is transcribed and matched, a sound tagged; may repeat")
    p.add_argument("--speech-model", default=None, help="Whisper model name or path (default: tiny.en, offline)")
    p.add_argument("--english-only", action="store_true",
                   help="Whisper tiny.en alone: English speech only, no language detection by Whisper base")
    p.add_argument("--threshold", type=float, default=MATCH_THRESHOLD, help="embedding match threshold")
    p.add_argument("--table", action="append", default=[], metavar="TSV",
                   help="match a cue table (kind, cue, accepted node ids) and report its rate; may repeat")
    p.add_argument("-v", "--verbose", action="store_true", help="log timings to stderr")
    add_device_arguments(p, dtype=False)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (0 ok, 2 usage or load error)."""
    parser = _parser()
    args = parser.parse_args(argv)
    for path in args.audio + args.table:
        if not Path(path).is_file():
            parser.error(f"file not found: {path}")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.text and not args.audio and not args.table:
        parser.error("give at least one TEXT, --audio FILE or --table TSV")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore" if not args.verbose else "default")
            device = str(resolve_device(args.device))  # the embedder's and Whisper's
            matcher = load_cue_matcher(args.hierarchy, threshold=args.threshold, device=device)
    except (HLDemoError, HierarchyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for path in args.table:
        try:
            report = run_cue_table(matcher, load_cue_table(path))
        except HLDemoError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        if args.json:
            print(json.dumps({"table": str(path), **report}, ensure_ascii=False))
            continue
        for row in report["rows"]:
            print(f"{'ok  ' if row['right'] else 'MISS'} {row['kind']:6} {row['cue']!r} -> {row['nodes']}"
                  + ("" if row["right"] else f" (wanted {'|'.join(row['accepted'])})"))
        kinds = ", ".join(f"{k} {v['right']}/{v['n']}" for k, v in report["by_kind"].items())
        print(f"{path}: {report['right']}/{report['n']} right ({report['rate']:.1%}; {kinds}); "
              f"{report['ms_p90']:.1f} ms per cue (p90)")
    results: list[CueResult] = []
    if args.audio:
        from .speech import DEFAULT_SPEECH_MODEL, MULTILINGUAL_SPEECH_MODEL, load_speech_model, offline_models

        try:
            model = load_speech_model(args.speech_model or DEFAULT_SPEECH_MODEL, device=device)
            multilingual = None
            if not args.english_only and MULTILINGUAL_SPEECH_MODEL in offline_models() \
                    and not getattr(model, "is_multilingual", False):
                multilingual = load_speech_model(MULTILINGUAL_SPEECH_MODEL, device=device)
        except HLDemoError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        for path in args.audio:
            r = matcher.match_audio(path, model, multilingual=multilingual)
            r.notes.insert(0, f"audio: {path}")
            results.append(r)
    results += [matcher.match(t) for t in args.text]
    for r in results:
        if args.json:
            print(json.dumps(r.to_dict(), ensure_ascii=False))
        else:
            line = r.summary()
            if r.transcript is not None:
                line = f"[heard {r.transcript!r}] {line}"
            elif r.sound is not None:
                line = f"[{r.sound.summary()}] {line}"
            print(line)
    sys.stdout.flush()
    return 0
