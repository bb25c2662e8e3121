"""Every kind of bad photo gives a clear UserError for that file; odd but valid ones load as 8-bit RGB."""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from shopai.categorize.images import dhash, hamming, letterbox, load_image
from shopai.jobs import UserError


def jpeg_bytes(size=(40, 30), mode="RGB"):
    buf = io.BytesIO()
    Image.new(mode, size, (10, 120, 200) if mode == "RGB" else (10, 120, 200, 0)).save(buf, "JPEG")
    return buf.getvalue()


def test_zero_byte(tmp_path):
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    with pytest.raises(UserError, match="empty.jpg: the file is empty"):
        load_image(p)


def test_not_an_image(tmp_path):
    p = tmp_path / "notes.jpg"
    p.write_text("hello, this is a text file")
    with pytest.raises(UserError, match="notes.jpg: not a photo"):
        load_image(p)


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_image(tmp_path / "nope.png")


def test_truncated_jpeg(tmp_path):
    p = tmp_path / "cut.jpg"
    data = jpeg_bytes((200, 200))
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="cut.jpg: the photo is cut off"):
        load_image(p)


def test_corrupt_png(tmp_path):
    p = tmp_path / "bad.png"
    buf = io.BytesIO()
    Image.new("RGB", (50, 50), "red").save(buf, "PNG")
    data = bytearray(buf.getvalue())
    data[60:90] = b"\x00" * 30  # smash the IDAT stream
    p.write_bytes(bytes(data))
    with pytest.raises(UserError, match="bad.png"):
        load_image(p)


def test_decompression_bomb_refused_before_decoding(tmp_path):
    """A PNG whose header claims 100,000 x 100,000 pixels is refused from the header alone."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b"")
    p = tmp_path / "bomb.png"
    p.write_bytes(png)
    with pytest.raises(UserError, match="bomb.png: the image is too large"):
        load_image(p)


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    p = tmp_path / "print.jpg"
    Image.new("CMYK", (20, 20), (0, 255, 255, 0)).save(p, "JPEG")
    img = load_image(p)
    assert img.mode == "RGB"
    r, g, b = img.getpixel((10, 10))
    assert r > 200 and g < 60 and b < 60


def test_16_bit_png_becomes_8_bit(tmp_path):
    p = tmp_path / "deep.png"
    arr = np.linspace(0, 65535, 32 * 32).reshape(32, 32).astype(np.uint16)
    Image.fromarray(arr).save(p)
    assert Image.open(p).mode.startswith("I")
    img = load_image(p)
    assert img.mode == "RGB"
    a = np.asarray(img)
    assert a.max() > 240 and a.min() < 10


def test_animated_gif_first_frame(tmp_path):
    p = tmp_path / "spin.gif"
    frames = [Image.new("RGB", (16, 16), c) for c in ("red", "green", "blue")]
    frames[0].save(p, save_all=True, append_images=frames[1:], duration=100, loop=0)
    img = load_image(p)
    assert img.mode == "RGB" and img.getpixel((5, 5))[0] > 200


def test_transparent_png_on_white(tmp_path):
    p = tmp_path / "cutout.png"
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(p)
    assert load_image(p).getpixel((3, 3)) == (255, 255, 255)


def test_letterbox_and_dhash():
    img = Image.new("RGB", (60, 80), "white")
    img.paste((0, 0, 0), (20, 20, 40, 60))
    arr = letterbox(img, 32)
    assert arr.shape == (32, 32, 3) and arr.dtype == np.uint8 and arr[0, 0, 0] == 255
    other = img.copy()
    other.putpixel((1, 1), (250, 250, 250))
    assert hamming(dhash(img), dhash(other)) <= 2
