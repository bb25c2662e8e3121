"""Where sound comes from: one small interface, a microphone, a WAV file and a recorded stream.

Every source hands out raw blocks (frames x channels, any dtype, at its own rate); :mod:`shopai.voice.capture`
turns them into 16 kHz mono the same way for all of them. The microphone's audio callback only puts blocks
on a queue; the capture loop (a worker thread) drains it.
"""
from __future__ import annotations

import queue
import re
import threading
import time
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from shopai.jobs import UserError

TARGET_RATE = 16_000
MIN_RATE, MAX_RATE = 8_000, 48_000


@runtime_checkable
class AudioSource(Protocol):
    """A stream of sound blocks.

    ``read`` returns the next block (an array of frames, or frames x channels), an empty array when
    nothing has arrived yet, or None once the source has ended (``stop`` was called and the queue is
    drained, or a file ran out). Problems a person can fix raise :class:`UserError`.
    """

    sample_rate: int
    realtime: bool  # True for a live device: the capture loop waits on it rather than racing through

    def start(self) -> None: ...

    def read(self, timeout: float = 0.1) -> np.ndarray | None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


class StreamSource:
    """A recorded stream: an array played out in blocks (tests, and the body of :class:`WavSource`)."""

    realtime = False

    def __init__(self, samples: np.ndarray, sample_rate: int, block_seconds: float = 0.05):
        if not MIN_RATE <= int(sample_rate) <= MAX_RATE:
            raise UserError(
                f"The sound is sampled at {sample_rate} Hz; voice search takes 8,000 to 48,000 Hz."
            )
        self.samples = samples
        self.sample_rate = int(sample_rate)
        self._block = max(1, int(block_seconds * self.sample_rate))
        self._pos = 0
        self._stopped = False

    def start(self) -> None:
        self._pos = 0
        self._stopped = False

    def read(self, timeout: float = 0.1) -> np.ndarray | None:
        if self._stopped or self._pos >= len(self.samples):
            return None
        block = self.samples[self._pos:self._pos + self._block]
        self._pos += self._block
        return np.asarray(block)

    def stop(self) -> None:
        self._stopped = True

    def close(self) -> None:
        pass


class WavSource(StreamSource):
    """A WAV file (8–48 kHz, mono or stereo, 8/16/24/32-bit integer or float), read lazily.

    Only the first ``max_seconds`` are ever read, so a ten-minute file costs no more than a short one.
    """

    def __init__(self, path: str | Path, max_seconds: float = 30.0, block_seconds: float = 0.05):
        path = Path(path)
        rate, data = read_wav(path)
        self.path = path
        self.total_seconds = len(data) / rate if rate else 0.0
        super().__init__(data[: int(max_seconds * rate)], rate, block_seconds)


def read_wav(path: Path) -> tuple[int, np.ndarray]:
    """(rate, samples) of a WAV file, memory-mapped where possible; plain-words errors for bad files."""
    from scipy.io import wavfile

    if not path.is_file():
        raise UserError(f"There is no file {path}.")
    with open(path, "rb") as f:
        head = f.read(12)
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
        raise UserError(f"{path.name} is not a WAV sound file. Save the recording as WAV and try again.")
    try:
        try:
            rate, data = wavfile.read(str(path), mmap=True)
        except ValueError:  # 24-bit and some float files cannot be memory-mapped
            rate, data = wavfile.read(str(path))
    except Exception as exc:  # scipy raises ValueError/struct.error/etc. for broken headers: say what it means
        compressed = re.match(r"Unknown wave file format: (\w+)", str(exc))
        if compressed:
            raise UserError(
                f"{path.name} is a compressed WAV file ({compressed.group(1)}), which voice search cannot read. "
                "Save the recording as plain (PCM) WAV and try again."
            ) from None
        raise UserError(
            f"{path.name} could not be read: the file is cut short or is not a WAV sound file. "
            "Save the recording as WAV again and try again."
        ) from None
    if data.size == 0:
        raise UserError(f"{path.name} holds no sound.")
    if data.ndim == 2 and data.shape[1] > 8:
        raise UserError(f"{path.name} has {data.shape[1]} channels; use a mono or stereo recording.")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise UserError(
            f"{path.name} is sampled at {rate} Hz; voice search takes 8,000 to 48,000 Hz recordings."
        )
    return rate, data


def to_float_mono(block: np.ndarray) -> np.ndarray:
    """A block of any sample format as float32 in [-1, 1], channels averaged."""
    block = np.asarray(block)
    if block.dtype == np.int16:
        x = block.astype(np.float32) / 32768.0
    elif block.dtype == np.int32:
        x = block.astype(np.float32) / 2147483648.0
    elif block.dtype == np.uint8:
        x = (block.astype(np.float32) - 128.0) / 128.0
    elif np.issubdtype(block.dtype, np.floating):
        x = block.astype(np.float32, copy=False)
    else:
        raise UserError(f"Sound samples of type {block.dtype} are not supported.")
    if x.ndim == 2:
        x = x.mean(axis=1)
    return np.ascontiguousarray(x.reshape(-1), dtype=np.float32)


# -- microphone ------------------------------------------------------------------------------------------------

def _sounddevice() -> Any:
    try:
        import sounddevice
    except (ImportError, OSError) as exc:  # OSError: the PortAudio library is missing
        raise UserError(f"Sound input is not available on this computer ({exc}).") from None
    return sounddevice


def input_devices(sd: Any = None) -> list[dict]:
    """Input devices as ``{"index", "name", "default"}``; empty when there is none (or no sound system)."""
    try:
        sd = sd or _sounddevice()
        devices = sd.query_devices()
    except UserError:
        return []
    except Exception:
        return []
    try:
        default_in = sd.default.device[0]
    except Exception:
        default_in = None
    out = []
    for i, d in enumerate(devices):
        if d.get("max_input_channels", 0) > 0:
            out.append({"index": d.get("index", i), "name": d["name"], "default": d.get("index", i) == default_in})
    return out


class MicSource:
    """The microphone via sounddevice: 16 kHz mono when the device allows it, else its own rate.

    ``device`` is an index or a name as sounddevice takes it (None: the system's default input).
    """

    realtime = True
    STALL_SECONDS = 1.5  # no block for this long while running: the device has gone

    def __init__(self, device: int | str | None = None, sd: Any = None, block_seconds: float = 0.05):
        self.device = device
        self._sd = sd
        self.block_seconds = block_seconds
        self.sample_rate = TARGET_RATE
        self._queue: queue.Queue = queue.Queue()
        self._stream = None
        self._stopping = threading.Event()
        self._last_block = 0.0
        self.status_flags: list[str] = []

    def _callback(self, indata, frames, time_info, status) -> None:  # audio thread: queue only
        if status:
            self.status_flags.append(str(status))
        self._queue.put(indata.copy())

    def start(self) -> None:
        sd = self._sd or _sounddevice()
        self._sd = sd
        if not input_devices(sd):
            raise UserError("No microphone was found. Plug one in (or allow access to it) and try again.")
        try:
            info = sd.query_devices(self.device, kind="input")
        except Exception:
            raise UserError(f"The microphone {self.device!r} is not available. Pick another one.") from None
        rate = TARGET_RATE
        try:
            sd.check_input_settings(device=self.device, channels=1, samplerate=TARGET_RATE, dtype="float32")
        except Exception:
            rate = int(info.get("default_samplerate") or 44_100)
        self.sample_rate = rate
        self._stopping.clear()
        try:
            self._stream = sd.InputStream(
                device=self.device, channels=1, samplerate=rate, dtype="float32",
                blocksize=int(rate * self.block_seconds), callback=self._callback,
            )
            self._stream.start()
        except Exception as exc:
            self._stream = None
            raise UserError(
                f"The microphone could not be opened ({exc}). Check that ShopAI may use it "
                "(system privacy settings) and that no other program holds it."
            ) from None
        self._last_block = time.monotonic()

    def read(self, timeout: float = 0.1) -> np.ndarray | None:
        try:
            block = self._queue.get(timeout=timeout)
            self._last_block = time.monotonic()
            return block
        except queue.Empty:
            pass
        if self._stopping.is_set():
            return None
        stream = self._stream
        gone = stream is None or not getattr(stream, "active", True)
        if gone or time.monotonic() - self._last_block > self.STALL_SECONDS:
            self.close()
            raise UserError("The microphone stopped sending sound (was it unplugged?). Check it and try again.")
        return np.zeros((0,), dtype=np.float32)

    def stop(self) -> None:
        """End the recording: what is queued is still read, then ``read`` returns None."""
        self._stopping.set()
        stream = self._stream
        if stream is not None:
            try:
                stream.stop()
            except Exception:
                pass

    def close(self) -> None:
        self._stopping.set()
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close()
            except Exception:
                pass
