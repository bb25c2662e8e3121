"""``shopai-cli``: a thin command line over the core. One module per command group."""
