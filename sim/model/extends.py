"""`extends: baseline.yaml`: a scenario written as the changes to another.

The base file is read (and its own `extends:` followed, up to a depth), then the
extending file's values are laid over it: mappings merge key by key (the base's keys keep
their order, new keys come after), anything else (a number, a list such as `policies:` or
`promotions:`, a distribution, a declared range) replaces the base's value whole. Paths
in the base (`policies[].file`, `orders.replay`) stay relative to the base's folder.
Every value keeps the file and line it was written at, so a problem in an inherited
value points into the base file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sim.errors import InputError
from sim.model.builtin import is_builtin, resolve
from sim.model.kinds import wrong_kind
from sim.model.yamlfile import Document, Path_, read_document

MAX_DEPTH = 8


def extended(doc: Document, path: Path, chain: tuple[Path, ...] = ()) -> Document:
    """The document with its `extends:` base (and the base's bases) merged under it."""
    data = doc.data
    if not isinstance(data, dict) or "extends" not in data:
        return doc
    name = data["extends"]
    if not isinstance(name, str) or not name.strip():
        raise InputError(
            [doc.problem(("extends",), "expected the path of a scenario file to extend")]
        )
    if "\0" in name:
        raise InputError([doc.problem(("extends",), "a file name may not hold a NUL character")])
    try:
        base_path = resolve(name, path.parent, "scenario")
    except InputError as exc:
        raise InputError([doc.problem(("extends",), exc.problems[0].message)]) from None
    here = (*chain, Path(os.path.abspath(path)))
    if Path(os.path.abspath(base_path)) in here:
        cycle = " -> ".join(p.name for p in (*here, base_path))
        raise InputError([doc.problem(("extends",), f"extends itself: {cycle}")])
    if len(here) > MAX_DEPTH:
        raise InputError(
            [doc.problem(("extends",), f"more than {MAX_DEPTH} scenarios extend one another")]
        )
    try:
        base = read_document(base_path)
    except InputError as exc:
        if any(p.message == "file not found" for p in exc.problems):
            raise InputError(
                [doc.problem(("extends",), f"scenario file {str(base_path)!r} not found")]
            ) from None
        raise
    wrong = wrong_kind(base.file, base.data, "scenario")
    if wrong is not None:  # a policy or an expectation file named as the base
        raise InputError([doc.problem(("extends",), f"{base_path}: {wrong.message}")])
    base = extended(base, base_path, here)
    _rebase(base, base_path.parent, path.parent)
    out = Document(doc.file, None)
    out.data = _merge(base, doc, base.data, data, (), out)
    return out


def _rebase(base: Document, base_folder: Path, folder: Path) -> None:
    """Paths in the base, written relative to its folder, made relative to `folder`."""
    data = base.data

    def moved(file: str) -> str:
        if os.path.isabs(file) or is_builtin(file):
            return file
        return os.path.relpath(os.path.normpath(base_folder / file), folder)

    runs = data.get("policies")
    for run in runs if isinstance(runs, list) else []:
        if isinstance(run, dict) and isinstance(run.get("file"), str) and run["file"]:
            run["file"] = moved(run["file"])
    orders = data.get("orders")
    if isinstance(orders, dict) and isinstance(orders.get("replay"), str) and orders["replay"]:
        orders["replay"] = moved(orders["replay"])


WHOLE = ("dist", "range")
"""A mapping with one of these keys is one value (a distribution, a declared range): the
extending file's replaces the base's whole, whatever its keys."""
WHOLE_KEYS = {("sweep",)}
"""Settings that are one value though written as a mapping: replaced whole (`sweep: {}`
plays no sweep)."""


def _merge(base: Document, top: Document, old: Any, new: Any, path: Path_, out: Document) -> Any:
    one_value = path in WHOLE_KEYS or (isinstance(new, dict) and any(k in new for k in WHOLE))
    if not (isinstance(old, dict) and isinstance(new, dict)) or one_value:
        return _copy(top, new, path, out)
    _place(top, path, out)
    merged = {}
    for key, value in old.items():
        where = (*path, key)
        if key in new:
            merged[key] = _merge(base, top, value, new[key], where, out)
        else:
            merged[key] = _copy(base, value, where, out)
    for key, value in new.items():
        if key not in old:
            merged[key] = _copy(top, value, (*path, key), out)
    return merged


def _copy(src: Document, node: Any, path: Path_, out: Document) -> Any:
    """`node` as read from `src`, with the positions of it and everything under it."""
    _place(src, path, out)
    if isinstance(node, dict):
        for key, value in node.items():
            _copy(src, value, (*path, key), out)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _copy(src, value, (*path, i), out)
    return node


def _place(src: Document, path: Path_, out: Document) -> None:
    if path in src.value_at:
        out.value_at[path] = src.value_at[path]
    if path in src.key_at:
        out.key_at[path] = src.key_at[path]
    origin = src.file_of(path)
    if origin != out.file:
        out.origin[path] = origin
    else:
        out.origin.pop(path, None)
