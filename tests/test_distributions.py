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


def test_quantiles_are_the_inverse_cdfs():
    from scipy import stats

    u = np.array([0.1, 0.5, 0.9])
    assert TIME.validate_python("2h").quantile(u).tolist() == [2.0, 2.0, 2.0]
    exp = TIME.validate_python({"dist": "exponential", "mean": "2h"})
    assert exp.quantile(u) == pytest.approx(stats.expon(scale=2).ppf(u))
    logn = TIME.validate_python({"dist": "lognormal", "median": "2h", "sigma": 0.5})
    assert logn.quantile(u) == pytest.approx(stats.lognorm(0.5, scale=2).ppf(u))
    assert logn.mean() == pytest.approx(stats.lognorm(0.5, scale=2).mean())
    uni = TIME.validate_python({"dist": "uniform", "low": "1h", "high": "5h"})
    assert uni.quantile(u) == pytest.approx([1.4, 3.0, 4.6])
    gam = TIME.validate_python({"dist": "gamma", "mean": "4h", "shape": 2.5})
    assert gam.quantile(u) == pytest.approx(stats.gamma(2.5, scale=1.6).ppf(u))
    emp = TIME.validate_python({"dist": "empirical", "values": ["3h", "1h", "2h"]})
    grid = np.array([0.0, 0.33, 0.34, 0.66, 0.67, 0.999, 1.0])
    assert emp.quantile(grid).tolist() == [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 3.0]
    assert emp.mean() == 2.0


def test_lognormal_sigma_from_p90():
    dist = TIME.validate_python({"dist": "lognormal", "median": "1h", "p90": "1h"})
    assert dist.log_sigma == 0.0 and dist.quantile(np.array([0.01, 0.99])).tolist() == [1.0, 1.0]
    dist = TIME.validate_python({"dist": "lognormal", "median": "1h", "sigma": 0.7})
    assert dist.log_sigma == 0.7


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"dist": "lognormal", "median": "0h", "sigma": 1}, "the median must be above 0"),
        ({"dist": "lognormal", "median": "2h", "p90": "1h"}, "p90 must be at least the median"),
        ({"dist": "gamma", "mean": "2h", "shape": 0}, "greater than 0"),
        ({"dist": "empirical", "values": []}, "at least 1 item"),
        ({"dist": "empirical", "values": ["1h", "2 business days"]}, "mixes business days"),
    ],
)
def test_more_invalid_distributions(spec, fragment):
    with pytest.raises(ValidationError, match=fragment):
        TIME.validate_python(spec)


def test_the_unit_kind_of_each_family():
    for spec in (
        {"dist": "fixed", "value": "2 business days"},
        {"dist": "exponential", "mean": "2 business days"},
        {"dist": "empirical", "values": ["1 business days", "2 business days"]},
    ):
        assert TIME.validate_python(spec).business_days, spec
    for spec in (
        "2h",
        {"dist": "empirical", "values": ["1h"]},
        {"dist": "uniform", "low": 0, "high": "1h"},
    ):
        assert not TIME.validate_python(spec).business_days, spec
    assert not AMOUNT.validate_python({"dist": "uniform", "low": 1, "high": 3}).business_days
