"""Fit a scenario's market to an order log (`cancelsim calibrate`).

    from sim.calibrate import run_calibration
    fit = run_calibration("orders.parquet", "scenarios/mine.yaml", "scenarios/baseline.yaml",
                          figure_dir="results/calibration")
    fit.estimate_rows()   # each fitted number with its 95% interval and n
    fit.report_rows()     # observed against fitted, per profile

The arrival rate, daily and weekly profiles, promotion days, seller count and sizes,
packing and pickups, order values and cancel shares are fitted, each with its interval;
what a log cannot tell stays as in the base scenario and is marked as assumed.
"""

from sim.calibrate.calibration import Calibration, ProfileRow, calibrate, run_calibration
from sim.calibrate.estimate import Estimate

__all__ = ["Calibration", "Estimate", "ProfileRow", "calibrate", "run_calibration"]
