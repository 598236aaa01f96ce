"""Reading a normalised order log back (for replay and calibration)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim.errors import InputError
from sim.orderlog.schema import NAMES, REQUIRED, arrow_schema


def read_log(path: str | Path, columns: list[str] | None = None) -> Any:
    """The log at `path` (.parquet or .csv, as `cancelsim import` writes it) as a pandas
    DataFrame with the log's types; a file that is not such a log is an `InputError`."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    file = Path(path)
    wanted = list(columns) if columns is not None else list(NAMES)
    if not file.is_file():
        raise InputError.single(
            str(path), "file not found" if not file.exists() else "is not a file"
        )
    schema = arrow_schema()
    try:
        if file.suffix == ".parquet":
            present = pq.read_schema(file).names
            _require(path, present)
            table = pq.read_table(file, columns=wanted)
        elif file.suffix == ".csv":
            with open(file, "rb") as handle:
                header = handle.readline().decode("utf-8", "replace").strip()
            present = [h.strip('"') for h in header.split(",")]
            _require(path, present)
            missing = [n for n in wanted if n not in present]
            if missing:
                raise InputError.single(
                    str(path),
                    f"has no {', '.join(missing)} column; expected an order log as cancelsim "
                    "import writes it",
                )
            table = pacsv.read_csv(
                file,
                convert_options=pacsv.ConvertOptions(
                    column_types={f.name: f.type for f in schema},
                    include_columns=wanted,
                    strings_can_be_null=True,
                    timestamp_parsers=["%Y-%m-%dT%H:%M:%S%z", pacsv.ISO8601],
                ),
            )
        else:
            raise InputError.single(
                str(path), "expected an order log ending in .parquet or .csv (cancelsim import)"
            )
        table = table.cast(pa.schema([schema.field(n) for n in wanted]))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowKeyError, OSError) as error:
        first = str(error).splitlines()[0]
        raise InputError.single(
            str(path), f"is not an order log as cancelsim import writes it: {first}"
        ) from None
    return table.to_pandas()


def _require(path: str | Path, present: list[str]) -> None:
    missing = [n for n in REQUIRED if n not in present]
    if missing:
        raise InputError.single(
            str(path),
            f"has no {', '.join(missing)} column; expected an order log (cancelsim import)",
        )
