"""The Rasa action server with personal data masked in its logs; same arguments as ``rasa run actions``.

``python -m scripts.action_server --actions actions -p 5055`` is what ``make run`` starts.
"""

from __future__ import annotations

from bot.privacy import install_log_masking

if __name__ == "__main__":
    install_log_masking()
    from rasa_sdk.__main__ import main

    main()
