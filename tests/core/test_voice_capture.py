"""The capture path: resampling, formats, the energy VAD, bad input, the microphone without a device."""
from __future__ import annotations

import shutil
import subprocess
import threading
import time

import numpy as np
import pytest
from scipy.signal import resample_poly

from shopai.jobs import UserError, run_job
from shopai.voice.audio import MicSource, StreamSource, WavSource, input_devices, read_wav, to_float_mono
from shopai.voice.capture import StreamResampler, VadConfig, listen

RATE = 16_000


def burst_signal(rate=RATE, lead=0.5, speech=1.0, tail=1.0, noise=0.0, seed=0):
    """Quiet, then a 'voiced' stretch (harmonics with a syllable rhythm), then quiet."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(speech * rate)) / rate
    voiced = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((140, 280, 420, 700), 1))
    voiced *= 0.25 * (0.05 + 0.95 * np.sin(2 * np.pi * 3 * t + 0.3) ** 2)  # syllables
    x = np.concatenate([np.zeros(int(lead * rate)), voiced, np.zeros(int(tail * rate))])
    return (x + rng.normal(0, noise or 1e-4, len(x))).astype(np.float32)


class Collect:
    def __init__(self):
        self.chunks = []

    def feed(self, pcm):
        assert pcm.dtype == np.int16
        self.chunks.append(pcm)


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 44100, 48000])
def test_streaming_resampler_equals_resample_poly(rate):
    rng = np.random.default_rng(rate)
    x = rng.normal(0, 0.3, rate + 77).astype(np.float32)
    r = StreamResampler(rate)
    out, i = [], 0
    while i < len(x):
        n = int(rng.integers(1, 2000))
        out.append(r.process(x[i:i + n]))
        i += n
    out.append(r.process(np.zeros(0, np.float32), final=True))
    y = np.concatenate(out)
    g = np.gcd(RATE, rate)
    ref = resample_poly(x, RATE // g, rate // g)
    assert len(y) == len(ref)
    assert np.max(np.abs(y - ref)) < 1e-4


def test_sample_formats_become_float_mono():
    stereo16 = np.array([[32767, -32768], [0, 0]], dtype=np.int16)
    assert np.allclose(to_float_mono(stereo16), [0.0, 0.0], atol=1e-4)
    assert np.allclose(to_float_mono(np.array([16384], np.int16)), [0.5])
    assert np.allclose(to_float_mono(np.array([255, 128], np.uint8)), [127 / 128, 0.0])
    assert np.allclose(to_float_mono(np.array([[0.5, 0.25]], np.float64)), [0.375])
    assert to_float_mono(np.array([2**30], np.int32))[0] == pytest.approx(0.5)


def test_vad_finds_speech_between_pauses():
    sink = Collect()
    utt = run_job(listen(StreamSource(burst_signal(), RATE), sink=sink))
    assert utt.ended_by == "silence"
    assert 0.3 <= utt.speech_start <= 0.5
    assert 1.45 <= utt.speech_end <= 1.6
    fed = np.concatenate(sink.chunks)
    assert len(fed) == len(utt.audio) and np.array_equal(fed, utt.audio)
    assert utt.heard_seconds < 2.3  # stopped at the pause, not at the end of the stream


def pink_noise(n, seed=0):
    """1/f noise (most of its power low, swinging a few dB frame to frame, like a fan or traffic)."""
    spec = np.fft.rfft(np.random.default_rng(seed).normal(0, 1, n))
    spec /= np.sqrt(np.maximum(np.arange(len(spec)), 1))
    x = np.fft.irfft(spec, n)
    return (x / x.std()).astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_noise_10_db_under_the_voice_ends_the_query(seed):
    """Noise before, under and after the speech: the query still ends at a pause (within about a second of the
    speech's end), not when the noise does (a margin over the noise floor alone waited for the end of the file)."""
    x = burst_signal(lead=0.5, tail=3.0)
    speech = x[int(0.5 * RATE): int(1.5 * RATE)]
    noise = pink_noise(len(x), seed) * np.sqrt(np.mean(speech ** 2) / 10)  # 10 dB SNR
    utt = run_job(listen(StreamSource(x + noise, RATE)))
    assert utt.ended_by == "silence"
    assert 0.3 <= utt.speech_start <= 0.55 and 1.4 <= utt.speech_end <= 2.7
    assert utt.heard_seconds < 3.3


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
@pytest.mark.parametrize("text", ["Assorted Colours Silk Fan", "Ivory Kitchen Scales"])
def test_noise_rules_do_not_cut_clean_speech(tmp_path, text):
    """Speech that starts at once, softly: its start is no measure of the noise, and nothing is cut."""
    path = tmp_path / "s.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text], check=True, capture_output=True)
    plain = VadConfig(offset_over_noise_db=-100.0, offset_smooth=1)
    ref = run_job(listen(WavSource(path), cfg=plain))
    utt = run_job(listen(WavSource(path)))
    assert utt.speech_start == pytest.approx(ref.speech_start, abs=0.02)
    assert utt.speech_end == pytest.approx(ref.speech_end, abs=0.1)


def test_speech_from_the_first_sample_gets_a_lead_in():
    utt = run_job(listen(StreamSource(burst_signal(lead=0.0, tail=0.0), RATE)))
    assert utt.ended_by == "end"
    assert np.abs(utt.audio[: int(0.2 * RATE)]).max() < 50  # quiet was added before the speech
    assert np.abs(utt.audio).max() > 3000


@pytest.mark.parametrize("rate,channels", [(8000, 1), (44100, 2), (48000, 2)])
def test_any_rate_and_channels_give_the_same_segment(rate, channels):
    x = burst_signal()
    g = np.gcd(rate, RATE)
    y = resample_poly(x, rate // g, RATE // g).astype(np.float32)
    if channels == 2:
        y = np.stack([y, y], axis=1)
    utt = run_job(listen(StreamSource(y, rate)))
    assert 0.3 <= utt.speech_start <= 0.5 and 1.45 <= utt.speech_end <= 1.65
    assert any("telephone" in w for w in utt.warnings) == (rate == 8000)


def test_silence_and_steady_noise_are_no_speech():
    with pytest.raises(UserError, match="No speech"):
        run_job(listen(StreamSource(np.zeros(2 * RATE, np.int16), RATE)))
    noise = np.random.default_rng(1).normal(0, 0.2, 3 * RATE).astype(np.float32)
    with pytest.raises(UserError, match="No speech"):
        run_job(listen(StreamSource(noise, RATE)))


def test_a_click_is_not_speech():
    x = np.random.default_rng(2).normal(0, 1e-4, 2 * RATE).astype(np.float32)
    x[RATE:RATE + 80] = 0.8
    with pytest.raises(UserError, match="No speech"):
        run_job(listen(StreamSource(x, RATE)))


def test_clipping_is_reported():
    x = np.clip(burst_signal() * 20, -1, 1)
    utt = run_job(listen(StreamSource(x, RATE)))
    assert any("too loud" in w for w in utt.warnings)


def test_long_recording_is_capped_quickly():
    x = np.tile(burst_signal(lead=0.0, speech=1.0, tail=0.1), 400)  # ~7 minutes of talking, no pause
    t = time.perf_counter()
    utt = run_job(listen(StreamSource(x, RATE), max_seconds=5))
    assert utt.ended_by == "cap" and utt.heard_seconds == pytest.approx(5, abs=0.05)
    assert any("first 5 seconds" in w for w in utt.warnings)
    assert time.perf_counter() - t < 5


def test_ten_minute_wav_reads_only_the_start(tmp_path):
    from scipy.io import wavfile

    path = tmp_path / "long.wav"
    x = (np.tile(burst_signal(), 240) * 32767).astype(np.int16)  # 10 minutes
    wavfile.write(path, RATE, x)
    src = WavSource(path, max_seconds=20)
    assert src.total_seconds == pytest.approx(600, abs=1)
    assert len(src.samples) == 20 * RATE


@pytest.mark.parametrize(
    "content,match",
    [(b"", "not a WAV"), (b"hello, this is text not sound" * 10, "not a WAV"),
     (b"RIFF\x10\x00\x00\x00WAVEfmt \xff\xff\xff\xff", "could not be read: the file is cut short"),
     (b"RIFF4$\x01\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x80>\x00\x00\x00}", "cut short"),  # header cut
     (b"RIFF\x00\x00\x00\x00WAVE", "cut short")],
)
def test_files_that_are_not_audio(tmp_path, content, match):
    path = tmp_path / "x.wav"
    path.write_bytes(content)
    with pytest.raises(UserError, match=match) as err:
        read_wav(path)
    assert "unpack" not in str(err.value) and "buffer" not in str(err.value) and "(" not in str(err.value)


def test_compressed_wav_is_named_in_plain_words(tmp_path):
    import struct

    from scipy.io import wavfile

    path = tmp_path / "adpcm.wav"
    wavfile.write(path, RATE, np.zeros(1600, np.int16))
    data = bytearray(path.read_bytes())
    data[20:22] = struct.pack("<H", 0x11)  # the format tag: IMA ADPCM
    path.write_bytes(bytes(data))
    with pytest.raises(UserError, match="compressed WAV file .*plain \\(PCM\\) WAV"):
        read_wav(path)


def test_speech_after_the_part_that_is_used_says_so(tmp_path):
    """Only the first max_seconds of a recording are listened to: a file whose words come later is told so, with
    its length, rather than "no speech was heard, speak closer"."""
    from scipy.io import wavfile

    path = tmp_path / "late.wav"
    wavfile.write(path, RATE, (burst_signal(lead=8.0) * 32767).astype(np.int16))  # 10.5 s, speech at 8 s
    with pytest.raises(UserError, match=r"first 5 seconds of a recording are used; this one is 10 s long"):
        run_job(listen(WavSource(path), max_seconds=5))
    long = tmp_path / "long.wav"
    wavfile.write(long, RATE, (np.tile(burst_signal(lead=0.0, speech=1.0, tail=0.1), 120) * 32767).astype(np.int16))
    utt = run_job(listen(WavSource(long), max_seconds=5))  # talk all through 2 min: the cap, and its length
    assert any("first 5 seconds" in w and "this one is 2 min long" in w for w in utt.warnings)
    with pytest.raises(UserError, match="No speech was heard. Speak closer"):  # short and silent: as before
        run_job(listen(StreamSource(np.zeros(RATE, np.int16), RATE), max_seconds=5))


def test_unsupported_rate_and_missing_file(tmp_path):
    from scipy.io import wavfile

    path = tmp_path / "hi.wav"
    wavfile.write(path, 96_000, np.zeros(9600, np.int16))
    with pytest.raises(UserError, match="96000 Hz"):
        read_wav(path)
    with pytest.raises(UserError, match="no file"):
        read_wav(tmp_path / "missing.wav")


def test_closing_the_job_stops_the_source():
    class Tracking(StreamSource):
        closed = False

        def close(self):
            Tracking.closed = True

    job = listen(Tracking(burst_signal(), RATE))
    next(job)
    job.close()
    assert Tracking.closed


# -- the microphone, with a stand-in for sounddevice -------------------------------------------------------------

class FakeStream:
    def __init__(self, sd, callback, samplerate, blocksize, **kw):
        self.sd, self.callback, self.rate, self.block = sd, callback, samplerate, blocksize
        self.active = False
        self._thread = None

    def start(self):
        if self.sd.open_error:
            raise self.sd.open_error
        self.active = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):  # the audio thread: plays the recording in blocks, like a device would
        data = self.sd.recording
        for i in range(0, len(data), self.block):
            if not self.active:
                return
            if self.sd.vanish_after is not None and i >= self.sd.vanish_after * self.rate:
                self.active = False  # unplugged
                return
            self.callback(data[i:i + self.block].reshape(-1, 1), self.block, None, None)
            time.sleep(self.sd.block_sleep)

    def stop(self):
        self.active = False

    def close(self):
        self.active = False


class FakeSoundDevice:
    def __init__(self, devices=None, recording=None, open_error=None, vanish_after=None):
        self.devices = devices if devices is not None else [
            {"index": 0, "name": "Fake mic", "max_input_channels": 1, "default_samplerate": 16000.0}]
        self.recording = recording if recording is not None else np.zeros(RATE, np.float32)
        self.open_error = open_error
        self.vanish_after = vanish_after
        self.block_sleep = 0.0
        self.default = type("D", (), {"device": (0, 0)})()

    def query_devices(self, device=None, kind=None):
        if kind is None:
            return self.devices
        if not self.devices:
            raise ValueError("no input device")
        return self.devices[0]

    def check_input_settings(self, **kw):
        pass

    def InputStream(self, **kw):  # noqa: N802 - sounddevice's name
        return FakeStream(self, **kw)


def test_no_microphone_is_a_clear_message():
    sd = FakeSoundDevice(devices=[])
    assert input_devices(sd) == []
    with pytest.raises(UserError, match="No microphone"):
        run_job(listen(MicSource(sd=sd)))


def test_access_denied_is_a_clear_message():
    sd = FakeSoundDevice(open_error=RuntimeError("Error opening InputStream: Device unavailable [-9985]"))
    with pytest.raises(UserError, match="could not be opened"):
        run_job(listen(MicSource(sd=sd)))


def test_device_gone_mid_recording():
    sd = FakeSoundDevice(recording=burst_signal(lead=0.3, speech=3.0), vanish_after=1.0)
    mic = MicSource(sd=sd)
    mic.STALL_SECONDS = 0.3
    with pytest.raises(UserError, match="stopped sending sound"):
        run_job(listen(mic))


def test_microphone_stream_goes_through_the_same_path():
    sd = FakeSoundDevice(recording=burst_signal())
    sink = Collect()
    utt = run_job(listen(MicSource(sd=sd), sink=sink))
    assert utt.ended_by == "silence" and 0.3 <= utt.speech_start <= 0.5
    assert np.array_equal(np.concatenate(sink.chunks), utt.audio)


def test_release_ends_the_query():
    sd = FakeSoundDevice(recording=burst_signal(lead=0.3, speech=5.0, tail=0.0))
    sd.block_sleep = 0.01
    mic = MicSource(sd=sd)
    job = listen(mic, cfg=VadConfig())
    t = time.perf_counter()
    progress = []
    try:
        while True:
            progress.append(next(job))
            if time.perf_counter() - t > 0.5:
                mic.stop()  # the button is released
    except StopIteration as stop:
        utt = stop.value
    assert utt.ended_by == "release" and utt.heard_seconds < 3
    assert any(getattr(p, "level", 0) > 0.3 for p in progress)


def test_cli_device_list_as_json_is_json_alone(monkeypatch, capsys):
    import json

    import shopai.voice.audio as audio
    from shopai.cli.main import main

    monkeypatch.setattr(audio, "input_devices", lambda *a: [{"index": 3, "name": "USB mic", "default": True}])
    assert main(["voice-search", "--list-devices", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"index": 3, "name": "USB mic", "default": True}]


def test_a_recording_just_over_the_limit_is_not_said_to_be_as_long_as_it():
    from types import SimpleNamespace

    from shopai.voice.capture import _longer

    assert _longer(SimpleNamespace(total_seconds=15.49)) == "; this one is 15.4 s long"
    assert _longer(SimpleNamespace(total_seconds=10.0)) == "; this one is 10 s long"
    assert _longer(SimpleNamespace(total_seconds=600.0)) == "; this one is 10 min long"
