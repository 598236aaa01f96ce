"""Plots and the self-contained HTML report."""

from __future__ import annotations

from pathlib import Path

from sim.errors import InputError


def rebuild(folder: str | Path) -> Path:
    """Rebuild plots/ and report.html of a results folder, without simulating again.
    The folder is read as untrusted input (`build.read_results`): anything in it that is
    not what cancelsim wrote, or does not belong to its summary, is one `InputError`."""
    from sim.report.build import build_report, read_results

    root = Path(folder)
    try:
        summary, runs, inputs, meta = read_results(root)
        return build_report(root, summary, runs, inputs, meta)
    except InputError:
        raise
    except OSError as exc:
        raise InputError.single(
            str(root), f"cannot write the report: {exc.strerror or exc}"
        ) from None
    except Exception as exc:  # noqa: BLE001 - a file the checks let through: one line
        raise InputError.single(
            str(root),
            f"the results folder is damaged or from another version ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:200]}); run the experiment again",
        ) from None
