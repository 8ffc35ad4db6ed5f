"""``rasa`` with our hot-path fixes installed (``bot.rasa_speedups``) and personal data masked in its
logs (``bot.privacy``); same arguments as ``rasa``.

``python -m scripts.rasa_server run --enable-api ...`` is what ``make run`` starts.
"""

from __future__ import annotations

from bot.privacy import install_log_masking
from bot.rasa_speedups import install

if __name__ == "__main__":
    install()
    install_log_masking()
    from rasa.__main__ import main

    main()
