"""Offline recognition with pocketsphinx: the catalog's own language model, or free dictation.

Decoders take a second or so to load, so they are kept per model in a small pool and reused; each
recognition borrows one (so two threads never share a decoder). Audio is fed as it is captured.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shopai.jobs import UserError

FREE = "free"
_POOL: dict[str, list] = {}
_LOCK = threading.Lock()


@dataclass
class Heard:
    text: str
    words: list[str]
    score: int  # acoustic + language score of the best path (log domain, larger is better)
    frames: int
    decode_seconds: float  # CPU-side time spent in the decoder


def _model_dir() -> Path:
    from pocketsphinx import get_model_path

    return Path(get_model_path()) / "en-us"


def _new_decoder(key: str, dic_path: Path | None, lm_path: Path | None):
    try:
        from pocketsphinx import Decoder
    except ImportError as exc:  # pragma: no cover - a dependency
        raise UserError(f"The speech recogniser (pocketsphinx) is not installed ({exc}).") from None
    model = _model_dir()
    if key == FREE:
        kw = dict(dict=str(model / "cmudict-en-us.dict"), lm=str(model / "en-us.lm.bin"))
    else:
        kw = dict(dict=str(dic_path), lm=str(lm_path))
    try:
        # pl_window: phone look-ahead, prunes early; on our bench as accurate and ~25% faster
        return Decoder(hmm=str(model / "en-us"), loglevel="ERROR", pl_window=5, dither=True, seed=1, **kw)
    except (RuntimeError, ValueError) as exc:
        raise UserError(f"The speech model could not be loaded ({exc}). It will be rebuilt next time.") from None


class Recognition:
    """One utterance through one borrowed decoder: ``feed`` audio as it comes, then ``finish``."""

    def __init__(self, key: str, dic_path: Path | None = None, lm_path: Path | None = None):
        self.key = key
        with _LOCK:
            pool = _POOL.setdefault(key, [])
            self._decoder = pool.pop() if pool else None
        if self._decoder is None:
            self._decoder = _new_decoder(key, dic_path, lm_path)
        self._decoder.start_utt()
        self._busy = 0.0
        self._done = False
        self._in_utt = True

    def feed(self, pcm: np.ndarray) -> None:
        t = time.perf_counter()
        self._decoder.process_raw(np.ascontiguousarray(pcm, dtype=np.int16).tobytes(), False, False)
        self._busy += time.perf_counter() - t

    def finish(self) -> Heard:
        t = time.perf_counter()
        dec = self._decoder
        dec.end_utt()
        self._in_utt = False
        hyp = dec.hyp()
        words = [s.word for s in dec.seg()] if hyp is not None else []
        words = [w.split("(")[0] for w in words if not (w.startswith("<") or w.startswith("[") or w.startswith("+"))]
        frames = dec.n_frames()
        self._busy += time.perf_counter() - t
        self.release()
        return Heard(" ".join(words), words, hyp.score if hyp is not None else 0, frames, self._busy)

    def release(self) -> None:
        """Give the decoder back to the pool (also when the job was cancelled)."""
        if self._done:
            return
        self._done = True
        dec = self._decoder
        if self._in_utt:
            self._in_utt = False
            try:
                dec.end_utt()
            except Exception:
                pass
        with _LOCK:
            pool = _POOL.setdefault(self.key, [])
            if len(pool) < 2:
                pool.append(dec)


def recognize(pcm: np.ndarray, key: str, dic_path: Path | None = None, lm_path: Path | None = None) -> Heard:
    """Decode a whole 16 kHz int16 utterance at once."""
    rec = Recognition(key, dic_path, lm_path)
    try:
        step = 16_000
        for i in range(0, len(pcm), step):
            rec.feed(pcm[i:i + step])
        return rec.finish()
    finally:
        rec.release()


def forget_models(keep: str | None = None) -> None:
    """Drop pooled decoders of other catalog models (after the catalog changed)."""
    with _LOCK:
        for key in list(_POOL):
            if key not in (FREE, keep):
                del _POOL[key]
