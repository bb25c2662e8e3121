"""The one capture path: any :class:`AudioSource` -> 16 kHz mono -> energy VAD -> the speech, streamed.

:func:`listen` is a job (generator). It reads blocks, averages channels, resamples with a streaming
polyphase filter (same output as ``scipy.signal.resample_poly`` on the whole recording), reports the level
for a meter, finds where speech starts and ends from frame energy against a tracked noise floor, and feeds
the speech (with a little lead-in) to a ``sink`` as it arrives, so recognition runs while the person talks.
It ends when the speech ends (a pause), when the source ends (button released, file over) or at the cap.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from math import floor, gcd
from typing import Protocol

import numpy as np

from shopai.jobs import Job, Progress, UserError
from shopai.voice import endpoint
from shopai.voice.audio import TARGET_RATE, AudioSource, to_float_mono

FRAME = 160  # 10 ms at 16 kHz


@dataclass(frozen=True)
class LevelProgress(Progress):
    """Progress of a listening job, with the input level (0..1) for a meter and the state."""

    level: float = 0.0
    state: str = "listening"  # listening | speech | recognising


class Sink(Protocol):
    """Where the captured 16 kHz speech goes (a recogniser). A sink may also have ``hears(kind)``: it is then told
    once, when speech starts, whether it gets the "raw" or the "denoised" sound (to start from that kind's
    cepstral mean); sinks without it (level meters, test recorders) are just fed."""

    def feed(self, pcm: np.ndarray) -> None: ...


LISTENING = "Listening…"  # what the progress says while listening
# ... and instead, when other people were talking before the query: their talk leaves no pause; listening until a
# pause then ends on the query's level standing above theirs (until_pause()), which needs the owner near the mic
VOICES_AROUND = "Listening… other voices around, so speak close to the microphone"


@dataclass
class VadConfig:
    onset_db: float = 9.0  # frames this far above the noise floor count as speech
    offset_db: float = 5.0  # speech goes on while frames stay this far above it
    # ... and this far above the mean level of the sound before the speech: the floor tracks the noise's
    # dips, and steady noise (a fan, pink noise) swings a few dB above it frame by frame
    offset_over_noise_db: float = 4.0
    offset_smooth: int = 5  # frames (10 ms each) averaged for the end-of-speech decision
    min_speech_db: float = -50.0  # and never quieter than this (dBFS)
    onset_frames: int = 4  # of the last 6 frames, this many loud ones start speech
    hangover: float = 0.5  # seconds of quiet that end speech
    # after other voices (or unmeasured noise): seconds back at the noise's level that end speech, judged on the
    # query's own loudness (endpoint.query_over); 0: never (a release or the file's end ends the query), see
    # until_pause()
    voices_hangover: float = 0.0
    min_speech: float = 0.15  # shorter bursts are clicks, not speech
    lead_in: float = 0.3  # seconds kept before the detected start
    wait: float = 8.0  # live sources: give up when nobody speaks for this long


def until_pause() -> VadConfig:
    """The end rules when only the speech itself can end the query (listening until a pause, no button to let
    go): amid other voices, whose talk leaves no pause, also end 0.7 s after the sound is back at their level."""
    return VadConfig(voices_hangover=0.7)


@dataclass
class Utterance:
    audio: np.ndarray  # int16, 16 kHz mono: the speech with lead-in and trailing quiet
    heard_seconds: float  # all audio read
    speech_start: float  # seconds into what was read
    speech_end: float
    ended_by: str  # silence | level (amid other voices, see VadConfig.voices_hangover) | release | end | cap
    end_time: float  # time.perf_counter() when the end of speech was decided
    denoised: bool = False  # ``audio`` (and what the sink heard) is the denoised sound
    speech_in_audio: tuple[int, int] = (0, 0)  # the VAD's speech as samples of ``audio`` (after the lead-in)
    warnings: list[str] = field(default_factory=list)

    @property
    def speech_seconds(self) -> float:
        return max(0.0, self.speech_end - self.speech_start)


class StreamResampler:
    """Polyphase resampling block by block, equal to ``resample_poly`` over the whole signal."""

    def __init__(self, rate_in: int, rate_out: int = TARGET_RATE):
        g = gcd(int(rate_in), int(rate_out))
        self.up, self.down = rate_out // g, rate_in // g
        half = 10 * max(self.up, self.down)  # resample_poly's default filter half-length (upsampled domain)
        pad = -(-half // self.up) + 2  # in input samples
        self.pad = -(-pad // self.down) * self.down  # a whole number of `down` periods
        self._buf = np.zeros(self.pad, dtype=np.float32)  # zeros before the start, as resample_poly assumes
        self._start = -self.pad  # input index of _buf[0]
        self._next = 0  # next input index whose output has not been produced
        self._n_in = 0
        self._h = None
        if self.up != self.down:
            from scipy.signal import firwin

            # resample_poly's own default filter, designed once instead of on every block
            self._h = firwin(2 * half + 1, 1.0 / max(self.up, self.down), window=("kaiser", 5.0)).astype(np.float32)

    def process(self, x: np.ndarray, final: bool = False) -> np.ndarray:
        if self.up == self.down:
            return x
        from scipy.signal import resample_poly

        self._buf = np.concatenate([self._buf, x])
        self._n_in += len(x)
        if final:
            end = -(-self._n_in // self.down) * self.down
            tail = end + self.pad - (self._start + len(self._buf))
            self._buf = np.concatenate([self._buf, np.zeros(tail, np.float32)])
        else:
            end = ((self._start + len(self._buf) - self.pad) // self.down) * self.down
        if end <= self._next:
            return np.zeros(0, dtype=np.float32)
        lo = self._next - self.pad - self._start
        hi = end + self.pad - self._start
        y = resample_poly(self._buf[lo:hi], self.up, self.down, window=self._h).astype(np.float32)
        skip = self.pad * self.up // self.down
        keep = (end - self._next) * self.up // self.down
        out = y[skip:skip + keep]
        if final:
            out = out[: -(-self._n_in * self.up // self.down) - self._next * self.up // self.down]
        # keep only what the next call needs
        self._next = end
        cut = self._next - self.pad - self._start
        self._buf = self._buf[cut:]
        self._start += cut
        return out


class EnergyVad:
    """Frame energy against a noise floor that falls fast and rises slowly."""

    def __init__(self, cfg: VadConfig):
        self.cfg = cfg
        self.floor: float | None = None
        self.recent: list[bool] = []
        self.start_speech()

    def start_speech(self, noise_db: float = -100.0) -> None:
        self._powers: list[float] = []  # the last few frames' mean power, in speech
        self.noise_db = noise_db  # mean level before the speech

    @staticmethod
    def power(frame: np.ndarray) -> float:
        """Mean power of a frame (int16 sample units squared)."""
        return float(np.mean(frame.astype(np.float64) ** 2))

    @staticmethod
    def to_db(power: float) -> float:
        return float(10.0 * np.log10(power + 1e-10))

    def update_floor(self, e: float, in_speech: bool) -> None:
        if self.floor is None or e < self.floor:
            self.floor = e if self.floor is None else 0.5 * self.floor + 0.5 * e
        else:
            self.floor += (0.0005 if in_speech else 0.01) * (e - self.floor)

    def is_loud(self, e: float, margin: float) -> bool:
        floor = self.floor if self.floor is not None else -100.0
        return e > max(floor + margin, self.cfg.min_speech_db)

    def noise_level(self, before_db: list[float]) -> float:
        """Mean level (dB) of the frames before the speech that are near the floor: the noise, not a word's
        soft start or an earlier word; -100 (no such rule) when under 0.25 s of sound came before the speech
        (then the floor itself may be the start of a word)."""
        floor = self.floor if self.floor is not None else -100.0
        quiet = np.array([d for d in before_db if d < floor + self.cfg.offset_db])
        if len(quiet) < 25:
            return -100.0
        return float(10.0 * np.log10(np.mean(10.0 ** (quiet / 10.0))))

    def speech_goes_on(self, power: float) -> bool:
        """In speech: is this frame (its ``power``, smoothed over the last few) still speech rather than the
        noise after it?"""
        self._powers = (self._powers + [power])[-self.cfg.offset_smooth:]
        e = self.to_db(float(np.mean(self._powers)))
        return self.is_loud(e, self.cfg.offset_db) and e > self.noise_db + self.cfg.offset_over_noise_db


def listen(
    source: AudioSource,
    sink: Sink | None = None,
    cfg: VadConfig | None = None,
    max_seconds: float = 15.0,
    denoiser=None,
) -> Job[Utterance]:
    """Job: capture one spoken query from ``source``; returns the :class:`Utterance`.

    ``denoiser`` (see :mod:`shopai.voice.denoise`) runs beside the VAD on the whole 16 kHz stream; when speech
    starts, the sink gets the denoised sound unless the noise before the speech was other people talking
    (``denoiser.keeps_raw``), where the raw sound decodes better. The VAD always hears the raw sound. After
    other voices (``denoiser.voices_before``) the progress says :data:`VOICES_AROUND`: their talk hides the pause
    that would end the query.

    Raises UserError when no speech was heard. Closing the generator stops and closes the source.
    """
    cfg = cfg or VadConfig()
    vad = EnergyVad(cfg)
    resampler: StreamResampler | None = None
    pending = np.zeros(0, dtype=np.float32)  # 16 kHz samples not yet cut into frames
    pending_dn = np.zeros(0, dtype=np.float32)  # the same, denoised (a few samples behind)
    history: list[np.ndarray] = []  # frames before speech (ring, lead-in + look-back)
    history_dn: list[np.ndarray] = []  # the same frames, denoised
    use_dn = False  # the sink hears the denoised sound
    denoising = denoiser is not None  # stops when the speech starts and the raw sound is kept (saves its time)
    history_db: list[float] = []
    speech: list[np.ndarray] = []
    max_history = int(1.5 * TARGET_RATE / FRAME)
    n_frames = 0
    start_frame = end_frame = None
    quiet = 0
    loud_frames = 0
    clipped = 0
    total = 0
    ended_by = "end"
    end_time = None
    hang = int(cfg.hangover * TARGET_RATE / FRAME)
    warnings: list[str] = []
    level = 0.0
    last_yield = 0.0

    voices = False  # other people were talking before the speech: its end will not be heard as a pause
    voices_hang = int(cfg.voices_hangover * TARGET_RATE / FRAME)
    level_end = False  # end on the query's own level (endpoint.query_over), not on the pause rule alone
    powers: list[float] = []  # with level_end: raw power of each frame since the speech started (and look-back)
    to_sink: list[np.ndarray] = []  # speech frames not yet handed to the sink (handed over ~every 0.1 s)

    def emit(frames: list[np.ndarray], flush: bool = False) -> None:
        to_sink.extend(frames)
        if sink is not None and to_sink and (flush or len(to_sink) >= 10):
            sink.feed(_pcm16(np.concatenate(to_sink)))
            to_sink.clear()

    source.start()
    try:
        yield LevelProgress(0, max_seconds, LISTENING, 0.0, "listening")
        done = False
        while not done:
            block = source.read(0.1)
            final = block is None
            if final:
                x = np.zeros(0, dtype=np.float32)
            else:
                if resampler is None:
                    resampler = StreamResampler(source.sample_rate)
                x = to_float_mono(block)
                if len(x) == 0:
                    yield LevelProgress(n_frames * FRAME / TARGET_RATE, max_seconds, LISTENING, level,
                                        "speech" if start_frame is not None else "listening")
                    continue
                clipped += int(np.count_nonzero(np.abs(x) >= 0.999))
                total += len(x)
            if resampler is not None:
                x = resampler.process(x, final=final)
            pending = np.concatenate([pending, x])
            n_whole = len(pending) // FRAME
            if denoising:
                pending_dn = np.concatenate([pending_dn, denoiser.process(x, final=final)])
                n_whole = min(n_whole, len(pending_dn) // FRAME)
            frames = pending[: n_whole * FRAME].reshape(n_whole, FRAME) if n_whole else []
            pending = pending[n_whole * FRAME:]
            frames_dn = frames
            if denoising:
                frames_dn = pending_dn[: n_whole * FRAME].reshape(n_whole, FRAME) if n_whole else []
                pending_dn = pending_dn[n_whole * FRAME:]
            for frame, frame_dn in zip(frames, frames_dn):
                n_frames += 1
                power = vad.power(frame)
                e = vad.to_db(power)
                level = min(1.0, max(0.0, (e + 60.0) / 60.0))
                if start_frame is None:
                    vad.update_floor(e, False)
                    vad.recent = (vad.recent + [vad.is_loud(e, cfg.onset_db)])[-6:]
                    history.append(frame)
                    history_dn.append(frame_dn)
                    history_db.append(e)
                    if sum(vad.recent) >= cfg.onset_frames:
                        # look back over contiguous loud frames (speech from the very first sample)
                        k = len(history) - len(vad.recent)
                        while k > 0 and vad.is_loud(history_db[k - 1], cfg.offset_db):
                            k -= 1
                        noise_db = vad.noise_level(history_db[:k])
                        lead = int(cfg.lead_in * TARGET_RATE / FRAME)
                        missing = max(0, lead - k)  # speech from the first sample: pad with quiet
                        start_frame = n_frames - (len(history) - k)
                        if denoising:
                            # the sound before the look-back is the noise (if any): other voices or not?
                            voices = denoiser.voices_before(start_frame - k, start_frame)
                            use_dn = not denoiser.keeps_raw(start_frame - k, start_frame)
                            denoising = use_dn
                            if sink is not None and hasattr(sink, "hears"):
                                sink.hears("denoised" if use_dn else "raw")
                        k = max(0, k - lead)
                        speech = [_quiet(missing * FRAME)] * (missing > 0) + (history_dn if use_dn else history)[k:]
                        emit(speech)
                        vad.start_speech(noise_db)
                        # the noise before the speech was other voices, or too short to measure
                        level_end = bool(voices_hang) and (voices or noise_db <= -100.0)
                        if level_end:
                            powers = [10.0 ** (d / 10.0) for d in history_db[len(history_db) - (n_frames - start_frame):]]
                        history, history_dn, history_db = [], [], []
                        loud_frames = 0
                        quiet = 0
                    elif len(history) > max_history:
                        del history[0], history_dn[0], history_db[0]
                    if source.realtime and n_frames * FRAME / TARGET_RATE > cfg.wait:
                        done = True
                        break
                else:
                    speech.append(frame_dn if use_dn else frame)
                    emit([speech[-1]])
                    vad.update_floor(e, True)
                    if level_end:
                        powers.append(power)
                    if level_end and len(powers) % 10 == 0 and endpoint.query_over(np.array(powers), voices_hang):
                        # back at the other voices' level for a while: the query is over. The VAD's speech runs
                        # to here, as the recogniser heard it (the second look trims it to the query)
                        ended_by = "level"
                        end_time = time.perf_counter()
                        done = True
                        break
                    if vad.speech_goes_on(power):
                        quiet = 0
                        loud_frames += 1
                    else:
                        quiet += 1
                    if quiet >= hang:
                        if loud_frames * FRAME / TARGET_RATE < cfg.min_speech:
                            # a click: forget it and keep listening
                            history, history_dn, history_db, speech, start_frame = [], [], [], [], None
                            vad.recent = []
                            continue
                        ended_by = "silence"
                        end_frame = n_frames - quiet
                        end_time = time.perf_counter()
                        done = True
                        break
                if n_frames * FRAME >= max_seconds * TARGET_RATE:
                    ended_by = "cap"
                    warnings.append(f"Only the first {max_seconds:.0f} seconds of sound were used{_longer(source)}.")
                    done = True
                    break
            if final:
                if ended_by != "cap" and not done:
                    ended_by = "release" if source.realtime else "end"
                    if start_frame is not None:  # cut off mid-speech: let the recogniser hear an ending
                        end_time = time.perf_counter()
                        tail = _quiet(int(cfg.lead_in * TARGET_RATE))
                        speech.append(tail)
                        emit([tail])
                done = True
            if start_frame is not None:
                emit([], flush=True)  # what this block brought reaches the recogniser now
            now = time.perf_counter()
            if done or now - last_yield > 0.05:
                last_yield = now
                yield LevelProgress(n_frames * FRAME / TARGET_RATE, max_seconds,
                                    VOICES_AROUND if voices and start_frame is not None else LISTENING, level,
                                    "speech" if start_frame is not None else "listening")
    finally:
        try:
            source.stop()
        finally:
            source.close()
    if end_time is None:
        end_time = time.perf_counter()
    if start_frame is None or not speech:
        if total and clipped / max(1, total) > 0.01:
            raise UserError("The sound is distorted (too loud). Speak a little further from the microphone.")
        if ended_by == "cap":  # a long recording whose speech (if any) comes later than the part that is used
            raise UserError(f"No speech was heard in the first {max_seconds:.0f} seconds: only the first "
                            f"{max_seconds:.0f} seconds of a recording are used{_longer(source)}. "
                            "Cut the recording to the spoken query and try again.")
        raise UserError("No speech was heard. Speak closer to the microphone, or check it is not muted.")
    if total and clipped / total > 0.002:
        warnings.append("The sound was too loud and is distorted; results may be worse.")
    if source.sample_rate < TARGET_RATE:
        warnings.append(
            f"The recording is {source.sample_rate // 1000} kHz (telephone quality); results may be worse."
        )
    if end_frame is None:
        end_frame = n_frames
    audio = _pcm16(np.concatenate(speech)) if speech else np.zeros(0, np.int16)
    lead = int(cfg.lead_in * TARGET_RATE / FRAME) * FRAME  # speech always starts this far into ``audio``
    return Utterance(
        audio=audio,
        heard_seconds=n_frames * FRAME / TARGET_RATE,
        speech_start=start_frame * FRAME / TARGET_RATE,
        speech_end=end_frame * FRAME / TARGET_RATE,
        ended_by=ended_by,
        end_time=end_time,
        denoised=use_dn,
        speech_in_audio=(lead, min(len(audio), lead + (end_frame - start_frame) * FRAME)),
        warnings=warnings,
    )


def _longer(source: AudioSource) -> str:
    """The length of a source that knows it (a WAV file), as '; this one is 10 min long'; else ''."""
    seconds = getattr(source, "total_seconds", None)
    if not seconds:
        return ""
    if seconds >= 90:
        return f"; this one is {seconds / 60:.0f} min long"
    return f"; this one is {floor(seconds * 10) / 10:g} s long"  # 15.49 s is not "15 s": it is longer


def _quiet(n: int) -> np.ndarray:
    """Near-silence (a faint, fixed hiss) to pad speech that starts or stops at the edge of the sound."""
    return np.random.default_rng(n).normal(0.0, 1e-4, n).astype(np.float32)


def _pcm16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)
