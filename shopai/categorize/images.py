"""Safe photo loading: every way a file can be bad becomes a plain-words UserError for that file.

Corrupt, truncated, zero-byte and non-image files, decompression bombs, CMYK, 16-bit, palette,
transparent and animated images are all handled here, so the models only ever see 8-bit RGB.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from shopai.jobs import UserError

# A shop photo above this many pixels is refused before it is decoded (a 50-megapixel camera is fine).
MAX_PIXELS = 80_000_000
MAX_FILE_BYTES = 200 * 1024 * 1024
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}


def _to_8bit_rgb(img: Image.Image) -> Image.Image:
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img, dtype=np.float64)
        hi = arr.max() if arr.size else 0.0
        scale = 255.0 / (65535.0 if hi > 255 else max(hi, 1.0)) if hi > 255 else 1.0
        if hi > 255 and hi < 4096:  # 12-bit sensors stored in 16 bits
            scale = 255.0 / 4095.0
        img = Image.fromarray(np.clip(arr * scale, 0, 255).astype(np.uint8), "L")
        mode = "L"
    elif mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        arr = (arr - lo) / (hi - lo or 1.0) * 255.0
        img = Image.fromarray(np.nan_to_num(arr).astype(np.uint8), "L")
        mode = "L"
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode in ("RGB;16", "RGB;16B"):
        return img.convert("RGB")
    return img.convert("RGB")


def load_image(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open a photo as an 8-bit RGB image (first frame if animated, EXIF rotation applied).

    Raises UserError naming the file and what is wrong with it; never anything else for a bad file.
    """
    path = Path(path)
    name = path.name
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise UserError(f"{name}: the file does not exist.") from None
    except OSError as exc:
        raise UserError(f"{name}: cannot be read ({exc.strerror or exc}).") from None
    if path.is_dir():
        raise UserError(f"{name}: is a folder, not a photo.")
    if size == 0:
        raise UserError(f"{name}: the file is empty (0 bytes).")
    if size > MAX_FILE_BYTES:
        raise UserError(f"{name}: the file is too large for a product photo ({size // (1024 * 1024)} MB).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                width, height = img.size
                if width <= 0 or height <= 0:
                    raise UserError(f"{name}: the image has no pixels.")
                if width * height > max_pixels:
                    raise UserError(
                        f"{name}: the image is too large ({width}×{height} pixels); "
                        f"photos up to {max_pixels // 1_000_000} megapixels are accepted."
                    )
                if getattr(img, "is_animated", False):
                    img.seek(0)
                img.load()
                img = ImageOps.exif_transpose(img) or img
                return _to_8bit_rgb(img)
    except UserError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UserError(f"{name}: the image is too large to open safely (a decompression bomb?).") from None
    except UnidentifiedImageError:
        raise UserError(f"{name}: not a photo Pillow can read (unknown or broken image format).") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError) as exc:
        text = str(exc).lower()
        if "truncated" in text or isinstance(exc, EOFError):
            raise UserError(f"{name}: the photo is cut off (truncated file).") from None
        raise UserError(f"{name}: the photo is damaged and cannot be decoded ({exc}).") from None
    except MemoryError:
        raise UserError(f"{name}: the image is too large to open.") from None


def letterbox(img: Image.Image, size: int, fill: tuple[int, int, int] | None = None) -> np.ndarray:
    """Resize keeping the aspect ratio and pad to ``size``×``size``; uint8 array HxWx3.

    The pad colour is the image's border colour (white for studio shots), so padding adds no edges.
    """
    w, h = img.size
    scale = size / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    small = img.resize((nw, nh), Image.BILINEAR if scale >= 1 else Image.BOX)
    if fill is None:
        arr = np.asarray(small)
        border = np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]])
        fill = tuple(int(v) for v in np.median(border, axis=0))
    canvas = Image.new("RGB", (size, size), fill)
    canvas.paste(small, ((size - nw) // 2, (size - nh) // 2))
    return np.array(canvas, dtype=np.uint8)


def dhash(img: Image.Image, bits: int = 8) -> int:
    """Difference hash (64 bits): near-identical photos differ in only a few bits."""
    small = np.asarray(img.convert("L").resize((bits + 1, bits), Image.BOX), dtype=np.int16)
    diff = (small[:, 1:] > small[:, :-1]).flatten()
    return int("".join("1" if d else "0" for d in diff), 2)


def hamming(a: int, b: int) -> int:
    return bin(a ^ b).count("1")


def is_image_name(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES
