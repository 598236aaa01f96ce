"""The results folder: summary.json, runs.csv, meta.json, each written atomically.

A results folder is also read back (stored runs to resume, the summary to redraw the
report), and is then untrusted input: its files are read only as regular files (never
through a symbolic link, never a device or a pipe), of bounded size and nesting, as
standard JSON with finite numbers. Every file in it belongs to the summary it holds: a
folder opened to write new results loses the previous summary and the files made from
it, and writing the new summary removes what cancelsim made there that it does not use.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import math
import os
import re
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write to a temporary file beside `path`, then rename: never a half-written file.
    The file gets the usual permissions (mkstemp would leave it readable by its owner only).
    A symbolic link at `path` is replaced, not written through; on any error (a full
    disk) the temporary file is removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        if isinstance(text, bytes):
            with os.fdopen(fd, "wb") as raw:
                raw.write(text)
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def json_text(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def csv_text(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: ("" if isinstance(v, float) and v != v else v) for k, v in row.items()}
            )
    return buffer.getvalue()


def write_results(
    out: Path,
    summary: dict,
    rows: list[dict[str, Any]],
    meta: dict,
    runs: list[dict[str, Any]] | None = None,
    inputs: dict | None = None,
    *,
    used: Used,
) -> None:
    """The summary, the run table and how they were made; in a results folder, first
    remove what cancelsim made there that this summary does not use (`tidy`: all but
    `used`). With
    `runs` (key, policy, replication and point of each run) and `inputs` (what the report
    needs to know), also report_inputs.json and, last, manifest.json: the runs, and the
    SHA-256 of summary.json, report_inputs.json and meta.json as written here, so that
    `cancelsim report` draws only the files the run wrote."""
    tidy(out, used)
    texts = {"summary.json": json_text(summary), "meta.json": json_text(meta)}
    if inputs is not None:
        texts["report_inputs.json"] = json_text(inputs)
    for name, text in texts.items():
        write_atomic(out / name, text)
    write_atomic(out / "runs.csv", csv_text(rows))
    if runs is not None:
        files = {name: sha256_text(texts[name]) for name in WRITTEN if name in texts}
        write_atomic(out / "manifest.json", json_text({"runs": runs, "files": files}))


WRITTEN = ("summary.json", "report_inputs.json", "meta.json")  # in manifest.json's "files"


def sha256_text(text: str | bytes) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text).hexdigest()


MARKER = ".cancelsim"
MARKER_TEXT = "cancelsim results folder\n"
# What a results folder's summary makes: gone when the folder is opened for new results.
SUMMARY_FILES = (
    "summary.json",
    "runs.csv",
    "meta.json",
    "manifest.json",
    "report_inputs.json",
    "report.html",
    "sensitivity.json",
    "effects.csv",
    "points.csv",
)
# The folders cancelsim writes into inside a results folder: never through a link.
OWN_FOLDERS = ("runs", "plots", "trace", "levers")
TEMPORARY = re.compile(r"\..+\.(tmp|partial)")  # write_atomic's and the trace's
PLOT = re.compile(r"[\w.-]+\.(png|svg)")
TRACE = re.compile(r"[\w.-]+\.(csv|parquet)")


def open_results_folder(folder: Path) -> Path:
    """Create (or reopen) a results folder to write new results; refuse a folder that
    holds something else.

    A results folder carries a `.cancelsim` marker file, so that `--out` can never write
    into, or later clean, a folder of the user's own files. Its runs/, plots/, trace/ and
    levers/ must be folders of its own: a symbolic link there is refused, since cancelsim
    would write through it. Reopened, it loses the previous summary and what was made from
    it (report.html, plots/...: they would no longer match) and leftover temporary files;
    its stored runs and traces stay, to be reused.
    """
    from sim.errors import InputError

    check_results_folder(folder)
    marker = folder / MARKER
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if _head(marker, len(MARKER_TEXT) + 1) != MARKER_TEXT.encode():
            write_atomic(marker, MARKER_TEXT)
        _start_over(folder)
    except OSError as exc:
        raise InputError.single(str(folder), f"cannot write here: {exc.strerror}") from None
    return folder


def check_results_folder(folder: Path) -> None:
    """Refuse (InputError), writing nothing, a folder that `open_results_folder` would
    refuse: a file, a folder of other files, a link in place of a folder of its own."""
    from sim.errors import InputError

    if folder.exists() and not folder.is_dir():
        raise InputError.single(str(folder), "is a file; --out needs a folder")
    try:
        if folder.is_dir() and any(folder.iterdir()) and not _is_file(folder / MARKER):
            raise InputError.single(
                str(folder),
                "exists and is not a cancelsim results folder; "
                "choose another --out, or an empty or new folder",
            )
        refuse_links(folder)
    except OSError as exc:
        raise InputError.single(str(folder), f"cannot write here: {exc.strerror}") from None


def check_lever_folders(folder: Path) -> None:
    """Before a seller's view plays its levers into the results folder `folder`: refuse
    (InputError) what would stop a lever's results folder (levers/KEY) only after the
    runs before it were played: a file of that name, a folder of other files, a link."""
    from sim.errors import InputError
    from sim.experiment.levers import LEVERS

    check_results_folder(folder)
    for lever in LEVERS:
        path = folder / "levers" / lever.key
        if os.path.lexists(path) and not path.is_symlink() and not path.is_dir():
            raise InputError.single(
                str(path), "is not a folder; remove it, or choose another --out"
            )
        check_results_folder(path)


def refuse_links(folder: Path) -> None:
    """Refuse (InputError) a results folder whose runs/, plots/, trace/ or levers/ (or a
    folder in levers/) is a symbolic link or not a folder: cancelsim would write through
    the link, or fail later. A file in levers/ (a .DS_Store, a note) is the user's: it
    stays, unless a seller's view is to play a lever there (`check_lever_folders`)."""
    from sim.errors import InputError

    inside = [folder / name for name in OWN_FOLDERS]
    levers = folder / "levers"
    try:
        if levers.is_dir() and not levers.is_symlink():  # (a file there is the user's)
            inside += sorted(p for p in levers.iterdir() if p.is_symlink() or p.is_dir())
    except OSError as exc:
        raise InputError.single(str(levers), f"cannot be read: {exc.strerror}") from None
    for path in inside:
        if path.is_symlink():
            raise InputError.single(
                str(path),
                "is a symbolic link; cancelsim writes a results folder's runs/, plots/, "
                "trace/ and levers/ only as folders of its own, never through a link: "
                "remove the link, or choose another --out",
            )
        if os.path.lexists(path) and not path.is_dir():
            raise InputError.single(
                str(path), "is not a folder; remove it, or choose another --out"
            )


def _start_over(folder: Path) -> None:
    """Remove the previous summary and what was made from it, and leftover temporaries."""
    for name in SUMMARY_FILES:
        remove_file(folder / name)
    _clear(folder / "plots", PLOT)
    for part in (folder, folder / "runs", folder / "trace"):
        _clear(part, TEMPORARY, remove_folder=False)


@dataclass
class Used:
    """The files of a results folder that one set of results uses: writing those results
    keeps these and removes the rest (`tidy`). Each set of results carries its own, so
    that results written after another experiment played into the same folder keep their
    files and only theirs.

    Stored runs and stored failures go by key (a key names one run wherever it is
    stored). A trace file goes by its resolved path, with its name, size and SHA-256 when
    its run wrote or reused it: a trace another experiment wrote over since is not this
    one's. A lever played (a seller's own view) has its own, under its key."""

    runs: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    traces: dict[str, dict[str, Any]] = field(default_factory=dict)
    levers: dict[str, Used] = field(default_factory=dict)

    def add(self, other: Used) -> None:
        """Also use what `other` uses (results played in parts: uncertainty, analyses)."""
        self.runs |= other.runs
        self.failed |= other.failed
        self.traces.update(other.traces)
        for key, lever in other.levers.items():
            self.levers.setdefault(key, Used()).add(lever)

    def use_trace(self, path: Path, record: dict[str, Any]) -> None:
        """The trace file at `path`, whose record (`store._trace_record`) is `record`."""
        self.traces[str(path.resolve())] = record

    def traces_in(self, folder: Path) -> set[str]:
        """The names of the trace files in `folder` that these results use and that are
        still as they were when used."""
        from sim.experiment.store import _trace_record

        where = folder.resolve()
        return {
            Path(p).name
            for p, record in self.traces.items()
            if Path(p).parent == where and _trace_record(Path(p)) == record
        }


def tidy(folder: Path, used: Used) -> None:
    """In a results folder (one with the marker), remove every file that cancelsim makes
    and that the results now written do not use (all but `used`): stored runs and
    failures of other runs, trace files of other runs, lever folders not played, stale
    temporary files. A file cancelsim does not make (the user's own) stays. The stored
    runs removed are said in one line (they cost time to make)."""
    from sim.experiment.store import say

    removed = _tidy(folder, used)
    if removed:
        say(
            f"{folder}: removed {removed} stored run{'s' if removed > 1 else ''} that "
            "these results do not use (of another seed, replication, sweep point, input "
            "or lever)"
        )


def _tidy(folder: Path, used: Used) -> int:
    """`tidy`; returns how many stored runs it removed."""
    if not _is_file(folder / MARKER):
        return 0
    removed = _prune_runs(folder / "runs", used.runs, used.failed - used.runs)
    _clear(folder / "trace", TRACE, keep=used.traces_in(folder / "trace"))
    _clear(folder / "trace", TEMPORARY)
    levers = folder / "levers"
    if levers.is_dir() and not levers.is_symlink():
        for child in sorted(levers.iterdir()):
            if child.is_symlink() or not _is_file(child / MARKER):
                continue
            # a lever these results do not play uses nothing there
            removed += _tidy(child, used.levers.get(child.name, Used()))
            if [p.name for p in child.iterdir()] == [MARKER]:  # nothing of it left: it goes
                remove_file(child / MARKER)
                _rmdir(child)
        _rmdir(levers)
    _clear(folder, TEMPORARY, remove_folder=False)
    return removed


RUN_FILE = re.compile(r"([0-9a-f]{32})(\.failed)?\.json")


def _prune_runs(folder: Path, runs: set[str], failed: set[str]) -> int:
    """Remove the stored runs and failures not in `runs` and `failed`, and temporary
    files; return how many stored runs went."""
    if not folder.is_dir() or folder.is_symlink():
        return 0
    removed = 0
    for path in folder.iterdir():
        match = RUN_FILE.fullmatch(path.name)
        if match and match.group(1) not in (failed if match.group(2) else runs):
            remove_file(path)
            removed += not match.group(2)
        elif TEMPORARY.fullmatch(path.name):
            remove_file(path)
    _rmdir(folder)
    return removed


def _clear(
    folder: Path,
    pattern: re.Pattern[str],
    keep: frozenset[str] | set[str] = frozenset(),
    remove_folder: bool = True,
) -> None:
    """Remove the files of `folder` whose names match `pattern`, except `keep`; then the
    folder itself if that left it empty (and `remove_folder`)."""
    if not folder.is_dir() or folder.is_symlink():
        return
    for path in folder.iterdir():
        if pattern.fullmatch(path.name) and path.name not in keep:
            remove_file(path)
    if remove_folder:
        _rmdir(folder)


def remove_file(path: Path) -> None:
    """Remove a file or a link (never what it points to); leave a folder."""
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            path.unlink()


def _rmdir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not empty (the user's own files), or gone
        folder.rmdir()


def _is_file(path: Path) -> bool:
    """A regular file itself, not a link to one."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _head(path: Path, size: int) -> bytes | None:
    """The first `size` bytes of a regular file, or None (missing, a link, a folder)."""
    if not _is_file(path):
        return None
    with open(path, "rb") as handle:
        return handle.read(size)


# ----------------------------------------------------------------- reading back
MAX_JSON_BYTES = 256 * 2**20
MAX_DEPTH = 40
MAX_DIGITS = 18  # integers below 10**18: any count of a run
MAX_NUMBER_TEXT = 40  # "1.7976931348623157e+308" has 23 characters


class DamagedFile(ValueError):
    """A file of a results folder that is not what cancelsim wrote; says why, on one line."""


def read_json(path: Path, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """A JSON file of a results folder, read as untrusted input: a regular file (not
    through a symbolic link, not a device or a pipe) of at most `max_bytes`, UTF-8,
    standard JSON (no NaN or Infinity, no key twice, finite numbers, integers of at most
    18 digits), nested at most MAX_DEPTH levels. Raises `DamagedFile`, or
    `FileNotFoundError` when there is no file."""
    return parse_json(read_bytes(path, max_bytes))


def read_bytes(path: Path, max_bytes: int = MAX_JSON_BYTES) -> bytes:
    """The bytes of a results folder's file, as `read_json` reads them."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DamagedFile("is a symbolic link; a results folder's files are its own") from None
        raise DamagedFile(f"cannot be read: {exc.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):  # (before fdopen, which refuses a folder itself)
        os.close(fd)
        raise DamagedFile("is not a regular file")
    with os.fdopen(fd, "rb") as handle:
        if info.st_size > max_bytes:
            raise DamagedFile(f"holds {info.st_size:,} bytes, more than the {max_bytes:,} allowed")
        try:
            raw = handle.read(max_bytes + 1)
        except OSError as exc:
            raise DamagedFile(f"cannot be read: {exc.strerror}") from None
    if len(raw) > max_bytes:
        raise DamagedFile(f"holds more than the {max_bytes:,} bytes allowed")
    return raw


def parse_json(raw: bytes) -> Any:
    """`read_json`'s reading of the bytes of a file."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DamagedFile(f"not UTF-8 text (byte {raw[exc.start]:#04x} at {exc.start:,})") from None
    try:
        data = json.loads(
            text,
            parse_constant=_constant,
            parse_float=_float,
            parse_int=_int,
            object_pairs_hook=_object,
        )
    except DamagedFile:
        raise
    except json.JSONDecodeError as exc:
        raise DamagedFile(
            f"not JSON: {exc.msg} (line {exc.lineno:,}, column {exc.colno:,})"
        ) from None
    except RecursionError:
        raise DamagedFile(f"nested more than {MAX_DEPTH} levels deep") from None
    _check_depth(data)
    return data


def _constant(name: str) -> Any:
    raise DamagedFile(f"{name} is not a number that JSON allows")


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_TEXT:
        raise DamagedFile(f"a number written with {len(text):,} characters")
    value = float(text)
    if not math.isfinite(value):
        raise DamagedFile(f"the number {text} is too large")
    return value


def _int(text: str) -> int:
    if len(text) > MAX_DIGITS:  # (the sign, if any, counted too: checked again below)
        digits = len(text.lstrip("-"))
        if digits > MAX_DIGITS:
            raise DamagedFile(f"an integer of {digits:,} digits")
    return int(text)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DamagedFile(f"the key {repr(key)[:40]} is given twice")
            seen.add(key)
    return data


def _check_depth(data: Any) -> None:
    stack = [(data, 1)] if isinstance(data, (dict, list)) else []
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise DamagedFile(f"nested more than {MAX_DEPTH} levels deep")
        items = value.values() if isinstance(value, dict) else value
        stack.extend((v, depth + 1) for v in items if isinstance(v, (dict, list)))
