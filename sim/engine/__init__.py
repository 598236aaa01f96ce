"""The SimPy simulation of one run: order stream, lifecycle, rules, recorder."""

from sim.engine.result import RunResult
from sim.engine.simulate import RunSpec, simulate

__all__ = ["RunResult", "RunSpec", "simulate"]
