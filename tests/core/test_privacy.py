"""Personal data: phone numbers and addresses are found in zh and en text, masked or pseudonymised."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.privacy import (
    MaskingFilter,
    Span,
    find,
    install_log_masking,
    mask,
    mask_json,
    pseudonymise,
    pseudonymise_spans,
)
from bot.store.seed import ADDRESSES, CUSTOMERS
from bot.studio.conversations import Conversation, Entity, Step, Turn, annotate, customers, pseudonymised

AT = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


class TestMask:
    """Mobile numbers keep their first three and last four digits; a street keeps its city and district."""

    @pytest.mark.parametrize(("text", "masked"), [
        # zh mobile numbers, however they are written
        ("我的手机号13812345678", "我的手机号138****5678"),
        ("电话：138-1234-5678", "电话：138****5678"),
        ("+86 139 0000 1111 联系我", "+86 139****1111 联系我"),
        ("008615800005555", "0086158****5555"),
        # en
        ("call me at 13900001111 please", "call me at 139****1111 please"),
        ("My number is 186 0000 6666.", "My number is 186****6666."),
        # zh addresses: the street, house number, building and room go; the area stays
        ("送到上海市浦东新区世纪大道88号1203室", "送到上海市浦东新区****"),
        ("北京市朝阳区建国路66号2单元801，谢谢", "北京市朝阳区****，谢谢"),
        ("改到文三路478号吧", "改到****吧"),
        ("深圳市南山区科技园科苑路15号", "深圳市南山区****"),
        ("阳光小区3栋2单元501室", "****"),
        # en addresses: unit, house number and street go; district and city stay
        ("Room 502, 18 Huaihai Road, Xuhui District, Shanghai", "****, Xuhui District, Shanghai"),
        ("send it to apt 9b, 1 jianguomenwai avenue, beijing", "send it to ****, beijing"),
        ("No. 88 Century Avenue", "****"),
        # both in one message
        ("电话13812345678，地址上海市浦东新区世纪大道88号13900001111",
         "电话138****5678，地址上海市浦东新区****139****1111"),
    ])
    def test_personal_data_is_masked(self, text: str, masked: str) -> None:
        assert mask(text) == masked

    @pytest.mark.parametrize("text", [
        "订单 260312004417 到哪了", "line 260312004417-1", "tracking SF1400104729", "12812345678 is no mobile",
        "138123456789 has twelve digits", "¥2,499.00", "2026-11-23 14:00", "我知道3号发货", "我12号下的单",
        "这条路太远了", "一路顺风", "I have 2 items on the way", "3 days ago", "the road is closed", "",
    ])
    def test_other_text_is_left_alone(self, text: str) -> None:
        assert mask(text) == text
        assert find(text) == []

    @pytest.mark.parametrize("customer", [c.customer_id for c in CUSTOMERS if c.customer_id in ADDRESSES])
    def test_every_demo_address_and_phone_is_masked(self, customer: str) -> None:
        phone = next(c.phone for c in CUSTOMERS if c.customer_id == customer)
        address = ADDRESSES[customer]
        masked = mask(f"{address} / {phone}", known=[address, phone])
        assert phone not in masked and address not in masked
        assert f"{phone[:3]}****{phone[-4:]}" in masked

    def test_a_known_address_the_patterns_miss_is_masked_whole(self) -> None:
        assert mask("寄到 building five, tech park 吧", known=["Building Five, Tech Park"]) == "寄到 **** 吧"

    def test_short_known_values_are_not_searched(self) -> None:
        assert mask("C001 says hi", known=["C001"]) == "C001 says hi"

    def test_spans_say_where_and_what(self) -> None:
        assert find("电话13812345678，文三路478号") == [Span(2, 13, "phone"), Span(14, 21, "address")]


class TestPseudonymise:
    """Training data gets sample values of the same kind: no real data, and no stars."""

    @pytest.mark.parametrize(("text", "replaced"), [
        ("我的手机号13812345678", "我的手机号13800138000"),
        ("+86 139 0000 1111", "+86 13800138000"),
        ("送到上海市浦东新区世纪大道88号1203室", "送到上海市浦东新区人民路1号"),
        ("my address is Room 502, 18 Huaihai Road, Shanghai", "my address is 1 Main Street, Shanghai"),
        ("订单 260312004417 到哪了", "订单 260312004417 到哪了"),
    ])
    def test_personal_data_becomes_sample_values(self, text: str, replaced: str) -> None:
        assert pseudonymise(text) == replaced
        assert "*" not in pseudonymise(text)

    def test_spans_move_with_the_new_text(self) -> None:
        text, moved = pseudonymise_spans("文三路478号，电话13912345678")
        assert text == "人民路1号，电话13800138000"
        assert [(start, end) for _, start, end in moved] == [(0, 5), (8, 19)]


class TestMaskJson:
    def test_every_string_is_masked_except_identifiers(self) -> None:
        doc = {"sender_id": "web-13812345678", "text": "13812345678", "turns": [{"value": "文三路478号", "n": 3}],
               "at": "2026-11-23T06:00:00+00:00"}
        assert mask_json(doc) == {"sender_id": "web-13812345678", "text": "138****5678",
                                  "turns": [{"value": "****", "n": 3}], "at": "2026-11-23T06:00:00+00:00"}


class TestConversations:
    """A conversation kept as training data: messages pseudonymised, entities still on their words."""

    @staticmethod
    def conversation(text: str, *entities: Entity) -> Conversation:
        slot = Step("slot", AT, "customer_id", value="C005")
        turn = Turn(0, AT, text, "inform", 0.9, entities=entities, steps=(slot,))
        return Conversation(sender_id="web-C005", started_at=AT, last_at=AT, turns=(turn,),
                            opening=(Step("slot", AT, "customer_id", value="C005"),))

    def test_entities_follow_the_replaced_text(self) -> None:
        text = "电话13912345678，订单260312004417，地址上海市浦东新区世纪大道100号"
        conversation = self.conversation(text, Entity("phone", "13912345678", 2, 13),
                                         Entity("order_id", "260312004417", 16, 28),
                                         Entity("address", "上海市浦东新区世纪大道100号", 31, 46))
        out = pseudonymised(conversation).turns[0]
        assert out.text == "电话13800138000，订单260312004417，地址上海市浦东新区人民路1号"
        assert annotate(out.text, out.entities) == (
            "电话[13800138000](phone)，订单[260312004417](order_id)，地址[上海市浦东新区人民路1号](address)", 3)

    def test_an_entity_over_part_of_the_personal_data_loses_its_offsets(self) -> None:
        conversation = self.conversation("电话13912345678", Entity("digits", "1391234", 2, 9))
        entity = pseudonymised(conversation).turns[0].entities[0]
        assert (entity.start, entity.end, entity.value) == (None, None, "1391234")

    def test_text_without_personal_data_is_kept(self) -> None:
        conversation = self.conversation("我的订单260312004417到哪了", Entity("order_id", "260312004417", 4, 16))
        assert pseudonymised(conversation) == conversation

    def test_the_customers_come_from_the_customer_id_slot(self) -> None:
        assert customers(self.conversation("hi")) == {"C005"}


class TestLogs:
    """Log records are masked whichever logger or handler they go through."""

    @pytest.fixture
    def masking(self) -> Iterator[None]:
        before = logging.getLogRecordFactory()
        install_log_masking()
        yield
        logging.setLogRecordFactory(before)

    def test_the_filter_masks_message_and_arguments(self, caplog: pytest.LogCaptureFixture) -> None:
        log = logging.getLogger("tests.privacy.filter")
        log.addFilter(MaskingFilter())
        try:
            with caplog.at_level(logging.INFO, logger="tests.privacy.filter"):
                log.info("shopper %s lives at %s", "13812345678", "文三路478号")
        finally:
            log.filters.clear()
        assert caplog.records[-1].getMessage() == "shopper 138****5678 lives at ****"

    def test_installed_masking_reaches_every_logger_and_tracebacks(self, masking: None,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
        with caplog.at_level(logging.INFO):
            logging.getLogger("rasa_sdk.executor").info("slot new_address=%s", "北京市朝阳区建国路66号2单元801")
            try:
                raise ValueError("no customer with phone 13900001111")
            except ValueError:
                logging.getLogger("bot.web.errors").exception("unexpected error")
        assert caplog.records[-2].getMessage() == "slot new_address=北京市朝阳区****"
        assert "13900001111" not in caplog.text and "139****1111" in caplog.text

    def test_installing_twice_masks_once(self, masking: None) -> None:
        factory = logging.getLogRecordFactory()
        install_log_masking()
        assert logging.getLogRecordFactory() is factory
