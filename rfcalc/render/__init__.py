"""Renderers: Report → text. Each format is its own module, imported only when used."""
