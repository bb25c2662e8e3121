"""Where the query is inside a finished utterance, from its own loudness: the second look at end-pointing.

The streaming VAD (:mod:`shopai.voice.capture`) compares frames with a noise floor that follows the noise's
dips. Other people talking (babble) rises well above those dips, so there the VAD opens in the noise before the
query and runs on after it, and the recogniser hears babble words around the title. The person asking is
nearer the microphone than the other talkers, so the query is louder than the noise under it; once the whole
utterance is in, its frame levels show two groups, the noise and the query. :func:`query_span` takes the span
whose level stays above the midpoint between the two (the quiet group's level: a low percentile of all frames;
the query's: a high one), and :func:`trimmed_span` says whether that span cuts enough of what the VAD called
speech to be worth decoding again.
"""
from __future__ import annotations

import numpy as np

RATE = 16_000
FRAME = 160  # 10 ms
SMOOTH = 15  # frames averaged (150 ms: syllables, not single phones; babble's own ups and downs even out)
NOISE_PCT, QUERY_PCT = 20, 95  # percentiles of the smoothed frame levels taken as the noise's and the query's
BRIDGE = 0.4  # s: quieter gaps up to this long (pauses between words) stay inside the query
PAD_BEFORE, PAD_AFTER = 0.15, 0.2  # s kept around the loud span (soft onsets, a word's fading end)
MIN_CUT = 0.25  # s of the VAD's speech the span must cut before the utterance is decoded again
MIN_FRAMES = 50  # under 0.5 s of sound: no two groups to tell apart
MIN_CONTRAST_DB = 6.0  # the query's level must stand this far above the noise's to end on it


def frame_levels(audio: np.ndarray) -> np.ndarray:
    """Smoothed level (dB) of each 10 ms frame of 16 kHz audio (int16 or float)."""
    x = np.asarray(audio, np.float64)
    n = len(x) // FRAME
    return smoothed_levels((x[: n * FRAME].reshape(n, FRAME) ** 2).mean(axis=1))


def smoothed_levels(powers: np.ndarray) -> np.ndarray:
    """Frame powers smoothed over ``SMOOTH`` frames, in dB."""
    smooth = np.convolve(np.asarray(powers, np.float64), np.ones(SMOOTH) / SMOOTH, mode="same")
    return 10.0 * np.log10(smooth + 1e-10)


def loud_frames(levels: np.ndarray) -> tuple[np.ndarray, float]:
    """Which frames belong to the query's (loud) group rather than the noise's: above the midpoint between the
    two groups' levels (a low and a high percentile of all frames); and how far apart the groups are (dB)."""
    low, high = np.percentile(levels, [NOISE_PCT, QUERY_PCT])
    return levels > 0.5 * (low + high), float(high - low)


def query_span(audio: np.ndarray) -> tuple[int, int]:
    """(start, end) in samples of the query inside ``audio``: the stretch above the midpoint between the noise's
    and the query's level (gaps up to ``BRIDGE`` bridged) that holds the most sound energy, padded a little.
    The whole audio when it is too short to judge."""
    levels = frame_levels(audio)
    n = len(levels)
    if n < MIN_FRAMES:
        return 0, len(audio)
    loud, _ = loud_frames(levels)
    edges = np.flatnonzero(np.diff(np.r_[0, loud.astype(np.int8), 0]))
    runs = edges.reshape(-1, 2)  # [start, end) of each loud run
    if not len(runs):  # one level throughout (digital silence): nothing stands out
        return 0, len(audio)
    merged: list[list[int]] = []
    for a, b in runs:
        if merged and a - merged[-1][1] <= BRIDGE * RATE / FRAME:
            merged[-1][1] = b
        else:
            merged.append([int(a), int(b)])
    power = 10.0 ** (levels / 10.0)
    a, b = max(merged, key=lambda r: float(power[r[0]:r[1]].sum()))
    a = max(0, a - int(PAD_BEFORE * RATE / FRAME))
    b = min(n, b + int(PAD_AFTER * RATE / FRAME))
    return a * FRAME, (len(audio) if b == n else b * FRAME)


def trimmed_span(audio: np.ndarray, vad_start: int, vad_end: int) -> tuple[int, int] | None:
    """The query's span when it cuts at least ``MIN_CUT`` s off the VAD's speech (samples ``vad_start`` ..
    ``vad_end`` of ``audio``): the VAD took some of the noise for speech. None when the VAD's span stands (clean
    speech, or steady noise the VAD already left out)."""
    start, end = query_span(audio)
    cut = max(0, start - vad_start) + max(0, vad_end - end)
    return (start, end) if cut >= MIN_CUT * RATE else None


def query_over(powers: np.ndarray, quiet_frames: int) -> bool:
    """While listening amid other voices: has the query ended? True once the sound since the start of speech
    (``powers``: each 10 ms frame's mean power) shows the noise and the query as two groups (as
    :func:`query_span` sees them, at least ``MIN_CONTRAST_DB`` apart) and the last ``quiet_frames`` frames
    were all at the noise's level. Their talk never leaves the pause the streaming VAD waits for."""
    n = len(powers)
    if n < MIN_FRAMES + quiet_frames:
        return False
    loud, contrast = loud_frames(smoothed_levels(powers))
    return bool(contrast >= MIN_CONTRAST_DB and loud[: n - quiet_frames].any() and not loud[n - quiet_frames:].any())
