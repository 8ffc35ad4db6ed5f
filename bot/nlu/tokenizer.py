"""A Rasa tokenizer for code-switched Chinese and English messages.

Rasa's own ``JiebaTokenizer`` accepts only ``language: zh`` and keeps every
space as a token ("iPhone 15" becomes ``iPhone``, ``' '``, ``15``), and its
user dictionary is loaded into jieba's process-wide instance. The
:class:`BilingualTokenizer` here splits a message into runs first and hands
each run to the segmenter that suits it:

* Han characters and CJK punctuation go to a jieba instance of its own, which
  carries the shop's user dictionary (``shop_dict.txt``);
* everything else (Latin words, digits, ASCII punctuation, emoji) goes to
  spaCy's rule-based English tokenizer from a blank pipeline; no model is
  downloaded;
* whitespace, control and invisible format characters separate runs and never
  become tokens.

Every token's ``start`` and ``end`` are character offsets into the original
message text, so entity annotations line up with tokens.

Example:
    "我的iPhone 15订单什么时候到?" is tokenized as
    我 / 的 / iPhone / 15 / 订单 / 什么 / 时候 / 到 / ?
    and "order 260312004417发货了吗" as order / 260312004417 / 发货 / 了 / 吗.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import logging
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import jieba
import spacy
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

import bot.language
from bot.language import is_han

logger = logging.getLogger(__name__)

DEFAULT_DICTIONARY = Path(__file__).with_name("shop_dict.txt")
"""The shop's jieba user dictionary, packaged next to this module."""

STORED_DICTIONARY = "user_dict.txt"
"""The dictionary's file name inside the component's model-storage resource."""

# Blocks whose punctuation and symbols belong with Chinese text: CJK Symbols
# and Punctuation ("。", "、", "《"), CJK Compatibility Forms and the fullwidth
# forms ("，", "？", "："). Fullwidth letters and digits in the last block are
# not punctuation and go to the English tokenizer with other Latin text.
_CJK_PUNCTUATION_BLOCKS = ((0x3000, 0x303F), (0xFE30, 0xFE4F), (0xFF00, 0xFFEF))

_Kind = Literal["chinese", "other", "separator"]

# One jieba user-dictionary line: a word without spaces, then optionally a
# frequency and a lower-case part-of-speech tag, separated by single spaces.
_DICTIONARY_ENTRY = re.compile(r"(\S+)(?: ([0-9]+))?(?: ([a-z]+))?")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class BilingualTokenizer(Tokenizer):
    """Tokenizes Chinese with jieba and everything else with spaCy, without spaces.

    Training copies the user dictionary into the model storage, and
    :meth:`load` reads it from there, so a trained model carries its own
    dictionary. The dictionary's contents are part of the component's
    fingerprint, so editing the file makes ``rasa train`` retrain.

    Config keys, besides the standard ``Tokenizer`` ones
    (``intent_tokenization_flag``, ``intent_split_symbol``, ``token_pattern``,
    ``prefix_separator_symbol``):

    * ``dictionary_path``: a jieba user dictionary, one ``word freq tag`` per
      line (jieba's format has no comments); a relative path is relative to
      the directory Rasa runs in. ``null`` uses jieba's own dictionary only.
      Only words made of Han characters can ever match, because Latin letters
      and digits are split off before jieba runs.
    * ``hmm``: let jieba find words missing from its dictionaries with its
      hidden Markov model.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The component's default config (see parent class for full docstring)."""
        return {
            "dictionary_path": str(DEFAULT_DICTIONARY),
            "hmm": True,
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
        }

    @staticmethod
    def required_packages() -> list[str]:
        """Packages whose versions become part of the fingerprint."""
        return ["jieba", "spacy"]

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        user_dictionary: bytes | None,
    ) -> None:
        """Builds the two segmenters.

        Args:
            config: The component config, with defaults filled in.
            model_storage: Where :meth:`train` persists the dictionary.
            resource: This component's resource in ``model_storage``.
            user_dictionary: The jieba user dictionary's bytes, or ``None``.
        """
        super().__init__(config)
        self._model_storage = model_storage
        self._resource = resource
        self._user_dictionary = user_dictionary
        self._hmm = bool(config["hmm"])
        self._jieba = self._chinese_segmenter(user_dictionary)
        self._english = spacy.blank("en").tokenizer

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> BilingualTokenizer:
        """Creates an untrained component, reading ``dictionary_path``."""
        path = config["dictionary_path"]
        user_dictionary = None if path is None else cls._read_dictionary(path)
        return cls(config, model_storage, resource, user_dictionary)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> BilingualTokenizer:
        """Loads the component with the dictionary stored in the model."""
        user_dictionary = None
        try:
            with model_storage.read_from(resource) as directory:
                stored = directory / STORED_DICTIONARY
                if stored.is_file():
                    user_dictionary = stored.read_bytes()
        except ValueError:
            logger.warning(
                f"{cls.__name__}: the model has no resource '{resource.name}', so "
                f"it runs without its user dictionary. Retrain the model."
            )
        return cls(config, model_storage, resource, user_dictionary)

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Hashes what the tokens depend on besides the config and the class source.

        Rasa's fingerprint covers the config (so the dictionary's *path*), the
        source of this class and the versions of :meth:`required_packages`,
        but not the dictionary's *contents* nor ``bot.language``, whose
        ``is_han`` decides where Chinese runs start and end.
        """
        digest = hashlib.sha256(inspect.getsource(bot.language).encode("utf-8"))
        path = config.get("dictionary_path")
        if path is not None:
            digest.update(cls._read_dictionary(path))
        return digest.hexdigest()

    def train(self, training_data: TrainingData) -> Resource:
        """Copies the user dictionary into the model storage."""
        with self._model_storage.write_to(self._resource) as directory:
            if self._user_dictionary is not None:
                (directory / STORED_DICTIONARY).write_bytes(self._user_dictionary)
        return self._resource

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        """Tokenizes the text of the provided attribute of the incoming message."""
        text = message.get(attribute)
        tokens: list[Token] = []
        for start, end, chinese in self.runs(text):
            if chinese:
                words = self._jieba.tokenize(text[start:end], HMM=self._hmm)
                tokens.extend(Token(word, start + offset) for word, offset, _ in words)
            else:
                doc = self._english(text[start:end])
                tokens.extend(Token(t.text, start + t.idx) for t in doc)
        return self._apply_token_pattern(tokens)

    @classmethod
    def runs(cls, text: str) -> Iterator[tuple[int, int, bool]]:
        """Splits a text into runs, each for one segmenter.

        Args:
            text: The message text.

        Yields:
            ``(start, end, chinese)`` for each run, in order: ``text[start:end]``
            is the run and ``chinese`` says whether it goes to jieba.
            Separators (whitespace, control and format characters) are in no run.

        Example:
            ``list(BilingualTokenizer.runs("我的iPhone 15订单"))`` is
            ``[(0, 2, True), (2, 8, False), (9, 11, False), (11, 13, True)]``.
        """
        start, chinese = None, False
        for index, char in enumerate(text):
            kind = cls._kind(char)
            if start is not None and kind != ("chinese" if chinese else "other"):
                yield start, index, chinese
                start = None
            if start is None and kind != "separator":
                start, chinese = index, kind == "chinese"
        if start is not None:
            yield start, len(text), chinese

    @staticmethod
    def _kind(char: str) -> _Kind:
        """Whether a character is ``"chinese"``, ``"other"`` or a ``"separator"``."""
        if char.isspace() or unicodedata.category(char) in ("Cc", "Cf"):
            return "separator"
        if is_han(char):
            return "chinese"
        code = ord(char)
        if unicodedata.category(char)[0] in "PS" and any(
            low <= code <= high for low, high in _CJK_PUNCTUATION_BLOCKS
        ):
            return "chinese"
        return "other"

    @classmethod
    def _chinese_segmenter(cls, user_dictionary: bytes | None) -> jieba.Tokenizer:
        """A jieba instance of this component's own, with the user dictionary.

        jieba's module-level functions share one process-wide dictionary, so
        another component (or Rasa's ``JiebaTokenizer``) loading words into it
        would change this component's tokens.
        """
        segmenter = jieba.Tokenizer()
        if user_dictionary is None:
            segmenter.initialize()
            return segmenter
        words = cls._dictionary_words(user_dictionary)
        segmenter.load_userdict(io.BytesIO(user_dictionary))
        unreachable = [w for w in words if any(cls._kind(c) != "chinese" for c in w)]
        if unreachable:
            logger.warning(
                f"{cls.__name__}: the user dictionary words {unreachable} mix Han "
                f"characters with other characters; Latin letters and digits are "
                f"split off before jieba runs, so these never match. Keep only "
                f"the Han part of each."
            )
        return segmenter

    @classmethod
    def _dictionary_words(cls, user_dictionary: bytes) -> list[str]:
        """The words of a jieba user dictionary, checking its format.

        jieba itself accepts any line: it reads "价保 1000 N" (an upper-case
        tag) as the word "价保 1000 N" and never matches it.

        Raises:
            InvalidConfigException: A line is not ``word [freq] [tag]``, or the
                file is not UTF-8.
        """
        try:
            text = user_dictionary.decode("utf-8").lstrip("\ufeff")
        except UnicodeDecodeError as error:
            raise InvalidConfigException(
                f"{cls.__name__}: the user dictionary is not UTF-8 ({error}). Save it as UTF-8."
            ) from error
        words = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            entry = _DICTIONARY_ENTRY.fullmatch(line.strip())
            if entry is None:
                raise InvalidConfigException(
                    f"{cls.__name__}: line {number} of the user dictionary, "
                    f"{line!r}, is not in jieba's format. Write one 'word freq tag' "
                    f"per line, e.g. '价保 1000 n'; the frequency and the "
                    f"lower-case tag are optional, and there are no comments."
                )
            words.append(entry.group(1))
        return words

    @classmethod
    def _read_dictionary(cls, path: str) -> bytes:
        """Reads the user dictionary at ``path``, or says how to fix the config."""
        try:
            return Path(path).read_bytes()
        except OSError as error:
            raise InvalidConfigException(
                f"{cls.__name__}: cannot read the user dictionary "
                f"'dictionary_path: {path}' ({error.strerror}). Point it at a jieba "
                f"user dictionary file, or set it to null to use jieba's own "
                f"dictionary only."
            ) from error
