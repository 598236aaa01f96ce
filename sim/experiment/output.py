"""The results folder: summary.json, runs.csv, meta.json, each written atomically."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, then rename: never a half-written file.
    The file gets the usual permissions (mkstemp would leave it readable by its owner only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
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


def write_results(out: Path, summary: dict, rows: list[dict[str, Any]], meta: dict) -> None:
    write_atomic(out / "summary.json", json_text(summary))
    write_atomic(out / "runs.csv", csv_text(rows))
    write_atomic(out / "meta.json", json_text(meta))


MARKER = ".cancelsim"


def open_results_folder(folder: Path) -> Path:
    """Create (or reopen) a results folder; refuse a folder that holds something else.

    A results folder carries a `.cancelsim` marker file, so that `--out` can never write
    into, or later clean, a folder of the user's own files.
    """
    from sim.errors import InputError

    if folder.exists() and not folder.is_dir():
        raise InputError.single(str(folder), "is a file; --out needs a folder")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / MARKER).is_file():
        raise InputError.single(
            str(folder),
            "exists and is not a cancelsim results folder; "
            "choose another --out, or an empty or new folder",
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MARKER).write_text("cancelsim results folder\n", encoding="utf-8")
    except OSError as exc:
        raise InputError.single(str(folder), f"cannot write here: {exc.strerror}") from None
    return folder
