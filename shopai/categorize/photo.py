"""The photo classifier: a small CNN trained from scratch on the shop's own photos, sized for 2 CPU cores.

Photos are letterboxed to 64x64 and each 2x2 block of pixels folded into channels (PixelUnshuffle), so
four conv-BN-ReLU(-pool) stages and a 1x1 mixing layer run at 32x32 and below, and global average pooling
gives a 256-d embedding, reused for "similar-looking products" and duplicate flags; a linear head on it
gives the category. The embedding is the mean over the photo, its mirror image and both moved 3 pixels
each way. Training uses flips, shifted crops and colour jitter, AdamW, a one-cycle learning rate and a time
budget: the schedule runs over the epochs (so a run is repeatable), unless the run falls behind the pace that
ends on budget, when it runs over the budget instead. Saved as a plain state_dict (torch.save) + JSON
metadata; loaded with weights_only=True. Files from before the fold (32x32, no ``stem`` key) still load.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shopai.jobs import Job, Progress, UserError

FORMAT = 1
DEFAULT_SIZE = 64  # letterboxed side; folded to 32x32 by the stem (set on training rows, see the README)
DEFAULT_EPOCHS = 90  # passes, unless the time budget ends first
WIDTHS = (32, 64, 128, 256)
TTA_SHIFT = 3  # pixels: features averaged over 4 shifted views too (chosen on training photos, see the README)


def build_net(n_classes: int, widths: tuple[int, ...] = WIDTHS, stem: int = 1):
    """The CNN; ``stem`` > 1 first folds each stem x stem block of pixels into channels (PixelUnshuffle), so a
    photo ``stem`` times larger costs about the same as the small one while every pixel still reaches the net."""
    import torch.nn as nn

    def block(cin: int, cout: int, pool: bool) -> list:
        layers = [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        if pool:
            layers.append(nn.MaxPool2d(2))
        return layers

    w = widths
    features = nn.Sequential(
        *([nn.PixelUnshuffle(stem)] if stem > 1 else []),
        *block(3 * stem * stem, w[0], True),
        *block(w[0], w[1], True),
        *block(w[1], w[2], True),
        *block(w[2], w[3], False),
        nn.Conv2d(w[3], w[3], 1, bias=False), nn.BatchNorm2d(w[3]), nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    )

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = features
            self.drop = nn.Dropout(0.3)
            self.head = nn.Linear(w[-1], n_classes)

        def forward(self, x):
            return self.head(self.drop(self.features(x)))

    return Net()


def to_tensor(batch: np.ndarray, mean=0.5, std=0.25):
    """uint8 NxHxWx3 → float NCHW in 0..1, less ``mean``, over ``std`` (numbers, or one per channel)."""
    import torch

    x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float().div_(255.0)
    return x.sub_(torch.as_tensor(mean).view(-1, 1, 1)).div_(torch.as_tensor(std).view(-1, 1, 1))


def augment(x, rng: np.random.Generator, pad: int = 6):
    """Random shifted crop (edge-padded), horizontal flip and brightness/contrast jitter, per sample."""
    import torch
    import torch.nn.functional as F

    n, _, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad), mode="replicate")
    out = torch.empty_like(x)
    dx = rng.integers(0, 2 * pad + 1, n)
    dy = rng.integers(0, 2 * pad + 1, n)
    flip = rng.random(n) < 0.5
    for i in range(n):
        crop = padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w]
        out[i] = crop.flip(-1) if flip[i] else crop
    gain = torch.from_numpy(rng.uniform(0.75, 1.25, (n, 1, 1, 1)).astype(np.float32))
    shift = torch.from_numpy(rng.uniform(-0.3, 0.3, (n, 1, 1, 1)).astype(np.float32))
    chan = torch.from_numpy(rng.uniform(0.9, 1.1, (n, 3, 1, 1)).astype(np.float32))
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    return (out - mean) * gain * chan + mean + shift


@dataclass
class PhotoModel:
    classes: list[str]
    state: dict  # state_dict of the Net
    size: int = DEFAULT_SIZE
    widths: tuple[int, ...] = WIDTHS
    stem: int = 1
    temperature: float = 1.0
    info: dict = field(default_factory=dict)
    _net: object = None

    def net(self):
        if self._net is None:
            import torch

            net = build_net(len(self.classes), self.widths, self.stem)
            net.load_state_dict(self.state)
            net.eval()
            self._net = net
            del torch
        return self._net

    def embed(self, arrays: np.ndarray, batch: int = 256, flip: bool = True, shift: int = TTA_SHIFT) -> np.ndarray:
        """256-d features of letterboxed uint8 photos, averaged over views: the photo, with ``flip`` its mirror
        image, and with ``shift`` > 0 each of those moved ``shift`` pixels left, right, up and down (edge
        pixels repeated), as in training. The head is linear, so its logits are the mean logits too."""
        import torch
        import torch.nn.functional as F

        net = self.net()
        moves = [(0, 0)] + ([(shift, 0), (-shift, 0), (0, shift), (0, -shift)] if shift > 0 else [])
        out = []
        with torch.inference_mode():
            for s in range(0, len(arrays), batch):
                x = to_tensor(arrays[s:s + batch])
                h, w = x.shape[2], x.shape[3]
                padded = F.pad(x, (shift,) * 4, mode="replicate") if shift > 0 else x
                f = 0
                for dx, dy in moves:
                    view = padded[:, :, shift + dy:shift + dy + h, shift + dx:shift + dx + w] if shift > 0 else x
                    f = f + net.features(view)
                    if flip:
                        f = f + net.features(view.flip(-1))
                out.append((f / (len(moves) * (2 if flip else 1))).numpy())
        if not out:
            return np.zeros((0, self.widths[-1]), np.float32)
        emb = np.concatenate(out).astype(np.float32)
        return emb

    def head_logits(self, emb: np.ndarray) -> np.ndarray:
        """Calibrated logits from raw (un-normalised) embeddings."""
        w = self.state["head.weight"].numpy()
        b = self.state["head.bias"].numpy()
        return (emb @ w.T + b) / self.temperature

    def logits(self, arrays: np.ndarray) -> np.ndarray:
        return self.head_logits(self.embed(arrays))

    def learn_one(self, emb: np.ndarray, category: str, steps: int = 30, lr: float = 0.05) -> None:
        """Nudge the linear head towards a correction at once."""
        import torch

        w = self.state["head.weight"].numpy().copy()
        b = self.state["head.bias"].numpy().copy()
        if category not in self.classes:
            self.classes.append(category)
            w = np.concatenate([w, np.zeros((1, w.shape[1]), np.float32)])
            b = np.append(b, np.float32(b.min()))
        t = self.classes.index(category)
        for _ in range(steps):
            z = w @ emb + b
            p = np.exp(z - z.max())
            p /= p.sum()
            if p.argmax() == t and p[t] > 0.6:
                break
            g = p.copy()
            g[t] -= 1.0
            w -= lr * np.outer(g, emb).astype(np.float32)
            b -= np.float32(lr) * g.astype(np.float32)
        self.state["head.weight"] = torch.from_numpy(w)
        self.state["head.bias"] = torch.from_numpy(b)
        self._net = None

    def snapshot(self) -> dict[str, np.ndarray]:
        """The linear head and classes, which :meth:`learn_one` changes, for :meth:`restore` to put back."""
        return {"photo_classes": np.int64(len(self.classes)), "photo_w": self.state["head.weight"].numpy().copy(),
                "photo_b": self.state["head.bias"].numpy().copy()}

    def restore(self, part: dict[str, np.ndarray]) -> None:
        """Undo a :meth:`learn_one` from its :meth:`snapshot`."""
        import torch

        self.state["head.weight"] = torch.from_numpy(part["photo_w"].copy())
        self.state["head.bias"] = torch.from_numpy(part["photo_b"].copy())
        del self.classes[int(part["photo_classes"]):]
        self._net = None

    def save(self, path: Path) -> None:
        import torch

        tmp = path.with_suffix(".tmp")
        torch.save(self.state, tmp)
        tmp.replace(path)
        meta_path = path.with_suffix(".json")
        meta_path.with_suffix(".tmp.json").write_text(json.dumps(self.meta(), ensure_ascii=False), "utf-8")
        meta_path.with_suffix(".tmp.json").replace(meta_path)

    def meta(self) -> dict:
        """What the JSON beside the weights says about them."""
        return {"format": FORMAT, "classes": self.classes, "size": self.size, "widths": list(self.widths),
                "stem": self.stem, "temperature": self.temperature}

    @classmethod
    def load(cls, path: Path) -> "PhotoModel":
        import torch

        try:
            meta = json.loads(path.with_suffix(".json").read_text("utf-8"))
            if meta.get("format") != FORMAT:
                raise UserError("The saved photo model is from another ShopAI version: train categorize again.")
            state = torch.load(path, weights_only=True, map_location="cpu")
            if meta.get("backbone"):  # a head on the pretrained backbone (shopai.categorize.pretrained)
                from shopai.categorize.pretrained import BackbonePhotoModel

                cls = BackbonePhotoModel
            model = cls(classes=list(meta["classes"]), state=dict(state), size=int(meta["size"]),
                        widths=tuple(meta["widths"]), stem=int(meta.get("stem", 1)),  # older files: no stem
                        temperature=float(meta["temperature"]))
            model.net()
            return model
        except UserError:
            raise
        except Exception as exc:
            raise UserError(f"The saved photo model is damaged ({type(exc).__name__}): train categorize again.") from None


def train_photo(
    arrays: np.ndarray, y: np.ndarray, classes: list[str], *, epochs: int = DEFAULT_EPOCHS, max_seconds: float = 600.0,
    batch_size: int = 32, lr: float = 0.004, weight_decay: float = 0.05, seed: int = 0,
    widths: tuple[int, ...] = WIDTHS, threads: int = 2, stem: int | None = None,
) -> Job[PhotoModel]:
    """Train the CNN from scratch on letterboxed uint8 photos (NxSxSx3); yields progress every ~0.2 s.

    ``stem`` (default: S // 32) folds the photos down to about 32x32 before the first convolution."""
    import torch

    if len(arrays) < 2:
        raise UserError("Too few labelled photos to learn from.")
    torch.set_num_threads(max(1, threads))
    stem = max(1, arrays.shape[1] // 32) if stem is None else stem
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = build_net(len(classes), widths, stem)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    freq = np.bincount(y, minlength=len(classes)).astype(np.float64)
    class_weight = torch.tensor(np.sqrt(freq.mean() / np.maximum(freq, 1.0)), dtype=torch.float32)
    yt = torch.from_numpy(np.array(y, dtype=np.int64))
    n = len(arrays)
    pad = max(1, round(arrays.shape[1] * 6 / 32))  # shifted crops of up to ~19% of the side
    steps_per_epoch = max(1, (n + batch_size - 1) // batch_size)
    total_steps = epochs * steps_per_epoch
    grace = min(60.0, 0.1 * max_seconds)  # seconds of slack (a slow first batch) before the clock counts
    start = time.monotonic()
    last = start
    step = 0
    done_epochs = 0.0
    progress = 0.0
    while progress < 1.0:
        net.train()
        perm = rng.permutation(n)
        for s in range(0, n, batch_size):
            idx = perm[s:s + batch_size]
            if len(idx) < 2:
                continue
            # the schedule follows the steps; the clock takes over only when the run falls behind the pace
            # that ends on budget (a slow machine), so a run at normal speed is repeatable
            progress = max(step / total_steps, (time.monotonic() - start - grace) / (max_seconds - grace))
            if progress >= 1.0:
                break
            # one-cycle: warm up over the first 5%, cosine down to zero after
            frac = progress / 0.05 if progress < 0.05 else 0.5 * (1 + np.cos(np.pi * (progress - 0.05) / 0.95))
            for g in opt.param_groups:
                g["lr"] = lr * max(frac, 0.01)
            x = augment(to_tensor(arrays[idx]), rng, pad=pad)
            loss = torch.nn.functional.cross_entropy(net(x), yt[idx], weight=class_weight, label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            done_epochs = step / steps_per_epoch
            now = time.monotonic()
            if now - last > 0.2:
                last = now
                yield Progress(progress * 100, 100, f"Learning from photos (pass {int(done_epochs) + 1}, loss {loss.item():.2f})")
    net.eval()
    state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    model = PhotoModel(classes=list(classes), state=state, size=arrays.shape[1], widths=tuple(widths),
                       stem=stem)
    model.info = {"epochs": round(done_epochs, 2), "seconds": round(time.monotonic() - start, 1)}
    return model
