"""Voice search end to end: catalog model -> capture (any source) -> recognition -> products.

:func:`voice_search` is the one job the app, the CLI and the bench run; :func:`text_search` re-runs the
matching for edited text; :func:`prepare` builds the model and warms a decoder ahead of the first query.
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shopai.jobs import Job, Progress, UserError
from shopai.voice import denoise, endpoint
from shopai.voice.audio import AudioSource
from shopai.voice.capture import LevelProgress, VadConfig, listen
from shopai.voice.matcher import GOOD_SCORE, MatchIndex
from shopai.voice.model import CatalogModel, build_model, discard
from shopai.voice.recognizer import (
    FREE,
    CatalogRecognition,
    Heard,
    Recognition,
    decode_all,
    forget_models,
    recognize,
)

MODES = ("catalog", "free")
# How much the grammar's hearing (always a title, or its start) counts beside the language model's (any
# words of the catalog, in any order). Chosen on development subsets of the bench (60 clean, 58 noisy
# utterances): 0.3 best on both, 0.5 a little worse, 0.8 and above let a wrong title beat a right hearing.
W_GRAMMAR = 0.3
# ... and when the query was decoded again on its own span because other voices were around it: there the
# language model also strings the other talkers' catalog words into its hearing, while the grammar can only hear
# one title. Chosen on bench/voice_dev.py (the same hearings ranked both ways, babble 100 queries): 0.3 68%,
# 0.6 72%; grammar alone 73%, language model alone 55% (a trimming harness).
W_GRAMMAR_VOICES = 0.6
# What the recogniser hears (shopai.voice.denoise): "rnnoise" cleans the sound when steady noise came before
# the words and keeps it raw after other voices or no noise; "raw" never cleans; "deepfilter" always does
# (DeepFilterNet3, which the second look below uses). Chosen on bench/voice_dev.py (100 clean + 300 noisy utterances, not the bench's):
# raw 98% clean / 69.3% noisy, rnnoise 98% / 80.0% (pink 68 -> 98%), deepfilter 97% / 82.3% at ~2x the time.
FRONT_END = "rnnoise"
# Decode again what :mod:`shopai.voice.endpoint` finds to be the query when the VAD took noise for speech (other
# voices before and after the words). Chosen on bench/voice_dev.py: see the README's Voice section.
TRIM = True
# ... and the sound that second decode hears when the raw sound was kept (after other voices, the case that
# needs a second look; or with too little sound before the words): DeepFilterNet3
# (it keeps the nearer talker better than RNNoise, which made babble worse), run on the query's span only, so its
# cost (~0.11 RTF where it runs) falls on these queries alone. None: the raw sound again. Chosen on
# bench/voice_dev.py's 100 babble queries: raw 72% / hit@5 80%, DeepFilterNet 78% / 88% (README, Voice).
VOICES_FRONT_END: str | None = "deepfilter"
_INDEX: dict[str, MatchIndex] = {}
_INDEX_LOCK = threading.Lock()


@dataclass
class VoiceResult:
    heard: str
    results: list[dict[str, Any]]  # {"id", "sku", "title", "score"} best first
    recognizer: str = "catalog"  # catalog | free | typed
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def confident(self) -> bool:
        return bool(self.results) and self.results[0]["score"] >= GOOD_SCORE

    def to_json(self) -> dict[str, Any]:
        return {
            "heard": self.heard,
            "results": [{"sku": r["sku"], "title": r["title"], "score": round(r["score"], 4)} for r in self.results],
        }


def _index(model: CatalogModel) -> MatchIndex:
    with _INDEX_LOCK:
        idx = _INDEX.get(model.key)
        if idx is None:
            _INDEX.clear()
            idx = _INDEX[model.key] = MatchIndex(model.products, dict(model.lexicon))
            forget_models(keep=model.key)
        return idx


def _fts_ids(db_path: str, text: str) -> list[int]:
    from shopai.store import products
    from shopai.store.db import connect

    db = connect(db_path)
    try:
        return [r["id"] for r in products.search(db, text, limit=20)]
    except Exception:  # an FTS syntax corner case must not lose the fuzzy results
        return []
    finally:
        db.conn.close()


def _results(db_path: str, idx: MatchIndex, text: str, limit: int, typed: bool = False) -> list[dict[str, Any]]:
    matches = idx.match(text, limit=limit, fts_ids=_fts_ids(db_path, text) if text.strip() else None, typed=typed)
    return [{"id": m.product.id, "sku": m.product.sku, "title": m.product.title, "score": m.score} for m in matches]


def _combined(db_path: str, idx: MatchIndex, lm: Heard, grammar: Heard, limit: int,
              w_grammar: float | None = None) -> tuple[str, list[dict]]:
    """Products for both hearings of one utterance: match scores added, the grammar's weighted by ``w_grammar``
    (default W_GRAMMAR).

    Returns what was heard (the grammar's title when it agrees with the best product, else the language
    model's words) and the results, best first, scores back in 0..1.
    """
    lm_res = _results(db_path, idx, lm.text, max(limit, 50))
    if not grammar.words:
        return lm.text, lm_res[:limit]
    gr_res = _results(db_path, idx, grammar.text, max(limit, 50))
    w = W_GRAMMAR if w_grammar is None else w_grammar
    by_id: dict[int, dict[str, Any]] = {r["id"]: dict(r) for r in lm_res}
    for r in gr_res:
        by_id.setdefault(r["id"], dict(r, score=0.0))["score"] += w * r["score"]
    ranked = sorted(by_id.values(), key=lambda r: -r["score"])[:limit]
    for r in ranked:
        r["score"] /= 1.0 + w
    grammar_agrees = bool(ranked and gr_res and gr_res[0]["id"] == ranked[0]["id"])
    return (grammar.text if grammar_agrees or not lm.words else lm.text), ranked


def prepare(db_path: str, warm: bool = True) -> Job[CatalogModel]:
    """Job: build (or load) the catalog's speech model and load a decoder, so the first query is quick."""
    model = yield from build_model(db_path)
    _index(model)
    import scipy.signal  # noqa: F401  (slow first import: pay it here, not after the first query)

    if warm:
        yield Progress(1, 2, "Loading the recogniser")
        _catalog_recognition(model).release()
        for kind in (FRONT_END, VOICES_FRONT_END):  # DeepFilterNet takes ~0.7 s to start: not in a query
            denoise.give_back(kind, denoise.borrow(kind))
    return model


def _catalog_recognition(model: CatalogModel) -> CatalogRecognition:
    return CatalogRecognition(model.key, model.dic_path, model.lm_path, model.fsg_path)


def text_search(db_path: str, text: str, limit: int = 10) -> Job[VoiceResult]:
    """Job: match typed or corrected text the same way as heard text (spelling counts too: see
    :meth:`MatchIndex.match`), with the same warning when no product matched well."""
    model = yield from build_model(db_path)
    text = (text or "").strip()
    if not text:
        return VoiceResult("", [], "typed")
    results = _written_results(db_path, text, limit) if _HAN.search(text) else []
    if not results:
        results = _results(db_path, _index(model), text, limit, typed=True)
    return VoiceResult(text, results, "typed", _match_warnings(results))


# Chinese characters (and Japanese kana): the recogniser hears English words only, so text in them is found
# as the catalog search finds it, not by how it sounds
_HAN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _written_results(db_path: str, text: str, limit: int) -> list[dict[str, Any]]:
    """Products for typed text with Chinese characters, as the catalog search finds them; each scored by how
    much of its title the typed characters cover (the whole title typed: 1)."""
    from shopai.store import products
    from shopai.store.db import connect

    typed = {ch for ch in text if not ch.isspace()}
    db = connect(db_path)
    try:
        rows = products.search(db, text, limit=limit)
    finally:
        db.conn.close()
    out = []
    for r in rows:
        title = [ch for ch in r["title"] if not ch.isspace()]
        cover = sum(1 for ch in title if ch in typed) / max(len(title), 1)
        out.append({"id": r["id"], "sku": r["sku"], "title": r["title"], "score": 0.6 + 0.4 * cover})
    return sorted(out, key=lambda r: -r["score"])


def unspeakable_titles(model: CatalogModel) -> int:
    """How many of the catalog's products have titles in Chinese characters (or kana), which the English
    recogniser cannot hear: they are found by typing."""
    return sum(1 for p in model.products if _HAN.search(p.title or ""))


def _match_warnings(results: list[dict[str, Any]]) -> list[str]:
    """The warning for results none of which matched well (spoken or typed alike)."""
    if not results or results[0]["score"] < GOOD_SCORE:
        return ["No product matched well; the results below are guesses."]
    return []


def _cleaned(pcm: np.ndarray, kind: str) -> np.ndarray | None:
    """``pcm`` (16 kHz, int16 scale) through a fresh denoiser of ``kind``; None when it will not load (logged)."""
    d = denoise.borrow(kind)
    if d is None:
        return None
    try:
        return d.process(np.asarray(pcm, np.float32) / 32768.0, final=True) * 32768.0
    finally:
        denoise.give_back(kind, d)


def voice_search(
    db_path: str,
    source: AudioSource,
    mode: str = "catalog",
    limit: int = 10,
    max_seconds: float = 15.0,
    vad: VadConfig | None = None,
    fallback: bool = True,
) -> Job[VoiceResult]:
    """Job: listen to ``source`` for one query and find the products. Yields LevelProgress while listening.

    ``mode`` "catalog" uses the catalog's title grammar and language model together (free dictation as a
    fallback when nothing matching was heard); "free" uses plain dictation with the general English model.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    vad = vad or VadConfig()
    model = yield from build_model(db_path)
    idx = _index(model)
    t0 = time.perf_counter()
    rec: Recognition | CatalogRecognition
    if mode == "free":
        rec = Recognition(FREE)
    else:
        try:
            rec = _catalog_recognition(model)
        except UserError:  # a damaged model on disk: write it anew once
            discard(model)
            model = yield from build_model(db_path)
            idx = _index(model)
            rec = _catalog_recognition(model)
    try:
        cleaner = denoise.borrow(FRONT_END)
    except BaseException:
        rec.release()
        raise
    load_seconds = time.perf_counter() - t0
    try:
        utt = yield from listen(source, sink=rec, cfg=vad, max_seconds=max_seconds, denoiser=cleaner)
        yield LevelProgress(1, 1, "Recognising…", 0.0, "recognising")
        heard = rec.finish()
    finally:
        rec.release()
        denoise.give_back(FRONT_END, cleaner)
    audio = utt.audio
    span = endpoint.trimmed_span(audio, *utt.speech_in_audio) if TRIM else None
    if span is not None:
        # the VAD ran on into the noise: decode only the query's own span (the first hearing's time counts too)
        first = heard
        audio = audio[span[0]:span[1]]
        yield LevelProgress(1, 1, "Other voices around: recognising the words alone…", 0.0, "recognising")
        front = "denoised" if utt.denoised else "raw"
        if VOICES_FRONT_END and not utt.denoised:
            cleaned = _cleaned(audio, VOICES_FRONT_END)
            if cleaned is not None:
                audio, front = cleaned, VOICES_FRONT_END
        again = Recognition(FREE) if mode == "free" else _catalog_recognition(model)
        # as in the first hearing, the recogniser is told what it hears only where a denoiser ran (and so
        # said "raw" or "denoised"); sound cleaned just now is always named
        named = cleaner is not None or front != "raw"
        heard = decode_all(again, audio, step=1600, front=front if named else None)
        for h, f in zip(heard, first) if isinstance(heard, tuple) else ((heard, first),):
            h.decode_seconds += f.decode_seconds
    used = mode
    if isinstance(heard, tuple):
        lm, grammar = heard
        text, results = _combined(db_path, idx, lm, grammar, limit, W_GRAMMAR_VOICES if span is not None else None)
        heard = Heard(text, text.split(), lm.score, lm.frames, lm.decode_seconds + grammar.decode_seconds)
    else:
        results = _results(db_path, idx, heard.text, limit)
    decode = heard.decode_seconds
    if mode == "catalog" and fallback and not heard.words:
        # the catalog's words explained none of it: try plain English dictation on the same audio
        yield LevelProgress(1, 1, "Trying free dictation…", 0.0, "recognising")
        free = recognize(audio, FREE)
        decode += free.decode_seconds
        free_results = _results(db_path, idx, free.text, limit)
        if free_results and (not results or free_results[0]["score"] > results[0]["score"]):
            heard, results, used = free, free_results, "free"
    after_end = time.perf_counter() - utt.end_time
    wait = {"silence": vad.hangover, "level": vad.voices_hangover}.get(utt.ended_by, 0.0)  # the VAD's wait for the end
    audio_seconds = max(utt.heard_seconds, 1e-6)
    timings = {
        "audio_seconds": utt.heard_seconds,
        "speech_seconds": utt.speech_seconds,
        "decode_seconds": decode,
        "rtf": decode / audio_seconds,
        "endpoint_wait": wait,
        "after_end_seconds": after_end,
        "latency": wait + after_end,
        "load_seconds": load_seconds,
        "denoised": float(utt.denoised),
        "trimmed": float(span is not None),
    }
    warnings = list(utt.warnings)
    if not heard.words:
        raise UserError("Something was heard, but no words could be made out. Try again a little slower.")
    warnings += _match_warnings(results)
    return VoiceResult(heard.text.strip(), results, used, warnings, timings)
