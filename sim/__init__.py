"""cancelsim: compare marketplace order-cancellation and refund rules by simulation."""

from sim.api import Results, load, run
from sim.engine import RunResult, RunSpec, simulate
from sim.errors import InputError
from sim.model.load import load_policy, load_study

__version__ = "0.1.0"
__all__ = [
    "InputError",
    "Results",
    "RunResult",
    "RunSpec",
    "load",
    "load_policy",
    "load_study",
    "run",
    "simulate",
]
