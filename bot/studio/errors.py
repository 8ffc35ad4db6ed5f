"""The catalogue of studio errors.

Each error names the offending value in its attributes and in ``facts``, a small
dict of strings and numbers that the web edge can put into its JSON answer and
the UI can put into its zh/en message. ``str()`` is plain English, for logs only.
"""

from __future__ import annotations

from bot.errors import ShopError


class StudioError(ShopError):
    """Base class of every error the studio raises on purpose."""

    code = "studio_error"

    def __init__(self, message: str, **facts: str | int | None) -> None:
        super().__init__(message)
        self.facts: dict[str, str | int | None] = facts


class PathNotAllowed(StudioError):
    """A path that is not one of the editable data files.

    ``reason`` says why, as a stable key: ``empty``, ``absolute``, ``backslash``,
    ``parent``, ``not_canonical``, ``hidden``, ``bad_name``, ``not_yml``,
    ``not_editable``, ``symlink`` or ``no_folder``.
    """

    code = "path_not_allowed"

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"path {path!r} is not editable ({reason})", path=path, reason=reason)
        self.path = path
        self.reason = reason


class FileMissing(StudioError):
    """An editable path with no file behind it (yet)."""

    code = "file_missing"

    def __init__(self, path: str) -> None:
        super().__init__(f"file {path!r} does not exist", path=path)
        self.path = path


class EditConflict(StudioError):
    """The file changed since the editor read it, so the save would lose someone's edit.

    ``current_version`` is the version on disk now (``None``: the file does not
    exist), so that the editor can reload, merge and try again.
    """

    code = "edit_conflict"

    def __init__(self, path: str, current_version: str | None) -> None:
        super().__init__(f"file {path!r} changed since it was read (now at version {current_version})",
                         path=path, current_version=current_version)
        self.path = path
        self.current_version = current_version


class MalformedYaml(StudioError):
    """Text that is not valid YAML; ``line`` and ``column`` are 1-based, ``detail`` is ruamel's English."""

    code = "yaml_syntax"

    def __init__(self, line: int, column: int, detail: str, path: str | None = None) -> None:
        where = f"{path}:" if path else ""
        super().__init__(f"{where}{line}:{column}: invalid YAML: {detail}",
                         line=line, column=column, detail=detail, path=path)
        self.line = line
        self.column = column
        self.detail = detail
        self.path = path

    def located(self, path: str) -> MalformedYaml:
        """The same error, naming the file it is in."""
        return MalformedYaml(self.line, self.column, self.detail, path)


class DuplicateKey(MalformedYaml):
    """A mapping that names the same key twice (YAML forbids it; Rasa would keep only one)."""

    code = "duplicate_key"

    def __init__(self, line: int, column: int, key: str, path: str | None = None) -> None:
        super().__init__(line, column, f"duplicate key {key!r}", path)
        self.facts["key"] = key
        self.key = key

    def located(self, path: str) -> DuplicateKey:
        return DuplicateKey(self.line, self.column, self.key, path)


class NotEditable(StudioError):
    """Text whose layout the editor cannot change safely, e.g. ``examples`` written as a list.

    ``what`` names the part (an intent, a response, a path) and ``reason`` is a stable key.
    """

    code = "not_editable"

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"{what!r} cannot be edited here ({reason})", what=what, reason=reason)
        self.what = what
        self.reason = reason


class InvalidExample(StudioError):
    """A training example that cannot be one line of an ``examples: |`` block (empty or multi-line)."""

    code = "invalid_example"

    def __init__(self, example: str, reason: str) -> None:
        super().__init__(f"example {example!r} is invalid ({reason})", example=example, reason=reason)
        self.example = example
        self.reason = reason


class DuplicateExample(StudioError):
    """The intent already has this example (compared as plain text, ignoring case and spacing)."""

    code = "duplicate_example"

    def __init__(self, intent: str, example: str) -> None:
        super().__init__(f"intent {intent!r} already has the example {example!r}", intent=intent, example=example)
        self.intent = intent
        self.example = example


class ExampleNotFound(StudioError):
    """The intent has no such example in this file (or the file has no such intent)."""

    code = "example_not_found"

    def __init__(self, intent: str, example: str) -> None:
        super().__init__(f"intent {intent!r} has no example {example!r} here", intent=intent, example=example)
        self.intent = intent
        self.example = example


class UnknownResponse(StudioError):
    """The domain has no response with this name."""

    code = "unknown_response"

    def __init__(self, name: str) -> None:
        super().__init__(f"response {name!r} is not in the domain", name=name)
        self.name = name


class MissingVariant(StudioError):
    """The response has no variant for this language (zh: the language-slot condition; en: the default)."""

    code = "missing_variant"

    def __init__(self, name: str, language: str) -> None:
        super().__init__(f"response {name!r} has no {language} variant", name=name, language=language)
        self.name = name
        self.language = language


class UnknownLanguage(StudioError):
    """A language the assistant does not speak (only ``zh`` and ``en``)."""

    code = "unknown_language"

    def __init__(self, language: str) -> None:
        super().__init__(f"language {language!r} is not zh or en", language=language)
        self.language = language
