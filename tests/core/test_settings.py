"""Settings from the environment: the scale-out switches."""

from __future__ import annotations

import pytest

from bot.settings import Settings


class TestScaleOut:
    def test_one_web_process_delivering_in_process_is_the_default(self) -> None:
        """No SHOP_REDIS_URL: one web process, live messages delivered in-process."""
        settings = Settings.from_env({})
        assert (settings.redis_url, settings.redis_prefix, settings.web_workers) == ("", "shop:ws:", 1)

    def test_redis_and_workers_are_read_from_the_environment(self) -> None:
        """SHOP_REDIS_URL, SHOP_REDIS_PREFIX and SHOP_WEB_WORKERS set the scale-out mode."""
        settings = Settings.from_env({"SHOP_REDIS_URL": "redis://127.0.0.1:6379/0", "SHOP_REDIS_PREFIX": "shop2:",
                                      "SHOP_WEB_WORKERS": "2"})
        assert (settings.redis_url, settings.redis_prefix, settings.web_workers) == (
            "redis://127.0.0.1:6379/0", "shop2:", 2)

    @pytest.mark.parametrize(("env", "says"), [
        ({"SHOP_WEB_WORKERS": "2"}, "needs SHOP_REDIS_URL"),
        ({"SHOP_WEB_WORKERS": "0", "SHOP_REDIS_URL": "redis://127.0.0.1:6379/0"}, "at least one"),
    ])
    def test_several_workers_without_redis_are_refused_with_the_fix(self, env: dict[str, str], says: str) -> None:
        """Several web processes without Redis would strand agents and shoppers on different processes."""
        with pytest.raises(ValueError, match=says):
            Settings.from_env(env)


class TestFaultSettings:
    def test_the_action_server_and_the_database_wait_have_local_defaults(self) -> None:
        """The action server of endpoints.yml; SQLite writers wait up to 30 s for each other."""
        settings = Settings.from_env({})
        assert (settings.action_url, settings.database_timeout_s) == ("http://127.0.0.1:5055", 30.0)

    def test_they_are_read_from_the_environment(self) -> None:
        settings = Settings.from_env({"SHOP_ACTION_URL": "http://actions:5055/", "SHOP_DATABASE_TIMEOUT_S": "5"})
        assert (settings.action_url, settings.database_timeout_s) == ("http://actions:5055", 5.0)
