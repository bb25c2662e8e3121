"""ShopAI's Qt user interface (installed as ``shopai_ui``). The core lives in ``shopai``."""
