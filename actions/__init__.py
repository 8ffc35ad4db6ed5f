"""Rasa SDK adapters, one module per feature.

Each action parses the tracker, calls the pure core in ``bot/``, and renders
the outcome with ``dispatcher.utter_message(response=...)``: never ``text=``.
"""
