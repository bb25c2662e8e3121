"""Does listening end by itself after a spoken query, as in a shop where the noise goes on (Ctrl+Space)?

The bench's and the dev set's utterances stop 0.7 s after the words, so they cannot show whether the capture
ends before the sound does. This takes the dev set's clean utterances (``voice_dev.py``: products that are not
the sample shop's, the bench's voice set-ups) and puts each over 1.5 s of noise before it and 4 s after, at
``--snr`` dB (babble of the dev titles, pink noise or hum, the dev set's own noise beds). Each is captured as the
app does (RNNoise beside the VAD), with the end rules of listening until a pause (Ctrl+Space:
``capture.until_pause()``) and with the plain rules of holding to talk, where letting go ends the query
(``VadConfig()``: here the end of the sound), and searched in the dev catalog.

    nice -n 10 .venv/bin/python bench/voice_end_dev.py [--noise babble pink hum] [--snr 10] [--limit 40]

Prints, per noise and rule: the share of queries where listening ended by itself (before the sound did), how
long it listened after the words ended (median, 10th and 90th percentile), and hit@1. The decoders carry their
cepstral mean over from one query to the next, as in the app; here both rules hear each utterance starting from
the same carried state, so their hit@1 differ by what the rules do, not by the order they ran in.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import voice_bench as vb  # noqa: E402
import voice_dev as vd  # noqa: E402

LEAD, TAIL = 1.5, 4.0  # seconds of noise before and after the words


def words_only(path: Path) -> np.ndarray:
    """A clean utterance at 16 kHz, cut to its words (frames above -40 dB of its loudest)."""
    from scipy.signal import resample_poly

    rate, s = vb.read_float(path)
    if rate != 16000:
        g = np.gcd(rate, 16000)
        s = resample_poly(s, 16000 // g, rate // g)
    e = np.convolve(s ** 2, np.ones(160) / 160, "same")
    on = np.flatnonzero(e > 1e-4 * e.max())
    return s[on[0]:on[-1] + 1]


def long_mix(s: np.ndarray, bed: np.ndarray, snr: float, rng) -> np.ndarray:
    n = len(s) + int((LEAD + TAIL) * 16000)
    start = int(rng.integers(0, len(bed) - n))
    y = bed[start:start + n].astype(np.float64)
    y *= np.sqrt(vb.active_power(s, 16000) / (y ** 2).mean() / 10 ** (snr / 10))
    y[int(LEAD * 16000):int(LEAD * 16000) + len(s)] += s
    return (0.7 * y / np.abs(y).max()).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--noise", nargs="+", default=list(vb.NOISES), choices=vb.NOISES)
    ap.add_argument("--snr", type=float, default=10.0)
    ap.add_argument("--limit", type=int, default=40, help="this many dev utterances per noise")
    ap.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "shopai_voice_dev"))
    args = ap.parse_args(argv)

    from shopai.jobs import UserError, run_job
    from shopai.voice.audio import StreamSource
    from shopai.voice.capture import VadConfig, until_pause
    from shopai.voice import recognizer
    from shopai.voice.search import prepare, voice_search

    voices = vb.available_voices()
    rows = vd.dev_catalog()
    items = [it for it in vd.dev_corpus(Path(args.cache), rows, voices) if it["condition"] == "clean"][: args.limit]
    beds = vb.noise_beds(Path(args.cache), voices, [r["title"] for r in rows], seed=8)
    db = vb.make_shop(rows, "voice_end_dev_")
    run_job(prepare(db))
    print(f"{len(items)} dev utterances per noise, {LEAD:g} s of noise before and {TAIL:g} s after, {args.snr:g} dB SNR")
    print("| noise | end rules | ended by itself | listened after the words: median (p10-p90) | hit@1 |")
    print("|---|---|---:|---:|---:|")
    for noise in args.noise:
        rng = np.random.default_rng(5)
        mixes = [(it["sku"], words_only(it["path"])) for it in items]
        mixes = [(sku, len(s) / 16000 + LEAD, long_mix(s, beds[noise], args.snr, rng)) for sku, s in mixes]
        rules = {"until a pause (Ctrl+Space)": until_pause(), "held to talk": VadConfig()}
        after = {label: [] for label in rules}
        itself, hits = dict.fromkeys(rules, 0), dict.fromkeys(rules, 0)
        for cfg in rules.values():  # warm-up, not counted: every decoder both rules use has a carried state
            for _sku, _end, y in mixes[:2]:
                try:
                    run_job(voice_search(db, StreamSource(y, 16000), vad=cfg))
                except UserError:
                    pass
        for sku, words_end, y in mixes:
            # each decoder carries its cepstral mean over from the query before: both rules start each
            # utterance from the same carried state (held to talk's, as the app would have it)
            carried = dict(recognizer._CMN)
            for label, cfg in rules.items():
                recognizer._CMN.clear()
                recognizer._CMN.update(carried)
                try:
                    res = run_job(voice_search(db, StreamSource(y, 16000), vad=cfg))
                except UserError:
                    after[label].append(np.nan)
                    continue
                heard = res.timings["audio_seconds"]
                after[label].append(heard - words_end)
                itself[label] += heard < len(y) / 16000 - 0.05
                hits[label] += [r["sku"] for r in res.results[:1]] == [sku]
        for label in rules:
            a = np.array(after[label])
            print(f"| {noise} | {label} | {itself[label] / len(mixes):.0%} | {np.nanmedian(a):.2f} s "
                  f"({np.nanpercentile(a, 10):.2f}-{np.nanpercentile(a, 90):.2f}) | {hits[label]}/{len(mixes)} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
