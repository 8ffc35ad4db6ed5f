"""Hot-path fixes for the Rasa 3.6 server, applied by our entry point ``scripts.rasa_server``.

Rasa validates every action server response with ``jsonschema.validate``, which
re-checks the (constant) schema and builds a new validator on each call: about
13 ms per custom action on our machines, twice per turn (see bench/hotspots.py).
``install()`` swaps in a validator built once. Behaviour is unchanged: the same
schema, the same first error (``best_match``), the same message suffix.
``rasa run`` without our entry point still works, only slower.
"""

from __future__ import annotations

from typing import Any


def install() -> None:
    """Patch ``RemoteAction._validate_action_result`` to reuse one compiled validator (idempotent)."""
    from jsonschema.exceptions import best_match  # noqa: PLC0415 - only the Rasa server process needs these
    from jsonschema.validators import validator_for  # noqa: PLC0415
    from rasa.core.actions.action import RemoteAction  # noqa: PLC0415

    if getattr(RemoteAction, "_shop_validator", None) is not None:
        return
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)
    original = RemoteAction._validate_action_result

    def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        error = best_match(validator.iter_errors(result))
        if error is None:
            return True
        return bool(original(self, result))  # the stock path raises with Rasa's own message

    RemoteAction._shop_validator = validator  # type: ignore[attr-defined]
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
