"""The Voice search tab with a recorded stream standing in for the microphone."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

DATA = Path(__file__).resolve().parents[1] / "data" / "voice"
TITLES = [
    ("85123A", "White Hanging Heart T-light Holder"), ("21733", "Red Hanging Heart T-light Holder"),
    ("22727", "Alarm Clock Bakelike Red"), ("22726", "Alarm Clock Bakelike Green"),
    ("21770", "Open Closed Metal Sign"), ("47566", "Party Bunting"), ("20685", "Doormat Red Retrospot"),
]


class PlayedRecording:
    """A live-like source: plays a WAV in real time-ish blocks, then quiet, until stopped."""

    realtime = True

    def __init__(self, path: Path, speed: float = 4.0):
        self.sample_rate, self.data = wavfile.read(path)
        self.data = np.concatenate([np.zeros(self.sample_rate // 4, self.data.dtype), self.data])
        self.block = self.sample_rate // 20
        self.speed = speed
        self.pos = 0
        self.stopped = False
        self.closed = False

    def start(self):
        pass

    def read(self, timeout=0.1):
        if self.stopped:
            return None
        time.sleep(0.05 / self.speed)
        if self.pos >= len(self.data):
            return np.zeros(self.block, np.int16)
        block = self.data[self.pos:self.pos + self.block]
        self.pos += self.block
        return block

    def stop(self):
        self.stopped = True

    def close(self):
        self.closed = True


@pytest.fixture
def shop_ctx(ctx):
    ctx.db.conn.executemany("INSERT INTO products (sku, title, price) VALUES (?, ?, 2.5)", TITLES)
    return ctx


@pytest.fixture
def tab(qtbot, shop_ctx, monkeypatch):
    from shopai_ui.tabs import voice

    sources = []

    def fake_source(device):
        sources.append(PlayedRecording(DATA / "white_hanging_heart.wav"))
        return sources[-1]

    monkeypatch.setattr(voice, "make_source", fake_source)
    w = voice.VoiceTab(shop_ctx)
    w.sources = sources
    qtbot.addWidget(w)
    w.resize(1100, 600)
    w.show()
    yield w
    w.shutdown()


def test_hold_talk_release_shows_products_best_first(qtbot, tab):
    from PySide6.QtCore import Qt

    qtbot.mousePress(tab.talk, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.session.state in ("listening", "speech"), timeout=5000)
    levels = []
    tab.session.levelChanged.connect(levels.append)
    qtbot.waitUntil(lambda: tab.session.state == "speech", timeout=10000)
    src = tab.sources[0]
    qtbot.waitUntil(lambda: src.pos >= len(src.data), timeout=10000)  # said it all, then let go
    qtbot.mouseRelease(tab.talk, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.session.state == "results", timeout=30000)
    assert tab.results.item(0, 1).text() == "85123A"
    assert tab.heard.text()
    assert max(levels) > 0.3
    assert tab.sources[0].closed


def test_editing_what_was_heard_searches_again(qtbot, tab):
    tab.heard.setText("alarm clock bake like green")
    tab._on_heard_edited()
    assert tab.state_label.text() == "Searching the catalog…"  # typed: nothing is being recognised
    qtbot.waitUntil(lambda: tab.session.state == "results", timeout=20000)
    assert tab.results.item(0, 1).text() == "22726"
    assert tab.results.item(0, 3).text() == "2.50"


def test_chinese_names_are_found_by_typing_and_the_tab_says_they_cannot_be_spoken(qtbot, shop_ctx, monkeypatch):
    """Typing 景德镇青花瓷杯 said "Nothing in the catalog sounds like that", and nothing said that the
    recogniser hears English only."""
    from shopai_ui.tabs import voice

    shop_ctx.db.conn.executemany("INSERT INTO products (sku, title, price) VALUES (?, ?, 68)",
                                 [("JDZ-001", "景德镇青花瓷杯"), ("JDZ-002", "青花瓷马克杯"), ("TEE-1", "T恤 男款 纯棉")])
    monkeypatch.setattr(voice, "make_source", lambda device: None)
    tab = voice.VoiceTab(shop_ctx)
    qtbot.addWidget(tab)
    tab.show()
    qtbot.waitUntil(lambda: tab.language_note.isVisible(), timeout=60000)
    assert "English words only: 3 of 10 products" in tab.language_note.text()
    tab.heard.setText("景德镇青花瓷杯")
    tab._on_heard_edited()
    qtbot.waitUntil(lambda: tab.session.state == "results", timeout=20000)
    assert [tab.results.item(r, 1).text() for r in range(tab.results.rowCount())] == ["JDZ-001"]
    assert tab.results.item(0, 0).text() == "100%" and "guesses" not in tab.message.label.text()
    tab.heard.setText("青花")
    tab._on_heard_edited()
    qtbot.waitUntil(lambda: tab.session.state == "results" and tab.results.rowCount() == 2, timeout=20000)
    assert {tab.results.item(r, 1).text() for r in range(2)} == {"JDZ-001", "JDZ-002"}
    tab.shutdown()


def test_no_microphone_is_a_message_not_a_crash(qtbot, shop_ctx, monkeypatch):
    from shopai.voice import audio
    from shopai_ui.tabs import voice

    class NoDevices:
        default = type("D", (), {"device": (None, None)})()

        def query_devices(self, device=None, kind=None):
            if kind:
                raise ValueError("no device")
            return []

    monkeypatch.setattr(audio, "_sounddevice", lambda: NoDevices())
    w = voice.VoiceTab(shop_ctx)
    qtbot.addWidget(w)
    assert not w.device.isEnabled() and "No microphone" in w.message.text()
    w.start_listening()
    qtbot.waitUntil(lambda: w.message.kind == "error", timeout=20000)
    assert "No microphone" in w.message.text()
    assert w.session.state == "idle"
    w.shutdown()


def test_bad_recording_file_is_a_message(qtbot, tab, tmp_path):
    bad = tmp_path / "x.wav"
    bad.write_text("hello")
    tab.search_file(str(bad))
    assert tab.message.kind == "error" and "not a WAV" in tab.message.text()


def test_an_error_clears_the_last_query(qtbot, tab, tmp_path, monkeypatch):
    """After an error the tab no longer shows the previous query's hearing and products as if they were this
    one's, and the state line does not say "Results"; a typed query that fails keeps its text to correct."""
    from shopai.jobs import UserError
    from shopai.voice import search

    def searched(text):
        tab.heard.setText(text)
        tab._on_heard_edited()
        qtbot.waitUntil(lambda: tab.session.state == "results" and tab.results.rowCount() > 0, timeout=20000)

    bad = tmp_path / "cut.wav"
    bad.write_bytes(b"RIFF4$\x01\x00WAVEfmt \x10\x00\x00\x00\x01\x00")  # a header cut short
    silent = tmp_path / "silent.wav"
    wavfile.write(silent, 16000, np.zeros(32000, np.int16))
    for path, said in ((bad, "cut short"), (silent, "No speech"), (tmp_path / "missing.wav", "no file")):
        searched("party bunting")
        tab.search_file(str(path))
        qtbot.waitUntil(lambda: tab.message.kind == "error", timeout=20000)
        assert said in tab.message.text()
        assert tab.results.rowCount() == 0 and tab.heard.text() == "", path.name
        assert tab.state_label.text() != "Results" and tab.session.state == "idle"

    def failing(db_path, text, limit=10):
        raise UserError("The catalog is empty.")
        yield  # a job

    searched("party bunting")
    monkeypatch.setattr(search, "text_search", failing)
    tab.heard.setText("party buntin")
    tab._on_heard_edited()
    qtbot.waitUntil(lambda: tab.message.kind == "error", timeout=20000)
    assert tab.results.rowCount() == 0 and tab.heard.text() == "party buntin"


def test_device_choice_is_saved(qtbot, tab):
    from shopai_ui.tabs import voice

    voice.save_device(tab.ctx, "USB mic")
    assert voice.load_device(tab.ctx) == "USB mic"


def test_mic_button_gives_the_catalog_box_a_title(qtbot, shop_ctx, monkeypatch):
    from PySide6.QtCore import Qt

    from shopai_ui.tabs import voice

    src = PlayedRecording(DATA / "alarm_clock_red.wav")
    monkeypatch.setattr(voice, "make_source", lambda device: src)
    got = []
    button = voice.MicButton(shop_ctx, got.append)
    qtbot.addWidget(button)
    qtbot.mousePress(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: button.session.state == "speech", timeout=10000)
    qtbot.waitUntil(lambda: src.pos >= len(src.data), timeout=10000)
    qtbot.mouseRelease(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(got), timeout=30000)
    assert got == ["Alarm Clock Bakelike Red"]
    button.shutdown()


def test_recognising_says_which_step_runs(qtbot, tab):
    """A second look at noisy sound takes longer: the tab says so instead of a bare "Recognising…"."""
    from shopai.voice.capture import LevelProgress

    tab.session._on_progress(LevelProgress(1, 1, "Recognising…", 0.0, "recognising"))
    assert tab.state_label.text() == "Recognising…"
    tab.session._on_progress(LevelProgress(1, 1, "Other voices around: recognising the words alone…", 0.0,
                                           "recognising"))
    assert tab.state_label.text() == "Other voices around: recognising the words alone…"
    tab.session._on_progress(LevelProgress(1, 1, "Listening…", 0.4, "speech"))  # plain listening: the state's words
    assert tab.state_label.text() == "Listening… (hearing you)"
    from shopai.voice.capture import VOICES_AROUND

    tab.session._on_progress(LevelProgress(1, 1, VOICES_AROUND, 0.4, "speech"))  # other voices around: the advice shows
    assert tab.state_label.text() == VOICES_AROUND


def test_ctrl_space_listens_until_a_pause_even_amid_voices(qtbot, tab, monkeypatch):
    """Ctrl+Space has no button to let go, so its capture also ends on the query's level amid other voices;
    held to talk, letting go ends it (the plain rules)."""
    from shopai.jobs import UserError
    from shopai.voice import search

    seen = []

    def fake_search(db_path, source, mode="catalog", vad=None):
        seen.append(vad)
        raise UserError("No speech was heard.")
        yield  # a job

    monkeypatch.setattr(search, "voice_search", fake_search)
    tab._toggle_listening()  # what Ctrl+Space does
    qtbot.waitUntil(lambda: len(seen) == 1 and tab.session.state not in ("listening", "speech"), timeout=5000)
    assert seen[0] is not None and seen[0].voices_hangover > 0
    tab.start_listening()  # the button held, or F9
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=5000)
    assert seen[1] is None
