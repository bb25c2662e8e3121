"""Recommendations: what to offer a customer next, what goes with or resembles a product."""
