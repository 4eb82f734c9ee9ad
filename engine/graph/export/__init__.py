"""A graph written out: DOT (dot.py), Mermaid, GraphML, JSON, SVG, PNG (formats.py) and an offline HTML
page (html.py)."""
