"""Seller sizes: a type's `popularity` as a distribution, one draw per seller.

The draws are common random numbers (one more child of the replication's seed sequence,
spawned after the order streams, so that none of their numbers moves); a fixed
popularity ignores them, so scenarios of equal sellers play exactly as before.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from sim.engine.orders import OrderFacts, Population
from sim.engine.streams import BLOCK, STREAMS, RandomStreams
from sim.errors import InputError
from sim.model.load import Override, load_study


def _one_type(popularity: str, count: int) -> tuple[str, ...]:
    return (
        f"sellers.count={count}",
        "sellers.types={solo: {share: 1, popularity: " + popularity + ", packing_stations: 1,"
        " pack_time: 1h, pickup_times: ['17:00'], answers: {accept: 1, refuse: 0, ignore: 0},"
        " response_time: 1h}}",
    )


AMAZON_ONLY = (
    "policies=[{file: ../policies/amazon.yaml, payment_mix: {credit_card: 0.6, debit_card: 0.3,"
    " gift_card: 0.1}}]"
)  # JD needs a platform-fulfilled kind; these worlds of one or two kinds have none


def _scenario(root, *settings: str):
    overrides = [Override.parse(s) for s in (AMAZON_ONLY, *settings)]
    return load_study(root / "sim/builtin/scenarios/quick.yaml", overrides).scenario


def _picks(scenario, people: Population, u: np.ndarray) -> np.ndarray:
    columns = {name: np.zeros(len(u)) for cols in STREAMS.values() for name in cols}
    columns["seller"] = u
    return np.asarray(OrderFacts(scenario, people, columns, len(u)).seller)


# --- the draws: common random numbers --------------------------------------------------


def test_seller_sizes_are_the_documented_extra_child_of_the_seed_sequence():
    sizes = RandomStreams(7, 1).seller_sizes(500)
    child = np.random.SeedSequence(7, spawn_key=(1,)).spawn(len(STREAMS) + 1)[-1]
    assert child.spawn_key == (1, len(STREAMS))
    expected = np.random.Generator(np.random.PCG64(child)).random(500)
    np.testing.assert_array_equal(sizes, expected)
    assert ((sizes >= 0) & (sizes < 1)).all()


def test_seller_sizes_leave_every_order_stream_where_it_was():
    """Drawing the sellers (any number of times) moves no order stream: the blocks are
    those of the five documented children, as before seller sizes existed."""
    plain, drawn = RandomStreams(3, 2), RandomStreams(3, 2)
    drawn.seller_sizes(10_000)
    children = np.random.SeedSequence(3, spawn_key=(2,)).spawn(len(STREAMS))
    for _ in range(2):
        a = plain.block()
        drawn.seller_sizes(7)
        b = drawn.block()
        assert set(a) == set(b)
        for column in a:
            np.testing.assert_array_equal(a[column], b[column], err_msg=column)
    for child, (name, columns) in zip(children, STREAMS.items(), strict=True):
        draws = np.random.Generator(np.random.PCG64(child)).random((2, len(columns), BLOCK))
        for i, column in enumerate(columns):
            expected = -np.log1p(-draws[1, i]) if column == "gap" else draws[1, i]
            np.testing.assert_array_equal(b[column], expected, err_msg=f"{name}.{column}")


def test_seller_sizes_reproduce_by_seed_and_differ_by_replication_and_seed():
    a = RandomStreams(5, 0)
    first = a.seller_sizes(300)
    np.testing.assert_array_equal(first, a.seller_sizes(300))  # the same on every call
    np.testing.assert_array_equal(first, RandomStreams(5, 0).seller_sizes(300))
    np.testing.assert_array_equal(first[:40], a.seller_sizes(40))  # seller i keeps its draw
    assert not np.array_equal(first, RandomStreams(5, 1).seller_sizes(300))
    assert not np.array_equal(first, RandomStreams(6, 0).seller_sizes(300))


def _market(study, key: str, replication: int):
    from sim.engine.market import Market
    from sim.engine.rules import compile_policy
    from sim.model.calendar import BusinessCalendar

    scenario, policy = study.scenario, study.policies[key]
    calendar = BusinessCalendar(policy.calendar, scenario.start.date(), 800)
    run = next(p for p in scenario.policies if p.file.endswith(f"{key}.yaml"))
    fx = 1.0 if policy.currency == scenario.currency else scenario.exchange_rates[policy.currency]
    compiled = compile_policy(key, policy, calendar, tuple(run.payment_mix), fx, 24 * 40)
    return Market(scenario, compiled, RandomStreams(11, replication), run.payment_mix)


def test_every_policy_of_a_replication_sees_the_same_sellers(root):
    study = load_study(root / "sim/builtin/scenarios/quick.yaml")
    assert study.scenario.sellers.types["home"].popularity.dist == "lognormal"
    markets = {key: _market(study, key, 0) for key in study.policies}
    assert len(markets) == 3
    weights = [m.people.weights for m in markets.values()]
    for other in weights[1:]:
        np.testing.assert_array_equal(weights[0], other)
    assert len(np.unique(weights[0])) == study.scenario.sellers.count  # all sizes differ
    again = _market(study, "amazon", 0).people.weights
    np.testing.assert_array_equal(weights[0], again)
    assert not np.array_equal(weights[0], _market(study, "amazon", 1).people.weights)


# --- weights and picks -----------------------------------------------------------------


def test_each_seller_s_weight_is_its_type_s_quantile_at_its_own_uniform(root):
    """Known answer: an empirical popularity of 1, 2, 4, 8 picks value floor(4u)."""
    scenario = _scenario(root, *_one_type("{dist: empirical, values: [8, 1, 4, 2]}", 4))
    people = Population(scenario, np.array([0.9, 0.1, 0.6, 0.3]))
    assert people.weights.tolist() == [8.0, 1.0, 4.0, 2.0]
    assert people.cumulative.tolist() == pytest.approx([8 / 15, 9 / 15, 13 / 15, 1.0])
    u = np.array([0.0, 8 / 15 - 1e-9, 8 / 15 + 1e-9, 0.6 - 1e-9, 0.6 + 1e-9, 0.999])
    assert _picks(scenario, people, u).tolist() == [0, 0, 1, 1, 2, 3]


def test_a_seller_s_order_share_is_its_weight_s_share(root):
    """Over 400,000 orders every seller's share of them is its weight over the sum,
    within 4.5 binomial standard deviations."""
    scenario = _scenario(root, *_one_type("{dist: lognormal, median: 1, sigma: 1.5}", 50))
    people = Population(scenario, RandomStreams(2, 0).seller_sizes(50))
    n = 400_000
    picks = _picks(scenario, people, np.random.default_rng(4).random(n))
    share = people.weights / people.weights.sum()
    counts = np.bincount(picks, minlength=50)
    sd = np.sqrt(n * share * (1 - share))
    assert (np.abs(counts - n * share) < 4.5 * sd + 1).all()
    assert share.max() / share.min() > 50  # the sizes really differ


def test_types_keep_their_own_distribution_and_sellers(root):
    types = (
        "sellers.types={small: {share: 0.5, popularity: {dist: uniform, low: 1, high: 2},"
        " packing_stations: 1, pack_time: 1h, pickup_times: ['17:00'],"
        " answers: {accept: 1, refuse: 0, ignore: 0}, response_time: 1h},"
        " big: {share: 0.5, popularity: 10, packing_stations: 1, pack_time: 1h,"
        " pickup_times: ['17:00'], answers: {accept: 1, refuse: 0, ignore: 0},"
        " response_time: 1h}}"
    )
    scenario = _scenario(root, "sellers.count=4", types)
    people = Population(scenario, np.array([0.25, 0.5, 0.1, 0.9]))
    assert people.type_of.tolist() == [0, 0, 1, 1]
    assert people.weights.tolist() == [1.25, 1.5, 10.0, 10.0]


def test_the_heavy_tail_shows_in_the_orders(root):
    """Sigma 1.5 over 2,000 sellers: the top 10% of sellers get far more than 10% of the
    orders, about 1 - Phi(z90 - 1.5) = 59% (equal sellers: 10%)."""
    scenario = _scenario(root, *_one_type("{dist: lognormal, median: 2, sigma: 1.5}", 2000))
    people = Population(scenario, RandomStreams(20260302, 0).seller_sizes(2000))
    picks = _picks(scenario, people, np.random.default_rng(1).random(200_000))
    counts = np.sort(np.bincount(picks, minlength=2000))[::-1]
    top = counts[:200].sum() / counts.sum()
    expected = 1 - norm.cdf(norm.ppf(0.9) - 1.5)
    assert expected == pytest.approx(0.586, abs=0.001)
    assert top == pytest.approx(expected, abs=0.06)
    assert counts[1000] < counts.mean()  # the median seller gets less than the mean


def test_a_fixed_popularity_ignores_the_uniforms_and_weighs_as_before(root):
    """The weights of equal sellers: the type's number for each seller, whatever the
    uniforms, bit for bit the cumulative computed before seller sizes existed."""
    equal = _scenario(
        root,
        "sellers.types.home.popularity=0.5",
        "sellers.types.professional.popularity=1.5",
        "sellers.types.dropshipper.popularity=1.0",
        "sellers.types.warehouse.popularity=6.0",
        "sellers.types.platform_fulfilled.popularity=6.0",
    )
    people = Population(equal)
    old_weights = np.array(
        [[0.5, 1.5, 1.0, 6.0, 6.0][k] for k in people.type_of], dtype=float
    )  # the former formula
    old = np.cumsum(old_weights) / old_weights.sum()
    old[-1] = 1.0
    assert people.cumulative.tobytes() == old.tobytes()
    for seed in (1, 2):
        other = Population(equal, RandomStreams(seed, 0).seller_sizes(equal.sellers.count))
        assert other.cumulative.tobytes() == old.tobytes()


def test_a_fixed_popularity_run_does_not_depend_on_the_seller_draws(root, monkeypatch):
    """A whole run of equal sellers is the same whatever the sellers' stream gives."""
    from sim.engine import RunSpec, simulate

    study = load_study(
        root / "sim/builtin/scenarios/quick.yaml",
        [
            Override.parse(s)
            for s in (
                "horizon=3d",
                "warmup=1d",
                "sellers.types.home.popularity=0.5",
                "sellers.types.professional.popularity=1.5",
                "sellers.types.dropshipper.popularity=1.0",
                "sellers.types.warehouse.popularity=6.0",
                "sellers.types.platform_fulfilled.popularity=6.0",
            )
        ],
    )

    def run():
        r = simulate(RunSpec("taobao", study.policies["taobao"], study.scenario, 0, 9))
        return r.metrics, r.money_back_hist.tobytes(), r.daily_orders.tobytes()

    before = run()
    monkeypatch.setattr(RandomStreams, "seller_sizes", lambda self, count: np.full(count, 0.01))
    assert run() == before


def test_population_needs_the_uniforms_for_a_drawn_popularity(root):
    scenario = _scenario(root)
    with pytest.raises(
        ValueError, match=r"^a drawn popularity needs the sellers' uniforms \(sizes\)$"
    ):
        Population(scenario)


def test_an_underflowing_draw_is_floored_above_zero(root):
    """A gamma of tiny shape underflows to 0 for small uniforms: the seller keeps the
    smallest positive weight (practically no orders) and the cumulative stays valid."""
    scenario = _scenario(root, *_one_type("{dist: gamma, mean: 1, shape: 0.01}", 3))
    people = Population(scenario, np.array([0.0, 1e-6, 0.9]))
    assert (people.weights > 0).all()
    assert people.weights[0] == np.finfo(float).tiny
    assert np.all(np.diff(people.cumulative) >= 0) and people.cumulative[-1] == 1.0
    # only a uniform below tiny / sum (in practice exactly 0: odds 2^-53) picks seller 0
    assert _picks(scenario, people, np.array([1e-300, 0.5, 0.999])).tolist() == [2, 2, 2]


# --- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("popularity", "message"),
    [
        (
            "{dist: lognormal, median: 2, sigma: 0}",
            "a heavy tail needs sigma above 0; give a plain number for equal sellers",
        ),
        (
            "{dist: lognormal, median: 2, p90: 2}",
            "a heavy tail needs p90 above the median; give a plain number for equal sellers",
        ),
        ("0", "0 is out of range; expected a value > 0"),
        ("{dist: fixed, value: 0}", "0 is out of range; expected a value > 0"),
        (
            "{dist: uniform, low: 0, high: 2}",
            "low is 0: some sellers would weigh 0 and get no orders; expected low > 0",
        ),
        (
            "{dist: empirical, values: [3, 0, 1]}",
            "a value of 0 would give a seller no orders; expected every value > 0",
        ),
        (
            "{dist: exponential, mean: 0}",
            "a mean of 0 gives every seller a weight of 0; expected a mean > 0",
        ),
        (
            "{dist: gamma, mean: 0, shape: 2}",
            "a mean of 0 gives every seller a weight of 0; expected a mean > 0",
        ),
        (
            "{dist: lognormal, median: 1, sigma: 1000}",
            "a sigma of 1e+03 gives one seller nearly every order; expected at most 3",
        ),
    ],
)
def test_a_popularity_that_can_weigh_a_seller_zero_is_refused(root, popularity, message):
    with pytest.raises(InputError) as caught:
        _scenario(root, f"sellers.types.home.popularity={popularity}")
    (problem,) = caught.value.problems
    assert problem.path == "sellers.types.home.popularity"
    assert problem.message.startswith(message)


@pytest.mark.parametrize(
    "popularity",
    [
        "2.5",
        "{dist: lognormal, median: 0.3, sigma: 1}",
        "{dist: lognormal, median: 1, p90: 5}",
        "{dist: gamma, mean: 1, shape: 0.5}",
        "{dist: exponential, mean: 2}",
        "{dist: uniform, low: 0.5, high: 2}",
        "{dist: empirical, values: [1, 2, 30]}",
    ],
)
def test_a_positive_popularity_is_accepted(root, popularity):
    scenario = _scenario(root, f"sellers.types.home.popularity={popularity}")
    assert scenario.sellers.types["home"].popularity.mean() > 0


# --- the bundled scenarios -------------------------------------------------------------


FIVE_KINDS = {
    "home": 11.8,
    "professional": 19.7,
    "dropshipper": 5.3,
    "warehouse": 31.6,
    "platform_fulfilled": 31.6,
}
FOUR_KINDS = {"home": 17.9, "professional": 32.1, "dropshipper": 7.1, "warehouse": 42.9}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("baseline", FIVE_KINDS),
        ("quick", FIVE_KINDS),
        ("singles-day", FIVE_KINDS),
        ("window-sweep", FIVE_KINDS),
        ("amazon-autocancel-2020", FOUR_KINDS),
    ],
)
def test_bundled_scenarios_keep_the_kinds_expected_order_shares(root, name, expected):
    """Sigma 1.2 per kind: each kind's expected share of orders is share x median over
    the sum, as the scenarios' comments work out."""
    scenario = load_study(root / "sim" / "builtin" / "scenarios" / f"{name}.yaml").scenario
    types = scenario.sellers.types
    weight = {k: t.share * t.popularity.mean() for k, t in types.items()}
    total = sum(weight.values())
    shares = {k: round(100 * w / total, 1) for k, w in weight.items()}
    assert shares == expected
    assert {t.popularity.log_sigma for t in types.values()} == {1.2}
    medians = sum(t.share * t.popularity.median for t in types.values())
    assert total == pytest.approx(medians * np.exp(1.2**2 / 2))
