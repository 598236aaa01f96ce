"""Safe YAML reading that remembers where every key and value stood.

Reading follows the YAML 1.2 core schema, not PyYAML's YAML 1.1 default, so that the
classic surprises cannot slip into a typed field: `no`/`on`/`yes` stay text, `1:30` stays
text (YAML 1.1 reads it as 90), `010` is ten. Duplicate keys, non-standard tags
(`!!python/...`), alias bombs, deep nesting, binary content and oversized files are
reported as problems with their line and column, never executed or expanded blindly.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sim.errors import InputError, Problem, join_path

MAX_BYTES = 1_000_000
MAX_DEPTH = 40
MAX_NODES = 200_000

_STD = "tag:yaml.org,2002:"
ALLOWED_TAGS = {
    _STD + t for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
}


class _Core12Resolver(yaml.resolver.BaseResolver):
    """Implicit typing of the YAML 1.2 core schema (plus ISO dates and timestamps)."""


_Core12Resolver.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in [
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
    (
        "timestamp",
        r"^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}"
        r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}"
        r"(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$",
        "0123456789",
    ),
]:
    _Core12Resolver.add_implicit_resolver(_STD + _tag, re.compile(_pattern), list(_first))


if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _Loader(CParser, SafeConstructor, _Core12Resolver):  # libyaml: fast parsing
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            SafeConstructor.__init__(self)
            _Core12Resolver.__init__(self)

    _EVENTS: Any = yaml.CSafeLoader
else:  # pragma: no cover - PyYAML built without libyaml

    class _Loader(  # type: ignore[no-redef]
        yaml.reader.Reader,
        yaml.scanner.Scanner,
        yaml.parser.Parser,
        yaml.composer.Composer,
        SafeConstructor,
        _Core12Resolver,
    ):
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.composer.Composer.__init__(self)
            SafeConstructor.__init__(self)
            _Core12Resolver.__init__(self)

    _EVENTS = yaml.SafeLoader


Path_ = tuple[Any, ...]


@dataclass
class Document:
    """Plain data read from a YAML file, with the position of every key and value."""

    file: str
    data: Any
    value_at: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_at: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    overrides: dict[Path_, str] = field(default_factory=dict)  # key path -> the --set text
    # the file a value was read from, where not `file` (a scenario's `extends:` base)
    origin: dict[Path_, str] = field(default_factory=dict)

    def file_of(self, path: Path_) -> str:
        """The file the value at `path` was written in."""
        return self.origin.get(tuple(path), self.file)

    def position(self, loc: Path_, *, key: bool = False) -> tuple[int, int, Path_]:
        """Line and column of the deepest part of `loc` that exists in the file.

        Parts of a validation location that are not keys of the data (union tags,
        wrapper names) are skipped.
        """
        found: Path_ = ()
        node = self.data
        for part in loc:
            if (isinstance(node, dict) and part in node) or (
                isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
            ):
                node, found = node[part], (*found, part)
        table = self.key_at if key and found in self.key_at else self.value_at
        line, col = table.get(found, self.value_at.get((), (1, 1)))
        return line, col, found

    def problem(self, loc: Path_, message: str, *, key: bool = False) -> Problem:
        for path, text in self.overrides.items():
            shared = min(len(path), len(loc))
            if shared and tuple(loc[:shared]) == path[:shared]:
                origin = text.split(" ", 1)[0]  # --set or --sweep
                return Problem(
                    origin, 0, 0, join_path(loc), f"{message} (from {text}, for {self.file})"
                )
        line, col, found = self.position(loc, key=key)
        return Problem(self.file_of(found), line, col, join_path(loc), message)


def read_document(path: str | Path, *, display: str | None = None) -> Document:
    """Read and parse one YAML file; every problem raises one `InputError`."""
    name = display or str(path)
    try:
        file = Path(path)
        if file.exists() and not file.is_dir() and not file.is_file():
            raise InputError.single(
                name, "is not a regular file (a device or a pipe?); expected a YAML file"
            )
        with file.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)  # enough to tell that it is too large
    except FileNotFoundError:
        raise InputError.single(name, "file not found") from None
    except IsADirectoryError:
        raise InputError.single(name, "is a folder; expected a YAML file") from None
    except OSError as exc:
        raise InputError.single(name, f"cannot be read: {exc.strerror}") from None
    except InputError:
        raise
    except ValueError:  # a NUL character in the name
        raise InputError.single(name, "cannot be read: the name holds a NUL character") from None
    return parse_document(raw, name)


def parse_document(raw: bytes | str, name: str) -> Document:
    """Parse YAML text (bytes are checked for size, binary content and UTF-8 first)."""
    text = _decode(raw, name) if isinstance(raw, bytes) else raw
    if not text.strip() or all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        raise InputError.single(name, "the file is empty; expected a YAML mapping", line=1, col=1)
    _check_depth(text, name)
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        raise _syntax_problem(exc, text, name) from None
    except yaml.YAMLError as exc:
        raise _other_problem(exc, text, name) from None
    if root is None:
        raise InputError.single(name, "no YAML document; expected a YAML mapping", line=1, col=1)
    doc = Document(name, None)
    builder = _Builder(doc, loader)
    with contextlib.suppress(_TooManyValues):  # reported once, by the builder
        doc.data = builder.build(root, ())
    if builder.problems:
        raise InputError(builder.problems)
    if not isinstance(doc.data, dict):
        line, col = doc.value_at[()]
        kind = _KINDS.get(type(doc.data), type(doc.data).__name__)
        raise InputError.single(
            name, f"the top level is {kind}; expected a mapping of keys", line=line, col=col
        )
    return doc


_KINDS = {
    list: "a list",
    str: "text",
    int: "a number",
    float: "a number",
    bool: "true/false",
    type(None): "empty",
}


def _decode(raw: bytes, name: str) -> str:
    if len(raw) > MAX_BYTES:
        raise InputError.single(name, f"the file is larger than the limit of {MAX_BYTES:,} bytes")
    if b"\x00" in raw:
        line, col = _byte_position(raw, raw.index(b"\x00"))
        raise InputError.single(
            name, "binary content (NUL byte); expected YAML text", line=line, col=col
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = _byte_position(raw, exc.start)
        raise InputError.single(
            name,
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
            line=line,
            col=col,
        ) from None


def _byte_position(raw: bytes, offset: int) -> tuple[int, int]:
    """Line and column (counted in bytes) of a byte offset."""
    return raw.count(b"\n", 0, offset) + 1, offset - (raw.rfind(b"\n", 0, offset) + 1) + 1


def _check_depth(text: str, name: str) -> None:
    """Refuse deep nesting before composing (PyYAML's composer recurses)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_EVENTS):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    assert mark is not None
                    raise InputError.single(
                        name,
                        f"nested more than {MAX_DEPTH} levels deep",
                        line=mark.line + 1,
                        col=mark.column + 1,
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        raise _syntax_problem(exc, text, name) from None
    except yaml.YAMLError as exc:
        raise _other_problem(exc, text, name) from None


def _other_problem(exc: yaml.YAMLError, text: str, name: str) -> InputError:
    """A YAML error without a mark: a character YAML forbids, or something rarer."""
    if isinstance(exc, yaml.reader.ReaderError):
        before = text[: exc.position]
        line = before.count("\n") + 1
        col = exc.position - (before.rfind("\n") + 1) + 1
        char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[0])
        return InputError.single(
            name,
            f"a control character (U+{char:04X}) that YAML does not allow; remove it",
            line=line,
            col=col,
        )
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InputError.single(name, f"not valid YAML: {first}", line=1, col=1)


def _syntax_problem(exc: yaml.MarkedYAMLError, text: str, name: str) -> InputError:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    what = exc.problem or "syntax error"
    lines = text.splitlines()
    at = lines[line - 1][col - 1 : col] if 0 < line <= len(lines) else ""
    if "'\\t'" in what or at == "\t":
        what = "a tab character; YAML indents with spaces only"
    elif exc.context and exc.context_mark:
        start = exc.context_mark
        what = f"{what} ({exc.context} that starts at {start.line + 1}:{start.column + 1})"
    elif exc.context:
        what = f"{what} ({exc.context})"
    return InputError.single(name, f"YAML syntax error: {what}", line=line, col=col)


def _short(value: str, limit: int = 60) -> str:
    """A value as shown in a message: quoted, one line, at most `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + "...'"


class _TooManyValues(Exception):
    """Raised once the node budget is spent, to stop building at once."""


class _Builder:
    """Turns composed nodes into plain data, recording positions and problems."""

    def __init__(self, doc: Document, constructor: SafeConstructor) -> None:
        self.doc = doc
        self.constructor = constructor
        self.problems: list[Problem] = []
        self.nodes = 0
        self.ancestors: set[int] = set()  # the collections being built, to catch cycles

    def build(self, node: Node, path: Path_) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self._too_many(path)
        if len(path) > MAX_DEPTH + 1:  # deeper than the text is: aliases nested in aliases
            self._problem(
                node,
                path[:MAX_DEPTH],
                f"nested more than {MAX_DEPTH} levels deep through aliases; expected plain data",
            )
            raise _TooManyValues
        self.doc.value_at[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if id(node) in self.ancestors:
            self._problem(
                node,
                path,
                "an alias (*name) refers to data that contains it; "
                "expected plain data without cycles",
            )
            return None
        if not isinstance(node, MappingNode | SequenceNode):
            return self._value(node, path)
        self.ancestors.add(id(node))
        try:
            return self._value(node, path)
        finally:
            self.ancestors.discard(id(node))

    def _too_many(self, path: Path_) -> None:
        """Report at the innermost key: positions inside aliased data point at its anchor."""
        keys = path
        while keys and isinstance(keys[-1], int):
            keys = keys[:-1]
        line, col = self.doc.value_at.get(keys, (1, 1))
        self.problems.append(
            Problem(
                self.doc.file,
                line,
                col,
                join_path(keys),
                f"expands to more than {MAX_NODES:,} values; expected plain data "
                "(are aliases (*name) repeating anchored data?)",
            )
        )
        raise _TooManyValues

    def _value(self, node: Node, path: Path_) -> Any:
        if node.tag not in ALLOWED_TAGS:
            tag = node.tag.replace(_STD, "!!", 1)
            self._problem(node, path, f"the tag {tag} is not allowed; only plain YAML data is read")
            return None
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        shown = _short(node.value)
        if node.tag in (_STD + "map", _STD + "seq"):
            self._problem(
                node,
                path,
                f"{shown} is plain text, but its tag says it is a "
                f"{'mapping' if node.tag.endswith('map') else 'list'}",
            )
            return None
        try:
            if node.tag == _STD + "int":  # YAML 1.2: no octal `010`, no sexagesimal
                text = node.value.replace("_", "")
                return int(text, 0) if text[:2] in ("0o", "0x") else int(text, 10)
            return self.constructor.construct_object(node, deep=True)
        except Exception as exc:  # noqa: BLE001 - any constructor failure is a bad value
            reason = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0:1]
            reason = reason if isinstance(reason, str) else (reason[0] if reason else "")
            if node.tag == _STD + "timestamp":
                self._problem(
                    node, path, f"{shown} is not a real date ({reason}); expected YYYY-MM-DD"
                )
            else:
                kind = node.tag.replace(_STD, "", 1)
                self._problem(node, path, f"{shown} cannot be read as {kind} ({reason})")
            return None

    def _mapping(self, node: MappingNode, path: Path_) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self._problem(key_node, path, "a key must be plain text, not a list or mapping")
                continue
            key = self._value(key_node, (*path, key_node.value))
            if key == "<<":
                self._problem(
                    key_node, path, "merge keys (<<) are not supported; write the keys out"
                )
                continue
            where = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            try:
                hash(key)
            except TypeError:
                self._problem(key_node, path, "a key must be plain text")
                continue
            if key in out:
                self._problem(
                    key_node, (*path, key), f"duplicate key; first given on line {first_line[key]}"
                )
                continue
            first_line[key] = where[0]
            self.doc.key_at[(*path, key)] = where
            out[key] = self.build(value_node, (*path, key))
        return out

    def _problem(self, node: Node, path: Path_, message: str) -> None:
        mark = node.start_mark
        self.problems.append(
            Problem(self.doc.file, mark.line + 1, mark.column + 1, join_path(path), message)
        )
