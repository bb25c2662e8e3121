"""Entry point of the packaged app (PyInstaller runs this file as ``ShopAI``).

``ShopAI --self-test`` checks, without opening a window, that what the build collected works:
torch trains a step, torchvision's C++ ops run, the pocketsphinx model is there, Qt can draw SVG
icons, the voice denoisers' C libraries (RNNoise, DeepFilterNet3 and its model) run, a job runs in a
background process of its own (as Train does), Chinese titles get their pinyin and the shop's resources are
found. It prints one line per check and exits 0 when all pass.
"""
import multiprocessing
import sys


def self_test() -> int:
    checks = []

    def check(name, fn):
        try:
            checks.append((name, True, fn()))
        except Exception as exc:  # report every failure, not just the first
            checks.append((name, False, f"{type(exc).__name__}: {exc}"))

    def torch_step():
        import torch

        torch.set_num_threads(1)
        model = torch.nn.Linear(8, 2)
        loss = model(torch.randn(16, 8)).pow(2).mean()
        loss.backward()
        return f"torch {torch.__version__}, grad ok"

    def torchvision_ops():
        import torch
        import torchvision

        boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [50.0, 50.0, 60.0, 60.0]])
        keep = torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5)
        assert keep.tolist() == [0, 2], keep
        return f"torchvision {torchvision.__version__}, C++ ops ok"

    def pocketsphinx_model():
        import os

        import pocketsphinx

        model = pocketsphinx.get_model_path()
        files = os.listdir(os.path.join(model, "en-us"))
        assert files, model
        return f"model at {model} ({len(files)} files)"

    def qt_svg_and_resources():
        from importlib import resources

        from PySide6.QtGui import QGuiApplication, QIcon

        app = QGuiApplication.instance() or QGuiApplication(["ShopAI", "-platform", "offscreen"])
        icon = resources.files("shopai_resources") / "icons" / "shopai.svg"
        pixmap = QIcon(str(icon)).pixmap(64, 64)
        assert not pixmap.isNull(), "SVG icon engine missing"
        del app
        return "svg icon drawn"

    def denoisers():
        import numpy as np

        from shopai.voice.denoise import DeepFilterDenoiser, RnnoiseDenoiser

        out = []
        for make in (RnnoiseDenoiser, DeepFilterDenoiser):  # their C libraries and DeepFilterNet's model file
            y = make().process(np.zeros(4800, np.float32), final=True)
            assert len(y) > 0, make.__name__
            out.append(make.__name__)
        return " + ".join(out) + " ran"

    def background_process():
        import os
        import tempfile

        from shopai.io.export import write_csv_job
        from shopai.jobs import run_job
        from shopai.process_jobs import in_process

        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "check.csv")
            n = run_job(in_process(write_csv_job, path, ["a", "b"], [[1, 2], [3, 4]]))
            assert n == 2 and os.path.getsize(path) > 0, n
        return "a job ran in a spawned process"

    def chinese_sorting():
        from shopai.store.title_keys import title_key

        key = title_key("苹果")
        assert key == "ping2 guo3", key
        return "pypinyin's dictionaries found"

    def core():
        import shopai.cli.main
        import shopai.safety

        shopai.cli.main.build_parser()
        return "core + CLI import"

    for name, fn in [("torch", torch_step), ("torchvision", torchvision_ops), ("pocketsphinx", pocketsphinx_model),
                     ("qt", qt_svg_and_resources), ("voice denoisers", denoisers),
                     ("background process", background_process), ("chinese sorting", chinese_sorting),
                     ("shopai", core)]:
        check(name, fn)
    for name, ok, note in checks:
        print(f"self_test {name}: {'ok' if ok else 'FAILED'} - {note}", flush=True)
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    multiprocessing.freeze_support()  # Train runs in a spawned process (shopai.process_jobs): the frozen app is it
    if "--self-test" in sys.argv[1:]:
        sys.exit(self_test())
    from shopai_ui.app import main

    sys.exit(main())
