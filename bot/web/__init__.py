"""The aiohttp edge: shopper chat, JSON API and static pages. ``app.create_app`` builds it all."""
