import math

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from sim.model.distributions import AmountDist, TimeDist

TIME = TypeAdapter(TimeDist)
AMOUNT = TypeAdapter(AmountDist)
U = (np.arange(200_000) + 0.5) / 200_000  # an even grid of uniforms: exact sample moments


@pytest.mark.parametrize(
    "spec",
    [
        {"dist": "fixed", "value": "2h"},
        {"dist": "exponential", "mean": "2h"},
        {"dist": "lognormal", "median": "20m", "sigma": 0.5},
        {"dist": "lognormal", "median": "1.5h", "p90": "4h"},
        {"dist": "uniform", "low": "1h", "high": "3h"},
        {"dist": "gamma", "mean": "4h", "shape": 2.5},
        {"dist": "empirical", "values": ["1h", "2h", "6h"]},
    ],
)
def test_quantile_transform_has_the_stated_mean(spec):
    dist = TIME.validate_python(spec)
    assert np.mean(dist.quantile(U)) == pytest.approx(dist.mean(), rel=5e-3)


def test_lognormal_by_p90_puts_the_p90_there():
    dist = TIME.validate_python({"dist": "lognormal", "median": "1.5h", "p90": "24h"})
    assert float(dist.quantile(np.array(0.9))) == pytest.approx(24.0)
    assert float(dist.quantile(np.array(0.5))) == pytest.approx(1.5)


def test_a_bare_value_is_fixed():
    assert TIME.validate_python("4h").mean() == 4.0
    assert AMOUNT.validate_python(30).mean() == 30.0


def test_business_day_distributions_know_their_unit():
    dist = TIME.validate_python(
        {"dist": "uniform", "low": "1 business days", "high": "5 business days"}
    )
    assert dist.business_days and dist.mean() == 3.0


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"dist": "lognormal", "median": "1h"}, "exactly one of sigma or p90"),
        ({"dist": "lognormal", "median": "1h", "sigma": 1, "p90": "3h"}, "exactly one"),
        ({"dist": "uniform", "low": "3h", "high": "1h"}, "high must be at least low"),
        ({"dist": "uniform", "low": "1h", "high": "3 business days"}, "mixes business days"),
        ({"dist": "lognorml", "median": "1h"}, "lognorml"),
        ({"dist": "exponential", "mean": 2}, "has no unit"),
    ],
)
def test_invalid_distributions(spec, fragment):
    with pytest.raises(ValidationError, match=fragment):
        TIME.validate_python(spec)


def test_amounts_must_not_be_negative():
    with pytest.raises(ValidationError):
        AMOUNT.validate_python({"dist": "uniform", "low": -1, "high": 3})
    assert math.isclose(AMOUNT.validate_python({"dist": "exponential", "mean": 3}).mean(), 3)
