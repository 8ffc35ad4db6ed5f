"""Specification of the custom Rasa components: BilingualTokenizer and LanguageDetector.

The last class trains a tiny NLU model with both components, once for the class,
and checks what Rasa's parse result and model archive carry.
"""

from __future__ import annotations

import asyncio
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import rasa.model_training
from rasa.core.agent import Agent
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.core.events import Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.language import is_han
from bot.nlu.language_detector import LANGUAGE, LanguageDetector
from bot.nlu.tokenizer import DEFAULT_DICTIONARY, STORED_DICTIONARY, BilingualTokenizer

SHOP_WORDS = """
    价保 价格保护 保价 七天无理由 无理由退货 运单号 快递单号 物流 转人工 人工客服 退款 退货
    换货 发票 增值税 抬头 税号 补差价 开不了机 不开机 漏水 漏电 冒烟 起火 不制冷 屏幕碎了
    噪音大 发烫 少配件 有异味 大闸蟹 车厘子 神仙水 小黑瓶 纸尿裤 尿不湿 婴儿推车 奶粉 吹风机
    洗衣机 冰箱 空调 美的空调 海尔冰箱 苹果手机 华为手机 小米手机 笔记本电脑 苹果电脑 取消订单
    收货地址 改地址 付款失败 待付款 到账 签收 揽收 派送 快递员 三体
"""


def make_tokenizer(storage_path: Path, resource_name: str = "tokenizer", **config: Any) -> BilingualTokenizer:
    """Creates an untrained tokenizer the way Rasa's training graph does."""
    return BilingualTokenizer.create(
        {**BilingualTokenizer.get_default_config(), **config},
        LocalModelStorage(storage_path),
        Resource(resource_name),
        ExecutionContext(GraphSchema({}), "test"),
    )


def load_tokenizer(storage_path: Path, resource_name: str = "tokenizer", **config: Any) -> BilingualTokenizer:
    """Loads a trained tokenizer the way Rasa's prediction graph does."""
    return BilingualTokenizer.load(
        {**BilingualTokenizer.get_default_config(), **config},
        LocalModelStorage(storage_path),
        Resource(resource_name),
        ExecutionContext(GraphSchema({}), "test"),
    )


def words(tokenizer: BilingualTokenizer, text: str) -> list[str]:
    """The token texts of ``text``."""
    return [t.text for t in tokenizer.tokenize(Message({TEXT: text}), TEXT)]


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> BilingualTokenizer:
    """A tokenizer with the packaged shop dictionary."""
    return make_tokenizer(tmp_path_factory.mktemp("storage"))


class TestTokens:
    """Tokens are exact slices of the text, and never whitespace."""

    @pytest.mark.parametrize(
        "text",
        [
            "订单什么时候到？",
            "发票抬头和税号写错了，能改吗",
            "Where is my order? I paid yesterday.",
            "I don't want the e-mail, just a refund!",
            "我的iPhone 15订单什么时候到?",
            "order 260312004417发货了吗",
            "where is my 快递",
            "我的运单号是SF1234567890，三天了还没到😡",
            "“三体”和《活着》买了吗",
            "ｉＰｈｏｎｅ１５　价保？",  # fullwidth letters and the ideographic space
            "价保\u200b多少钱\t\n\r  ok",  # zero-width and control characters
            "  \u3000 ",
            "",
        ],
    )
    def test_offsets_are_exact_and_there_is_no_whitespace(
        self, tokenizer: BilingualTokenizer, text: str
    ) -> None:
        """text[start:end] is each token's text, and no token is blank or invisible."""
        tokens = tokenizer.tokenize(Message({TEXT: text}), TEXT)
        for token in tokens:
            assert text[token.start : token.end] == token.text
            assert token.text.strip() == token.text != ""
            assert "\u200b" not in token.text
        assert [t.start for t in tokens] == sorted(t.start for t in tokens)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("订单什么时候到？", ["订单", "什么", "时候", "到", "？"]),
            ("where is my order?", ["where", "is", "my", "order", "?"]),
            ("I don't know", ["I", "do", "n't", "know"]),  # spaCy's English rules
            (
                "我的iPhone 15订单什么时候到?",
                ["我", "的", "iPhone", "15", "订单", "什么", "时候", "到", "?"],
            ),
            ("order 260312004417发货了吗", ["order", "260312004417", "发货", "了", "吗"]),
            ("where is my 快递", ["where", "is", "my", "快递"]),
            ("iPhone\u200b15", ["iPhone", "15"]),  # a zero-width space separates
            ("价保\t\n多少钱", ["价保", "多少", "钱"]),
            ("订单：123", ["订单", "：", "123"]),
        ],
    )
    def test_segments_code_switched_text(
        self, tokenizer: BilingualTokenizer, text: str, expected: list[str]
    ) -> None:
        """Chinese goes to jieba and everything else to spaCy, run by run."""
        assert words(tokenizer, text) == expected

    @pytest.mark.parametrize(
        ("text", "word"),
        [
            ("能价保吗？", "价保"),
            ("怎么申请价格保护", "价格保护"),
            ("这个支持七天无理由退货吗", "七天无理由"),
            ("我的运单号是SF1234567890", "运单号"),
            ("快递单号查不到", "快递单号"),
            ("我要转人工", "转人工"),
            ("能补差价吗", "补差价"),
            ("手机开不了机", "开不了机"),
            ("空调不制冷", "不制冷"),
            ("屏幕碎了怎么办", "屏幕碎了"),
            ("取消订单后多久到账", "取消订单"),
            ("买的车厘子坏了", "车厘子"),
            ("神仙水是正品吗", "神仙水"),
            ("订单被揽收了吗", "揽收"),
        ],
    )
    def test_keeps_domain_words_whole(self, tokenizer: BilingualTokenizer, text: str, word: str) -> None:
        """Words from the shop dictionary come out as one token."""
        assert word in words(tokenizer, text)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("", []),
            ("0", [(0, 1, False)]),
            ("我的iPhone 15订单", [(0, 2, True), (2, 8, False), (9, 11, False), (11, 13, True)]),
            ("到？ok", [(0, 2, True), (2, 4, False)]),  # CJK punctuation stays Chinese
            ("ｏｋ好", [(0, 2, False), (2, 3, True)]),  # fullwidth letters are not
            ("a\u200bb", [(0, 1, False), (2, 3, False)]),
        ],
    )
    def test_runs(self, text: str, expected: list[tuple[int, int, bool]]) -> None:
        """A text splits into Chinese and other runs at script changes and separators."""
        assert list(BilingualTokenizer.runs(text)) == expected


class TestTokenizerConfig:
    """The standard Tokenizer config keys work as in Rasa's own tokenizers."""

    def test_token_pattern_splits_and_drops(self, tmp_path: Path) -> None:
        """token_pattern re-splits tokens; a token it does not match is kept whole."""
        tokenizer = make_tokenizer(tmp_path, token_pattern=r"[^\W_]+")
        tokens = tokenizer.tokenize(Message({TEXT: "order_id 订单"}), TEXT)
        assert [(t.text, t.start) for t in tokens] == [("order", 0), ("id", 6), ("订单", 9)]

    def test_intent_split_symbol(self, tmp_path: Path) -> None:
        """Intent names are split on intent_split_symbol when the flag is on."""
        tokenizer = make_tokenizer(tmp_path, intent_tokenization_flag=True)
        message = Message({INTENT: "ask_price_protection"})
        tokenizer.process([message])
        tokens = message.get(TOKENS_NAMES[INTENT])
        assert [t.text for t in tokens] == ["ask", "price", "protection"]


class TestUserDictionary:
    """The user dictionary is read from the config, stored in the model and fingerprinted."""

    WORD = "喵喵券"  # not in jieba's own dictionary

    @pytest.fixture()
    def dictionary(self, tmp_path: Path) -> Path:
        """A one-word user dictionary."""
        path = tmp_path / "words.txt"
        path.write_text(f"{self.WORD} 1000 n\n", encoding="utf-8")
        return path

    def test_without_dictionary_the_word_is_split(self, tmp_path: Path) -> None:
        """With dictionary_path null, jieba's own dictionary splits the word."""
        tokenizer = make_tokenizer(tmp_path, dictionary_path=None, hmm=False)
        assert self.WORD not in words(tokenizer, f"我有{self.WORD}")

    def test_trained_model_carries_the_dictionary(self, tmp_path: Path, dictionary: Path) -> None:
        """train() stores the file; load() uses it even after the original is gone."""
        storage = tmp_path / "storage"
        storage.mkdir()
        make_tokenizer(storage, dictionary_path=str(dictionary)).train(TrainingData())
        stored = storage / "tokenizer" / STORED_DICTIONARY
        assert stored.read_bytes() == dictionary.read_bytes()

        dictionary.unlink()
        loaded = load_tokenizer(storage, dictionary_path=str(dictionary), hmm=False)
        assert self.WORD in words(loaded, f"我有{self.WORD}")

    def test_fingerprint_follows_the_contents(self, dictionary: Path) -> None:
        """Editing the dictionary changes the fingerprint addon; re-saving it does not."""
        config = {**BilingualTokenizer.get_default_config(), "dictionary_path": str(dictionary)}
        before = BilingualTokenizer.fingerprint_addon(config)
        dictionary.write_text(f"{self.WORD} 1000 n\n", encoding="utf-8")
        assert BilingualTokenizer.fingerprint_addon(config) == before
        dictionary.write_text(f"{self.WORD} 1000 n\n价保 1000 n\n", encoding="utf-8")
        assert BilingualTokenizer.fingerprint_addon(config) != before

    def test_packaged_dictionary_has_the_shop_words(self) -> None:
        """shop_dict.txt holds the shop's terms, each of Han characters only."""
        lines = DEFAULT_DICTIONARY.read_text(encoding="utf-8").splitlines()
        entries = [line.split() for line in lines if line.strip()]
        assert all(len(entry) == 3 and entry[1].isdigit() for entry in entries)
        dictionary = [entry[0] for entry in entries]
        assert len(dictionary) == len(set(dictionary))
        assert all(is_han(char) for word in dictionary for char in word)
        assert set(SHOP_WORDS.split()) <= set(dictionary)

    def test_default_is_the_packaged_dictionary(self) -> None:
        """The default dictionary_path is shop_dict.txt next to the component."""
        config = BilingualTokenizer.get_default_config()
        assert Path(config["dictionary_path"]) == DEFAULT_DICTIONARY
        assert DEFAULT_DICTIONARY.is_file()

    def test_missing_dictionary_names_the_path(self, tmp_path: Path) -> None:
        """A dictionary_path that is not a file fails with the path and the fix."""
        missing = tmp_path / "nowhere.txt"
        with pytest.raises(InvalidConfigException, match=r"nowhere\.txt.*null"):
            make_tokenizer(tmp_path, dictionary_path=str(missing))

    @pytest.mark.parametrize(
        ("contents", "message"),
        [
            # jieba would read "价保 1000 N" (upper-case tag) as one word.
            ("价保 1000 n\n价保 1000 N\n".encode(), "line 2.*word freq tag"),
            ("价保 n 1000\n".encode(), "line 1"),  # tag before frequency
            ("价保 1000 n\n".encode("gbk"), "not UTF-8"),
        ],
    )
    def test_malformed_dictionary_says_the_line_and_the_format(
        self, tmp_path: Path, contents: bytes, message: str
    ) -> None:
        """A dictionary jieba would silently misread fails with the line and the fix."""
        path = tmp_path / "bad.txt"
        path.write_bytes(contents)
        with pytest.raises(InvalidConfigException, match=message):
            make_tokenizer(tmp_path, dictionary_path=str(path))

    def test_warns_of_words_jieba_never_sees(self, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
        """A word with Latin letters or digits can never match, and that is logged."""
        path = tmp_path / "mixed.txt"
        path.write_text("苹果15 1000 nz\n价保 1000 n\n", encoding="utf-8")
        make_tokenizer(tmp_path, dictionary_path=str(path))
        assert "苹果15" in caplog.text
        assert "'价保'" not in caplog.text


class TestLanguageDetector:
    """LanguageDetector labels each message and puts the label in the output."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("订单什么时候到", "zh"),
            ("where is my order", "en"),
            ("我的iPhone 15订单什么时候到", "mixed"),
            ("260312004417", "unknown"),
        ],
    )
    def test_labels_messages(self, text: str, expected: str) -> None:
        """The label is bot.language.detect() of the text, and an output property."""
        message = Message({TEXT: text})
        LanguageDetector().process([message])
        assert message.get(LANGUAGE) == expected
        assert message.as_dict(only_output_properties=True)[LANGUAGE] == expected

    def test_leaves_messages_without_text_alone(self) -> None:
        """A message with only an intent (from a story) gets no label."""
        message = Message({INTENT: "greet"})
        LanguageDetector().process([message])
        assert message.get(LANGUAGE) is None


NLU_DATA = """\
version: "3.1"
nlu:
- intent: ask_order_status
  examples: |
    - 我的订单什么时候到
    - 运单号是多少
    - where is my order
    - when will my parcel arrive
- intent: ask_price_protection
  examples: |
    - 能价保吗
    - 降价了可以补差价吗
    - can I get price protection
    - the price dropped, refund the difference
"""

CONFIG = """\
recipe: default.v1
assistant_id: test_bilingual_components
language: zh
pipeline:
- name: bot.nlu.tokenizer.BilingualTokenizer
  dictionary_path: {dictionary}
- name: bot.nlu.language_detector.LanguageDetector
- name: CountVectorsFeaturizer
- name: DIETClassifier
  epochs: 1
"""


# Training in-process meets third-party noise that pyproject's narrow filters
# miss because Python attributes it to the standard library, not to its source.
TRAINING_NOISE = [
    # pykwalify (Rasa's YAML schema check) loads its extensions with load_module().
    "ignore:the load_module\\(\\) method is deprecated:DeprecationWarning",
    # Keras seeds its layers with random.randint(1, 1e9), a float bound.
    "ignore:non-integer arguments to randrange\\(\\):DeprecationWarning",
]


@pytest.mark.filterwarnings(*TRAINING_NOISE)
class TestTrainedModel:
    """A tiny NLU model trained with both components, through Rasa's own training."""

    @pytest.fixture(scope="class")
    def project(self, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
        """A project directory with a trained model, a config and its own cache."""
        root = tmp_path_factory.mktemp("project")
        shutil.copy(DEFAULT_DICTIONARY, root / "words.txt")
        (root / "config.yml").write_text(CONFIG.format(dictionary=root / "words.txt"), encoding="utf-8")
        (root / "nlu.yml").write_text(NLU_DATA, encoding="utf-8")
        (root / "domain.yml").write_text('version: "3.1"\n', encoding="utf-8")
        with pytest.MonkeyPatch.context() as env:
            env.setenv("RASA_CACHE_DIRECTORY", str(root / "cache"))
            env.setenv("RASA_TELEMETRY_ENABLED", "false")
            assert self.train(root).code == 0
            yield root

    @staticmethod
    def train(root: Path, dry_run: bool = False) -> Any:
        """Trains (or dry-runs training of) the project's NLU model."""
        return rasa.model_training.train(
            domain=str(root / "domain.yml"),
            config=str(root / "config.yml"),
            training_files=[str(root / "nlu.yml")],
            output=str(root / "models"),
            fixed_model_name="nlu",
            dry_run=dry_run,
        )

    @pytest.fixture(scope="class")
    def parse(self, project: Path) -> Any:
        """Parses a text with the trained model, as POST /model/parse does."""
        agent = Agent.load(str(project / "models" / "nlu.tar.gz"))
        return lambda text: asyncio.run(agent.parse_message(text))

    def test_parse_data_carries_language_and_clean_tokens(self, parse: Any) -> None:
        """parse_data["language"] is the detected language; tokens hold no whitespace."""
        text = "我的iPhone 15订单什么时候到"
        parse_data = parse(text)
        assert parse_data[LANGUAGE] == "mixed"
        tokens = [text[start:end] for start, end in parse_data["text_tokens"]]
        assert tokens[:4] == ["我", "的", "iPhone", "15"]
        assert "订单" in tokens
        assert all(token.strip() == token != "" for token in tokens)
        assert parse_data[INTENT]["name"] in {"ask_order_status", "ask_price_protection"}

    @pytest.mark.parametrize(
        ("text", "expected"),
        [("能价保吗", "zh"), ("where is my order", "en"), ("👍", "unknown")],
    )
    def test_parse_data_language(self, parse: Any, text: str, expected: str) -> None:
        """Each language label reaches the parse result."""
        assert parse(text)[LANGUAGE] == expected

    def test_language_reaches_latest_message(self, parse: Any) -> None:
        """The label survives the UserUttered event, so actions see it in latest_message."""
        parse_data = parse("where is my 快递")
        event = UserUttered(parse_data[TEXT], parse_data[INTENT], [], parse_data)
        stored = Event.from_parameters(event.as_dict())  # as a tracker store keeps it
        tracker = DialogueStateTracker.from_events("shopper", [stored])
        assert tracker.current_state()["latest_message"][LANGUAGE] == "mixed"

    def test_model_archive_contains_the_dictionary(self, project: Path) -> None:
        """The packed model holds a copy of the user dictionary."""
        with tarfile.open(project / "models" / "nlu.tar.gz") as archive:
            stored = [m for m in archive.getmembers() if m.name.endswith(STORED_DICTIONARY)]
            assert len(stored) == 1
            contents = archive.extractfile(stored[0])
            assert contents is not None
            assert contents.read() == DEFAULT_DICTIONARY.read_bytes()

    def test_editing_the_dictionary_requires_retraining(self, project: Path) -> None:
        """A dry run says 'up to date' until the dictionary changes."""
        assert self.train(project, dry_run=True).code == 0
        with (project / "words.txt").open("a", encoding="utf-8") as words_file:
            words_file.write("喵喵券 1000 n\n")
        result = self.train(project, dry_run=True)
        assert result.code == rasa.model_training.CODE_NEEDS_TO_BE_RETRAINED
        # Rasa names nodes after the config's `name`, here the module path.
        assert not result.dry_run_results["train_bot.nlu.tokenizer.BilingualTokenizer0"].is_hit
