"""Data files shipped with ShopAI (icons, the sample shop), found through importlib.resources."""
