"""ShopAI core: storage, import/export, models and voice. Never imports Qt."""

__version__ = "0.1.0"
