"""Entry point of the packaged app (PyInstaller runs this file as ``ShopAI``)."""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # torch/data loaders may spawn workers in a frozen app
    from shopai_ui.app import main

    sys.exit(main())
