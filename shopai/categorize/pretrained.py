"""An optional pretrained photo backbone: torchvision's MobileNetV3-small, trained on ImageNet.

Never fetched unless the owner asks (Auto-categorize tab: *Pretrained photo model…*, or
``shopai-cli categorize --get-backbone``): :func:`download_job` stores it in ShopAI's data folder. It is
also found where torchvision keeps its own downloads (torch's hub cache), so a machine that already has it
needs no download. A file is used only when its SHA-256 starts with the hash in its name (torchvision's own
check), and it is read with ``torch.load(weights_only=True)``.

With the backbone, the photo model is the backbone's frozen 576-d features (the photo letterboxed to
224x224 and its mirror image, averaged) and a linear head trained on the shop's labelled photos
(:class:`BackbonePhotoModel`): saved as the head only, with the backbone's file name.
"""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np

from shopai.categorize.photo import PhotoModel, to_tensor
from shopai.jobs import Job, Progress, UserError

FILE = "mobilenet_v3_small-047dcff4.pth"
URL = "https://download.pytorch.org/models/" + FILE
SHA256_PREFIX = "047dcff4"  # torchvision names its weight files after the first hex digits of their SHA-256
SIZE_MB = 9.8
SIZE = 224
FEATURES = 576
MEAN = (0.485, 0.456, 0.406)  # ImageNet statistics the backbone was trained with
STD = (0.229, 0.224, 0.225)
LICENCE = "BSD-3-Clause (torchvision); trained on ImageNet-1k"


class BackboneUnavailable(UserError):
    """The pretrained backbone is missing or damaged."""


def own_dir() -> Path:
    """Where :func:`download_job` puts the backbone: ``<ShopAI data folder>/backbones``."""
    from shopai.paths import data_dir

    return data_dir() / "backbones"


def search_dirs() -> list[Path]:
    """ShopAI's own folder, then torch's hub cache (``$TORCH_HOME`` or ``~/.cache/torch``)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    torch_home = Path(os.environ.get("TORCH_HOME") or cache / "torch")
    return [own_dir(), torch_home / "hub" / "checkpoints"]


def find_backbone() -> Path | None:
    """The backbone's file if it is on this computer (not yet checked: see :func:`verify`)."""
    for folder in search_dirs():
        path = folder / FILE
        if path.is_file() and path.stat().st_size > 0:
            return path
    return None


def _file_key(path: Path) -> tuple[str, int, int]:
    """The file as it is now (path, size, mtime): what the caches below remember it by."""
    st = path.stat()
    return str(path), st.st_size, st.st_mtime_ns


_CHECKED: dict[tuple[str, int, int], bool] = {}


def verify(path: Path) -> bool:
    """Whether the file's SHA-256 starts with the hash in its name (remembered per path, size and mtime)."""
    key = _file_key(path)
    if key not in _CHECKED:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _CHECKED[key] = h.hexdigest().startswith(SHA256_PREFIX)
    return _CHECKED[key]


_NETS: dict[tuple[str, int, int], object] = {}


def load_backbone(path: Path | None = None):
    """The backbone (``torchvision.models.mobilenet_v3_small`` in eval mode), loaded once per file."""
    path = path or find_backbone()
    if path is None:
        raise BackboneUnavailable(
            "The pretrained photo model is not on this computer: download it (Auto-categorize tab, "
            "'Pretrained photo model…') or train again without it.")
    key = _file_key(path)
    if key in _NETS:
        return _NETS[key]
    if not verify(path):
        raise BackboneUnavailable(f"{path.name} in {path.parent} is damaged or not the expected file: delete it "
                                  "and download it again.")
    import torch
    import torchvision

    try:
        net = torchvision.models.mobilenet_v3_small()
        net.load_state_dict(torch.load(path, weights_only=True, map_location="cpu"))
    except Exception as exc:
        raise BackboneUnavailable(f"{path.name} could not be read ({type(exc).__name__}): delete it and download "
                                  "it again.") from None
    net.eval()
    _NETS[key] = net
    return net


def features(arrays: np.ndarray, batch: int = 64, flip: bool = True) -> np.ndarray:
    """576-d backbone features of photos letterboxed to ``SIZE`` (uint8), averaged over each photo and, with
    ``flip``, its mirror image. They do not depend on the shop: Train reads every photo through this once."""
    import torch

    net = load_backbone()
    out = []
    with torch.inference_mode():
        for s in range(0, len(arrays), batch):
            x = to_tensor(arrays[s:s + batch], MEAN, STD)
            f = net.avgpool(net.features(x)).flatten(1)
            if flip:
                f = (f + net.avgpool(net.features(x.flip(-1))).flatten(1)) / 2
            out.append(f.numpy())
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, FEATURES), np.float32)


class BackbonePhotoModel(PhotoModel):
    """The photo model on the pretrained backbone: frozen features + the shop's own linear head."""

    def net(self):
        return load_backbone()

    def embed(self, arrays: np.ndarray, batch: int = 64, flip: bool = True, shift: int = 0) -> np.ndarray:
        """The backbone's :func:`features` (``shift`` is the CNN's option and has no meaning here)."""
        return features(arrays, batch, flip)

    def meta(self) -> dict:
        return dict(super().meta(), backbone=FILE)


def fit_head(emb: np.ndarray, y: np.ndarray, classes: list[str]) -> Job[BackbonePhotoModel]:
    """Train the linear head on backbone features: class-balanced multinomial logistic regression with L2
    (strength 1/n on standardised features, like scikit-learn's default C=1), by L-BFGS from zeros (no
    randomness: the same photos give the same head)."""
    import torch

    if len(emb) < 2:
        raise UserError("Too few labelled photos to learn from.")
    yield Progress(0, 1, "Learning from photos (pretrained model)")
    x = torch.from_numpy(np.asarray(emb, np.float32))
    mu, sd = x.mean(0), x.std(0).clamp_min(1e-3)
    xs = (x - mu) / sd
    yt = torch.from_numpy(np.asarray(y, np.int64))
    freq = np.bincount(y, minlength=len(classes)).astype(np.float64)
    weight = torch.tensor(np.sqrt(freq.mean() / np.maximum(freq, 1.0)), dtype=torch.float32)
    w = torch.zeros(len(classes), x.shape[1], requires_grad=True)
    b = torch.zeros(len(classes), requires_grad=True)
    lam = 1.0 / len(y)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=300, history_size=20, line_search_fn="strong_wolfe")
    started = time.monotonic()

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(xs @ w.T + b, yt, weight=weight) + 0.5 * lam * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():  # fold the standardisation into the head, so it takes raw features
        w_raw = w / sd
        b_raw = b - (w_raw * mu).sum(1)
    state = {"head.weight": w_raw.detach().clone(), "head.bias": b_raw.detach().clone()}
    model = BackbonePhotoModel(classes=list(classes), state=state, size=SIZE, widths=(FEATURES,))
    model.info = {"backbone": FILE, "seconds": round(time.monotonic() - started, 1)}
    yield Progress(1, 1, "Learning from photos (pretrained model)")
    return model


def download_job(url: str | None = None, folder: Path | None = None, timeout: float = 30.0) -> Job[Path]:
    """Download the backbone into ``folder`` (default :func:`own_dir`), checking its hash; returns its path.

    Writes ``<file>.part`` and renames it only when complete and verified; cancel (closing the job) or any
    failure removes the partial file. Raises UserError in plain words when there is no connection."""
    import socket
    import urllib.error
    import urllib.parse
    import urllib.request

    url = url or URL
    folder = folder or own_dir()
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / FILE
    part = folder / (FILE + ".part")
    host = urllib.parse.urlparse(url).hostname or "the server"
    yield Progress(0, 1, f"Connecting to {host}")
    try:
        try:
            response = urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 (fixed https URL, or a test's file://)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, (socket.gaierror, ConnectionError, TimeoutError, socket.timeout)):
                reason = f"this computer cannot reach {host}"
            raise UserError(f"Could not download the pretrained photo model: {reason}. Check the internet "
                            "connection and try again; everything else works without it.") from None
        with response, open(part, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or int(SIZE_MB * 1e6)
            done = 0
            last = time.monotonic()
            while True:
                try:
                    chunk = response.read(1 << 16)
                except OSError as exc:
                    raise UserError(f"The download of the pretrained photo model broke off ({exc}). Try again.") from None
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                if time.monotonic() - last > 0.2:
                    last = time.monotonic()
                    yield Progress(min(done, total), total,
                                   f"Downloading the pretrained photo model ({done / 1e6:.1f} of {total / 1e6:.1f} MB)")
        if not verify(part):
            raise UserError("The downloaded photo model is not the expected file (its checksum differs), so it was "
                            "not kept. Try again later.")
        yield Progress(total, total, "Saving the pretrained photo model", commit=True)
        os.replace(part, dest)
        return dest
    finally:
        part.unlink(missing_ok=True)
