"""Pre-drawn order facts: which seller, which fate, which answer, from given uniforms."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine.orders import ACCEPT, IGNORE, REFUSE, OrderFacts, Population
from sim.engine.streams import BLOCK, STREAMS, RandomStreams
from sim.model.load import Override, load_study
from sim.model.policy import Cause

TYPES = (
    "sellers.types={"
    "a: {share: 0.5, popularity: 1, packing_stations: 1, pack_time: 1h, pickup_times: ['17:00'],"
    " cancels: {out_of_stock: 0.1, pricing_error: 0.2}, never_ships: 0.3,"
    " answers: {accept: 0.5, refuse: 0.25, ignore: 0.25}, response_time: 1h},"
    "b: {share: 0.3, popularity: 2, packing_stations: 1, pack_time: 2h, pickup_times: ['17:00'],"
    " cancels: {}, answers: {accept: 1, refuse: 0, ignore: 0}, response_time: 3h},"
    "c: {share: 0.1, popularity: 4, packing_stations: 1, pack_time: 3h, pickup_times: ['17:00'],"
    " cancels: {undeliverable_address: 1}, answers: {accept: 0, refuse: 1, ignore: 0},"
    " response_time: 5h},"
    "d: {share: 0.1, popularity: 8, packing_stations: 1, pack_time: 4h, pickup_times: ['17:00'],"
    " answers: {accept: 0, refuse: 0, ignore: 1}, response_time: 7h}}"
)


@pytest.fixture(scope="module")
def scenario(root):
    amazon = "policies=[{file: ../policies/amazon.yaml, payment_mix: {credit_card: 1}}]"
    study = load_study(  # without JD, which needs a platform-fulfilled type
        root / "sim/builtin/scenarios/quick.yaml", [Override.parse(amazon), Override.parse(TYPES)]
    )
    return study.scenario.model_copy(
        update={"sellers": study.scenario.sellers.model_copy(update={"count": 10})}
    )


def test_seller_types_take_their_share_of_sellers_in_order(scenario):
    people = Population(scenario)
    assert people.type_of.tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 2, 3]
    assert people.names == ["a", "b", "c", "d"] and people.count == 10


def test_orders_pick_sellers_in_proportion_to_popularity(scenario):
    people = Population(scenario)
    weights = np.array([1] * 5 + [2] * 3 + [4] + [8], dtype=float)
    assert people.cumulative.tolist() == pytest.approx((np.cumsum(weights) / 23).tolist())
    assert people.cumulative[-1] == 1.0
    # a uniform just below a seller's cumulative bound picks that seller, at it the next
    edges = people.cumulative[:-1]
    u = np.concatenate([edges - 1e-9, edges, [0.0, 1.0 - 1e-12]])
    facts = OrderFacts(scenario, people, _uniforms(seller=u), len(u))
    assert facts.seller == [*range(9), *range(1, 10), 0, 9]
    assert facts.kind == [people.type_of[s] for s in facts.seller]


def test_each_order_s_fate_follows_its_type_s_shares(scenario):
    """Type a: out of stock below 0.1, pricing error below 0.3, never ships below 0.6."""
    people = Population(scenario)
    u = np.array([0.0, 0.0999, 0.1, 0.2999, 0.30001, 0.5999, 0.60001, 0.99])
    facts = OrderFacts(scenario, people, _uniforms(seller=np.zeros(len(u)), cancel=u), len(u))
    assert facts.cause == [
        Cause.OUT_OF_STOCK,
        Cause.OUT_OF_STOCK,
        Cause.PRICING_ERROR,
        Cause.PRICING_ERROR,
        None,
        None,
        None,
        None,
    ]
    assert facts.never_ships == [False, False, False, False, True, True, False, False]
    # type c cancels everything for an undeliverable address; type d never cancels
    c = np.full(3, people.cumulative[7] + 1e-9)
    d = np.full(3, 0.999)
    for seller_u, cause in ((c, Cause.UNDELIVERABLE_ADDRESS), (d, None)):
        facts = OrderFacts(
            scenario, people, _uniforms(seller=seller_u, cancel=np.array([0, 0.5, 0.99])), 3
        )
        assert facts.cause == [cause] * 3 and facts.never_ships == [False] * 3


def test_answers_and_times_follow_the_seller_s_type(scenario):
    people = Population(scenario)
    answer = np.array([0.0, 0.4999, 0.5, 0.7499, 0.75, 0.9999])
    n = len(answer)
    facts = OrderFacts(scenario, people, _uniforms(seller=np.zeros(n), answer=answer), n)
    assert facts.answer == [ACCEPT, ACCEPT, REFUSE, REFUSE, IGNORE, IGNORE]
    assert facts.pack == [1.0] * n and facts.response == [1.0] * n
    seller_u = np.array([people.cumulative[i] - 1e-9 for i in (0, 5, 8, 9)])
    facts = OrderFacts(scenario, people, _uniforms(seller=seller_u, answer=np.full(4, 0.6)), 4)
    assert facts.answer == [REFUSE, ACCEPT, REFUSE, IGNORE]
    assert facts.pack == [1.0, 2.0, 3.0, 4.0]
    assert facts.response == [1.0, 3.0, 5.0, 7.0]


def test_buyer_facts_are_thresholds_on_their_uniforms(scenario):
    """quick.yaml: 6% intend to cancel, 80% have a good record, 40% pursue."""
    u = np.array([0.0, 0.0599, 0.06, 0.3999, 0.4, 0.7999, 0.8, 0.99])
    n = len(u)
    facts = OrderFacts(
        scenario,
        Population(scenario),
        _uniforms(intent=u, good_record=u, pursue=u, by_message=u),
        n,
    )
    assert facts.intent == [True, True, False, False, False, False, False, False]
    assert facts.pursue == [True, True, True, True, False, False, False, False]
    assert facts.good_record == [True, True, True, True, True, True, False, False]
    # quick.yaml: 15% ask by message; a uniform of exactly 0.15 does not
    ask = OrderFacts(scenario, Population(scenario), _uniforms(by_message=[0.1499, 0.15]), 2)
    assert ask.by_message == [True, False]


def test_order_values_are_whole_cents_and_never_zero(scenario):
    u = np.array([1e-300, 0.5, 0.9])
    facts = OrderFacts(scenario, Population(scenario), _uniforms(value=u), 3)
    assert facts.cents[0] == 1  # a value that rounds to nothing is one cent
    assert facts.cents[1] == 3000  # the median, 30 USD
    assert facts.cents[2] == round(30 * np.exp(0.8 * 1.2815515655446004) * 100)


def test_streams_are_fixed_per_seed_and_replication():
    a, b = RandomStreams(5, 0).block(), RandomStreams(5, 0).block()
    other = RandomStreams(5, 1).block()
    names = [name for columns in STREAMS.values() for name in columns]
    assert sorted(a) == sorted(names)
    for name in names:
        assert a[name].shape == (BLOCK,)
        assert np.array_equal(a[name], b[name])
        assert not np.array_equal(a[name], other[name])
    assert (a["gap"] > 0).all() and a["gap"].mean() == pytest.approx(1.0, rel=0.05)
    for name in names:
        if name != "gap":
            assert ((a[name] >= 0) & (a[name] < 1)).all()
            assert a[name].mean() == pytest.approx(0.5, abs=0.03)
    # the second block continues each stream, it does not repeat it
    streams = RandomStreams(5, 0)
    first, second = streams.block(), streams.block()
    assert not np.array_equal(first["seller"], second["seller"])


def test_each_stream_is_independent_of_the_others():
    """Drawing more columns in one stream would not shift another stream's numbers."""
    one = RandomStreams(9, 0)
    block = one.block()
    gens = one._generators
    assert len(gens) == len(STREAMS)
    assert not np.array_equal(block["seller"], block["intent"])
    assert not np.array_equal(block["pack"], block["processing"])


def _uniforms(**given: np.ndarray) -> dict[str, np.ndarray]:
    n = max(len(v) for v in given.values())
    columns = {name: np.full(n, 0.5) for cols in STREAMS.values() for name in cols}
    columns.update({k: np.asarray(v, dtype=float) for k, v in given.items()})
    return columns


def test_scenario_times_and_uniforms_pass_to_each_order(scenario):
    from sim.engine.streams import STREAMS

    n = 4
    given = {
        name: np.linspace(0.1, 0.9, n) + 0.01 * i
        for i, name in enumerate(c for cols in STREAMS.values() for c in cols)
    }
    given["seller"] = np.zeros(n)
    facts = OrderFacts(scenario, Population(scenario), given, n)
    buyers, delivery = scenario.buyers, scenario.delivery
    assert facts.intent_delay == pytest.approx(
        buyers.intent_delay.quantile(given["intent_delay"]).tolist()
    )
    assert facts.transit == pytest.approx(delivery.transit.quantile(given["transit"]).tolist())
    assert facts.return_transit == pytest.approx(
        delivery.return_transit.quantile(given["return_transit"]).tolist()
    )
    for mine, theirs in (
        ("u_processing", "processing"),
        ("u_rail", "rail"),
        ("u_release", "release"),
        ("u_intercept", "intercept"),
        ("u_after", "after_refund"),
    ):
        assert getattr(facts, mine) == given[theirs].tolist(), mine
    assert facts.payment.tolist() == given["payment"].tolist()


def test_a_block_of_orders_gets_the_rules_in_force_when_each_was_placed(root):
    """Amazon from 2020-09-25 (a Friday): the auto-cancel rule changes on 2020-09-30,
    120 h in. Ship-by is 2 business days; the deadline 30 days after it before the
    change, 7 business days after it from the change on."""
    import datetime as dt

    from sim.engine.orders import Batch
    from sim.engine.rules import compile_policy
    from sim.model.calendar import BusinessCalendar
    from sim.model.units import Duration

    study = load_study(
        root / "sim/builtin/scenarios/quick.yaml",
        [Override.parse("start=2020-09-25T00:00:00-07:00")],
    )
    cal = BusinessCalendar("US", dt.date(2020, 9, 25), 200)
    mix = {"credit_card": 0.6, "debit_card": 0.3, "gift_card": 0.1}
    compiled = compile_policy("amazon", study.policies["amazon"], cal, tuple(mix), 1.0, 24 * 30)
    times = np.array([0.25, 119.75, 120.0, 130.0])
    payment = np.array([0.0, 0.6, 0.95, 0.59999])
    people = Population(study.scenario, RandomStreams(1, 0).seller_sizes(40))
    facts = OrderFacts(study.scenario, people, _uniforms(payment=payment), 4)
    batch = Batch(facts, times, compiled, 119.75, np.cumsum(list(mix.values())))
    assert batch.size == 4 and batch.times == times.tolist()
    assert batch.rules == [compiled.versions[v] for v in (0, 0, 1, 1)]
    assert batch.ready == pytest.approx((times + 0.5).tolist())
    ship_by = [cal.after(t, Duration(2, True)) for t in times]
    assert batch.ship_by == pytest.approx(ship_by)
    assert batch.deadline == pytest.approx(
        [ship_by[0] + 720, ship_by[1] + 720]
        + [cal.after(s, Duration(7, True)) for s in ship_by[2:]]
    )
    assert batch.day == [0, 4, 5, 5]
    assert batch.measured == [False, True, True, True]
    assert batch.method == [0, 1, 2, 0]


def test_a_payment_uniform_above_a_mix_summing_just_below_one_takes_the_last_method(root):
    """Ten methods of 0.1 add up to 0.9999999999999999 in floating point: a uniform
    between that and 1 still picks the tenth method, not one past the end."""
    import datetime as dt

    from sim.engine.orders import Batch
    from sim.engine.rules import compile_policy
    from sim.model.calendar import BusinessCalendar

    study = load_study(root / "sim/builtin/scenarios/quick.yaml")
    cal = BusinessCalendar("US", dt.date(2026, 3, 2), 200)
    mix = {"credit_card": 0.6, "debit_card": 0.3, "gift_card": 0.1}
    compiled = compile_policy("amazon", study.policies["amazon"], cal, tuple(mix), 1.0, 24 * 30)
    ten = np.cumsum([0.1] * 10)
    assert ten[-1] < 1.0
    payment = np.array([0.0, 0.1, ten[-1], np.nextafter(1.0, 0.0)])
    people = Population(study.scenario, RandomStreams(1, 0).seller_sizes(40))
    facts = OrderFacts(study.scenario, people, _uniforms(payment=payment), 4)
    batch = Batch(facts, np.array([1.0, 2.0, 3.0, 4.0]), compiled, 0.0, ten)
    assert batch.method == [0, 1, 9, 9]


def test_a_store_that_fulfils_every_order_needs_a_seller_to_stand_for_it(scenario):
    with pytest.raises(
        ValueError, match="^the platform serves every order, but no seller stands for it$"
    ):
        Population(scenario, serves="all")
