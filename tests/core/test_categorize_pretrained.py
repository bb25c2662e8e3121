"""The optional pretrained photo backbone, with a stand-in file (nothing is downloaded in tests).

The stand-in is torchvision's MobileNetV3-small with random weights, saved where the real one would go and
accepted by patching the expected checksum: the code paths are the real ones, the accuracy is not measured.
"""
from __future__ import annotations

import hashlib

import numpy as np
import pytest
from test_categorize import RGB, fast_train, shop, square  # noqa: F401 (shop is a fixture)

from shopai.categorize import pretrained, review
from shopai.categorize.models import load_bundle
from shopai.jobs import UserError, run_job
from shopai.store import open_store


def _fresh_caches():
    pretrained._CHECKED.clear()
    pretrained._NETS.clear()


@pytest.fixture
def standin(tmp_path_factory):
    """A random-weight MobileNetV3-small state_dict (bytes) and its checksum prefix, made once per test."""
    import torch
    import torchvision

    torch.manual_seed(0)
    net = torchvision.models.mobilenet_v3_small()
    for m in net.modules():  # batch-norm statistics from random photos, so the random features are not flat
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None
    net.train()
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for _ in range(3):
            tint = torch.from_numpy(rng.uniform(0, 1, (16, 3, 1, 1)).astype(np.float32))
            net(torch.from_numpy(rng.uniform(-2, 2, (16, 3, 224, 224)).astype(np.float32)) * tint)
    path = tmp_path_factory.mktemp("standin") / pretrained.FILE
    torch.save(net.state_dict(), path)
    data = path.read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:8]


@pytest.fixture
def backbone(standin, monkeypatch):
    """The stand-in installed in ShopAI's own backbone folder, its checksum the expected one."""
    data, prefix = standin
    monkeypatch.setattr(pretrained, "SHA256_PREFIX", prefix)
    _fresh_caches()
    folder = pretrained.own_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / pretrained.FILE).write_bytes(data)
    yield folder / pretrained.FILE
    _fresh_caches()


def test_no_backbone_means_the_cnn_from_scratch(shop):  # noqa: F811
    assert pretrained.find_backbone() is None
    summary = fast_train(shop)
    assert "passes" in summary["photos"] and "pretrained photo model" not in summary


def test_train_uses_the_backbone_and_its_features(shop, backbone, tmp_path):  # noqa: F811
    summary = fast_train(shop)
    assert summary["photos"].endswith("pretrained MobileNetV3-small")
    assert summary["pretrained photo model"].startswith("used")
    bundle = load_bundle(shop)
    assert isinstance(bundle.photo, pretrained.BackbonePhotoModel) and bundle.photo.size == pretrained.SIZE
    db = open_store(shop)
    blobs = [r[0] for r in db.conn.execute("SELECT embedding FROM categorize_photos")]
    assert blobs and all(len(b) == 2 * pretrained.FEATURES for b in blobs)  # float16, 576-d
    # new photos of the planted colours get their category from the photo alone
    rng = np.random.default_rng(9)
    right = 0
    for cat, colour in RGB.items():
        for i in range(3):
            img = tmp_path / f"{cat}{i}.png"
            square(colour, rng).save(img)
            right += review.suggest_image(shop, img, None, 3, bundle)[0]["category"] == cat
    assert right >= 6, right  # twice chance from random-weight features (7 of 9 here); fit_head: see below
    # a product's similar-looking products come from the same features
    pid = db.conn.execute("SELECT product_id FROM categorize_photos LIMIT 1").fetchone()[0]
    assert review.similar_products(db, pid, k=3)


def test_the_head_learns_planted_features_and_takes_raw_ones():
    """fit_head standardises internally and folds that into the head, so head_logits takes raw features."""
    from shopai.categorize.calibrate import softmax

    rng = np.random.default_rng(3)
    y = np.repeat(np.arange(3), 20)
    centres = rng.normal(0, 1, (3, pretrained.FEATURES)) * 0.5
    emb = (50.0 + 10.0 * (centres[y] + rng.normal(0, 1, (60, pretrained.FEATURES)))).astype(np.float32)
    model = run_job(pretrained.fit_head(emb, y, ["a", "b", "c"]))
    yt = np.repeat(np.arange(3), 10)
    test = (50.0 + 10.0 * (centres[yt] + rng.normal(0, 1, (30, pretrained.FEATURES)))).astype(np.float32)
    probs = softmax(model.head_logits(test))
    assert (probs.argmax(1) == yt).mean() == 1.0
    assert model.state["head.weight"].shape == (3, pretrained.FEATURES)


def test_a_damaged_backbone_is_not_used(shop, backbone):  # noqa: F811
    backbone.write_bytes(b"not a model" * 100)
    _fresh_caches()
    summary = fast_train(shop)
    assert "passes" in summary["photos"]  # the CNN trained from scratch instead
    assert summary["pretrained photo model"].startswith("not used") and "damaged" in summary["pretrained photo model"]


def test_backbone_gone_after_training_keeps_the_text_model(shop, backbone, tmp_path):  # noqa: F811
    fast_train(shop)
    backbone.unlink()
    _fresh_caches()
    bundle = load_bundle(shop)
    assert bundle.photo is None
    assert review.suggest_text(shop, "wool scarf", 1, bundle)[0]["category"] == "Scarves"
    img = tmp_path / "red.png"
    square(RGB["Scarves"], np.random.default_rng(2)).save(img)
    with pytest.raises(UserError, match="pretrained photo model is not on this computer"):
        review.suggest_image(shop, img, None, 3, bundle)


def test_download_keeps_only_a_verified_file(standin, monkeypatch, tmp_path):
    data, prefix = standin
    src = tmp_path / "served.pth"
    src.write_bytes(data)
    folder = tmp_path / "backbones"
    _fresh_caches()
    with pytest.raises(UserError, match="checksum differs"):  # the real checksum: the stand-in is refused
        run_job(pretrained.download_job(src.as_uri(), folder))
    assert list(folder.iterdir()) == []
    monkeypatch.setattr(pretrained, "SHA256_PREFIX", prefix)
    _fresh_caches()
    path = run_job(pretrained.download_job(src.as_uri(), folder))
    assert path == folder / pretrained.FILE and path.read_bytes() == data
    assert [p.name for p in folder.iterdir()] == [pretrained.FILE]


def test_download_without_a_connection_is_a_message(tmp_path):
    folder = tmp_path / "backbones"
    with pytest.raises(UserError, match="Could not download the pretrained photo model: this computer cannot reach "
                                        "127.0.0.1"):
        run_job(pretrained.download_job("http://127.0.0.1:9/none.pth", folder, timeout=5))
    assert list(folder.iterdir()) == []


def test_cancelled_download_leaves_nothing(standin, tmp_path):
    src = tmp_path / "served.pth"
    src.write_bytes(standin[0])
    folder = tmp_path / "backbones"
    job = pretrained.download_job(src.as_uri(), folder)
    next(job)  # connecting
    job.close()  # cancel
    assert list(folder.iterdir()) == []


def test_cli_get_backbone(standin, monkeypatch, tmp_path, capsys):
    from shopai.cli.main import main

    data, prefix = standin
    src = tmp_path / "served.pth"
    src.write_bytes(data)
    monkeypatch.setattr(pretrained, "URL", src.as_uri())
    monkeypatch.setattr(pretrained, "SHA256_PREFIX", prefix)
    _fresh_caches()
    assert main(["categorize", "--get-backbone"]) == 0
    assert pretrained.find_backbone() == pretrained.own_dir() / pretrained.FILE
    assert pretrained.FILE in capsys.readouterr().out
