"""Bilingual (zh/en) customer-service assistant for an online shop.

The package root holds the pure domain core: one concept per module, no I/O,
no clock, no framework imports. The imperative shell lives in ``bot.store``
(persistence), ``bot.nlu`` (Rasa components) and ``bot.web`` (aiohttp edge).
"""
