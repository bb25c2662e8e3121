"""Offline recognition with pocketsphinx: the catalog's title grammar and language model, or free dictation.

Decoders take a second or so to load, so they are kept per model in a small pool and reused; each
recognition borrows one (so two threads never share a decoder). Audio is fed as it is captured.
:class:`CatalogRecognition` feeds the same audio to two decoders at once: one held to the catalog's titles
(grammar), one free within the catalog's words (language model, for partial queries).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shopai.jobs import UserError

FREE = "free"
GRAMMAR = "/grammar"  # pool key suffix of a catalog model's grammar decoder
# Digital silence (exact zeros between synthesized words, a muted input's padding) makes the grammar search
# lose its path; real microphones never send it. A fixed noise floor about 60 dB below full scale is added.
_FLOOR_RMS = 30.0
_POOL: dict[str, list] = {}
_LOCK = threading.Lock()
# The cepstral mean each kind of decoder last ended with, per kind of sound ("raw" or "denoised"). A decoder
# starts from the mean of the last utterance; after a denoised one (noise taken out: much lower energy) that is a
# bad start for raw sound in babble (development set: babble decoded raw lost 8 and won 1 of 89 queries).
_CMN: dict[tuple[str, str], str] = {}


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


def _new_decoder(key: str, dic_path: Path | None, lm_path: Path | None, fsg_path: Path | None = None):
    try:
        from pocketsphinx import Decoder
    except ImportError as exc:  # pragma: no cover - a dependency
        raise UserError(f"The speech recogniser (pocketsphinx) is not installed ({exc}).") from None
    model = _model_dir()
    if key == FREE:
        kw = dict(dict=str(model / "cmudict-en-us.dict"), lm=str(model / "en-us.lm.bin"))
    elif fsg_path is not None:
        # the default beams (1e-48) prune the right title away before its end on a third of noisy queries;
        # 1e-80 hears about one query in 40 better than 1e-72, at 1.2-1.5x the time (RTF ~0.04 clean, ~0.09
        # noisy). A lattice rescoring pass adds nothing.
        kw = dict(dict=str(dic_path), fsg=str(fsg_path), beam=1e-80, pbeam=1e-80, wbeam=1e-60, bestpath=False)
    else:
        kw = dict(dict=str(dic_path), lm=str(lm_path))
    try:
        # pl_window: phone look-ahead, prunes early; on our bench as accurate and ~25% faster
        return Decoder(hmm=str(model / "en-us"), loglevel="ERROR" if fsg_path is None else "FATAL", pl_window=5,
                       dither=True, seed=1, **kw)
    except (RuntimeError, ValueError) as exc:
        raise UserError(f"The speech model could not be loaded ({exc}). It will be rebuilt next time.") from None


class Recognition:
    """One utterance through one borrowed decoder: ``feed`` audio as it comes, then ``finish``."""

    def __init__(self, key: str, dic_path: Path | None = None, lm_path: Path | None = None,
                 fsg_path: Path | None = None):
        self.key = key + GRAMMAR if fsg_path is not None else key
        with _LOCK:
            pool = _POOL.setdefault(self.key, [])
            self._decoder = pool.pop() if pool else None
        if self._decoder is None:
            self._decoder = _new_decoder(key, dic_path, lm_path, fsg_path)
        self._floor = np.random.default_rng(0)  # the same noise floor for the same sound, run after run
        self._decoder.start_utt()
        self._busy = 0.0
        self._done = False
        self._in_utt = True
        self._front: str | None = None

    def hears(self, front: str) -> None:
        """Before the first audio: the sound will be ``front`` ("raw" or "denoised"); start from the cepstral
        mean the last utterance of that kind of sound left."""
        self._front = front
        with _LOCK:
            cmn = _CMN.get((self.key, front))
        if cmn:
            self._decoder.set_cmn(cmn)

    def feed(self, pcm: np.ndarray) -> None:
        t = time.perf_counter()
        x = pcm + self._floor.normal(0.0, _FLOOR_RMS, len(pcm))
        x = np.clip(np.round(x), -32768, 32767).astype(np.int16)
        self._decoder.process_raw(x.tobytes(), False, False)
        self._busy += time.perf_counter() - t

    def finish(self) -> Heard:
        t = time.perf_counter()
        dec = self._decoder
        dec.end_utt()
        self._in_utt = False
        if self._front is not None:
            with _LOCK:
                _CMN[(self.key, self._front)] = dec.get_cmn(False)
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
    return decode_all(Recognition(key, dic_path, lm_path), pcm)


def decode_all(rec: Recognition | CatalogRecognition, pcm: np.ndarray, step: int = 16_000, front: str | None = None):
    """Feed a whole 16 kHz utterance (int16 scale) to ``rec`` in blocks of ``step`` samples, after telling it the
    kind of sound it hears (``front``, if given); returns its hearing(s) and releases it."""
    try:
        if front is not None:
            rec.hears(front)
        for i in range(0, len(pcm), step):
            rec.feed(pcm[i:i + step])
        return rec.finish()
    finally:
        rec.release()


class CatalogRecognition:
    """One utterance through the catalog's grammar and its language model at once (same audio, two decoders).

    ``finish`` returns (language model, grammar) hearings; the grammar's is empty if its decoder failed.
    """

    def __init__(self, key: str, dic_path: Path, lm_path: Path, fsg_path: Path):
        self.lm = Recognition(key, dic_path, lm_path)
        try:
            self.grammar = Recognition(key, dic_path, fsg_path=fsg_path)
        except BaseException:
            self.lm.release()
            raise

    def hears(self, front: str) -> None:
        self.lm.hears(front)
        self.grammar.hears(front)

    def feed(self, pcm: np.ndarray) -> None:
        self.lm.feed(pcm)
        self.grammar.feed(pcm)

    def finish(self) -> tuple[Heard, Heard]:
        return self.lm.finish(), self.grammar.finish()

    def release(self) -> None:
        self.lm.release()
        self.grammar.release()


def forget_models(keep: str | None = None) -> None:
    """Drop pooled decoders of other catalog models (after the catalog changed)."""
    with _LOCK:
        for key in list(_POOL):
            if key not in (FREE, keep, f"{keep}{GRAMMAR}"):
                del _POOL[key]
        for key in [k for k in _CMN if k[0] not in (FREE, keep, f"{keep}{GRAMMAR}")]:
            del _CMN[key]
