"""Rasa SDK adapters, one module per feature.

Each action parses the tracker, calls the pure core in ``bot/``, and renders
the outcome with ``dispatcher.utter_message(response=...)``: never ``text=``.

Importing the package installs ``actions.safety``: an action that raises answers
the shopper (``utter_action_failed``) instead of leaving the bot silent.
"""

from actions.safety import install_safety_net

install_safety_net()
