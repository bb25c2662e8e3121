"""The tabs of the main window, in order: (title, "module:Class")."""

TABS: list[tuple[str, str]] = [
    ("Catalog", "shopai_ui.tabs.catalog:CatalogTab"),
    ("Orders", "shopai_ui.tabs.orders:OrdersTab"),
    ("Recommendations", "shopai_ui.tabs.recommend:RecommendTab"),
    ("Price forecast", "shopai_ui.tabs.forecast:ForecastTab"),
    ("Auto-categorize", "shopai_ui.tabs.categorize:CategorizeTab"),
    ("Voice search", "shopai_ui.tabs.voice:VoiceTab"),
    ("Customers", "shopai_ui.tabs.customers:CustomersTab"),
]
