"""Hot-path fixes for the Rasa 3.6 server, applied by our entry point ``scripts.rasa_server``.

1. Rasa validates every action server response with ``jsonschema.validate``, which
   re-checks the (constant) schema and builds a new validator on each call: about
   13 ms per custom action on our machines, twice per turn (see bench/hotspots.py).
   We build the validator once. Same schema, same first error, same message.
2. Loading DIET, Rasa builds the network's weights by *training it for one step*
   (``RasaModel.load`` calls ``model.fit``), which traces the whole training graph
   with its gradients: ~30 of the ~35 s a Rasa server needs to start. To serve
   (not to fine-tune), a forward pass builds every weight prediction uses, so we
   run one eager prediction, restore the trained weights into those variables
   (optimizer slots in the checkpoint are deliberately not restored), and then
   prepare for prediction as Rasa does. tests/e2e/test_rasa_speedups.py checks
   that the held-out sets get exactly the same intents and confidences both ways.

3. A conversation lock (``LockStore``) serves tickets in order, and a ticket expires
   after ``TICKET_LOCK_LIFETIME`` so that a server that died mid-turn cannot hold a
   conversation for ever. But a *waiting* ticket expires too: once both the dead
   holder's ticket and the waiter's own one have expired, ``is_locked`` is true for
   ever and the waiter loops until its client gives up (with the shared
   ``RedisLockStore``, the next message of that conversation on any server then waits
   the same way). A waiter now renews its own ticket every time it polls, so only
   tickets of processes that stopped polling expire. ``tests/e2e/test_rasa_speedups.py``
   shows the hang with stock Rasa and the fix.

``rasa run`` without our entry point still works, only slower (and without fix 3).
"""

from __future__ import annotations

from typing import Any


def install() -> None:
    """Apply every fix (idempotent)."""
    install_action_validator()
    install_fast_model_load()
    install_lock_renewal()


def install_lock_renewal() -> None:
    """Patch ``LockStore._acquire_lock`` so that a waiting ticket is renewed on every poll (fix 3)."""
    import asyncio  # noqa: PLC0415
    import time  # noqa: PLC0415

    from rasa.core.lock import TicketLock  # noqa: PLC0415
    from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore  # noqa: PLC0415

    if getattr(LockStore, "_shop_lock_renewal", False):
        return

    async def _acquire_lock(self: LockStore, conversation_id: str, ticket: int,
                            wait_time_in_seconds: float) -> TicketLock:
        lifetime = None
        while True:
            lock = self.get_lock(conversation_id)
            if not lock:  # as stock Rasa: the lock is gone
                break
            if not lock.is_locked(ticket):
                return lock
            mine = lock._ticket_for_ticket_number(ticket)
            if lifetime is None and mine is not None:
                lifetime = max(mine.expires - time.time(), 0.0) or LOCK_LIFETIME
            await asyncio.sleep(wait_time_in_seconds)
            lock = self.get_lock(conversation_id)
            if lock:
                mine = lock._ticket_for_ticket_number(ticket)
                if mine is not None:  # still waiting: not to be taken for a dead process's ticket
                    mine.expires = time.time() + (lifetime or LOCK_LIFETIME)
                lock.remove_expired_tickets()
                self.save_lock(lock)
        raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")

    LockStore._acquire_lock = _acquire_lock  # type: ignore[method-assign]
    LockStore._shop_lock_renewal = True  # type: ignore[attr-defined]


def install_fast_model_load() -> None:
    """Patch ``RasaModel.load`` to build weights with one eager prediction instead of one training step."""
    from rasa.utils.tensorflow.models import RasaModel  # noqa: PLC0415 - pulls in TensorFlow

    if getattr(RasaModel, "_shop_fast_load", False):
        return
    stock = RasaModel.load.__func__  # type: ignore[attr-defined]

    def load(cls: Any, model_file_name: str, model_data_example: Any, predict_data_example: Any = None,
             finetune_mode: bool = False, *args: Any, **kwargs: Any) -> Any:
        if finetune_mode or predict_data_example is None:  # fine-tuning needs the optimizer state
            return stock(cls, model_file_name, model_data_example, predict_data_example, finetune_mode,
                         *args, **kwargs)
        model = cls(*args, **kwargs)
        traced = model._run_eagerly
        model._run_eagerly = True  # build the prediction path's variables without tracing a graph
        model.run_inference(predict_data_example)
        model._run_eagerly = traced
        model.load_weights(model_file_name).expect_partial()
        model.prepared_for_prediction = False  # label embeddings were computed with the initial weights
        model._tf_predict_step = None
        model.run_inference(predict_data_example)  # as stock Rasa does: trace the prediction graph now
        return model

    RasaModel.load = classmethod(load)  # type: ignore[method-assign, assignment]
    RasaModel._shop_fast_load = True  # type: ignore[attr-defined]


def install_action_validator() -> None:
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
