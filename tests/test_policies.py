"""The bundled policy files: valid, sourced, and saying what their sources say."""

from __future__ import annotations

import datetime as dt

import pytest

from sim.model.dated import in_force
from sim.model.load import load_policy
from sim.model.policy import Minimum, Outcome, Window
from sim.model.units import Duration

NAMES = ["amazon", "taobao", "jd", "jd-pop"]


@pytest.fixture(scope="module", params=NAMES)
def policy(request, root):
    return load_policy(root / "policies" / f"{request.param}.yaml")


def test_every_rule_section_names_known_sources(policy):
    sections = policy.sections()
    assert sections
    for section in sections.values():
        assert section.source_ids and all(s in policy.sources for s in section.source_ids)


def test_every_source_is_dated_and_marked(policy):
    for source in policy.sources.values():
        assert source.seen in (dt.date(2026, 11, 26), dt.date(2026, 11, 27))  # the readings
        assert source.confidence in "SWR"
        if source.confidence == "R":
            assert source.title.startswith("Assumption"), source.title


def test_every_source_is_used(policy):
    used = {s for section in policy.sections().values() for s in section.source_ids}
    assert set(policy.sources) == used


def test_every_policy_maps_every_seller_cause(policy):
    causes = {r.cause.value for r in policy.seller_cancel.reasons.values()}
    assert causes == {"out_of_stock", "pricing_error", "undeliverable_address", "buyer_request"}


def test_amazon_numbers_match_its_sources(root):
    amazon = load_policy(root / "policies" / "amazon.yaml")
    today = dt.date(2026, 11, 26)
    assert in_force(amazon.self_cancel.window, today) == Duration(0.5)
    assert in_force(amazon.pending.hold, today) == Duration(0.5)
    assert amazon.sources["order-process"].confidence == "S"
    assert in_force(amazon.auto_cancel.after, dt.date(2020, 9, 29)) == Duration(30 * 24.0)
    assert in_force(amazon.auto_cancel.after, dt.date(2020, 9, 30)) == Duration(7, True)
    metric = amazon.seller_metric
    assert metric.threshold == 0.025 and metric.window == Window(days=7)
    assert set(metric.counts) == {Outcome.SELLER_CANCELLED, Outcome.AUTO_CANCELLED}
    # a cancel asked only in a message counts from 2022-05-23 (help PNRJVBQMJRS942V)
    assert not in_force(metric.counts_message_requests, dt.date(2022, 5, 22))
    assert in_force(metric.counts_message_requests, dt.date(2022, 5, 23))
    # evaluated daily with no minimum: assumptions, marked R
    assert metric.cadence == "daily" and metric.minimum == Minimum()
    assert amazon.sources["assumption-metric-evaluation"].confidence == "R"
    # FBA: the buyer cancels until the shipping process starts; FBA orders are in no metric
    assert amazon.platform_fulfilment.serves == "some"
    assert amazon.platform_fulfilment.self_cancel_until == "packing"
    assert in_force(amazon.cancel_request.platform_approves_after, today) is None
    assert not amazon.seller_cancel.reasons["BuyerCanceled"].counted
    assert amazon.refunds.charge_at == "shipment"


def test_taobao_numbers_match_its_sources(root):
    taobao = load_policy(root / "policies" / "taobao.yaml")
    today = dt.date(2026, 11, 26)
    assert in_force(taobao.cancel_request.platform_approves_after, today) == Duration(24.0)
    assert taobao.cancel_request.seller_decides
    assert taobao.instant_refund is not None
    comp_2016 = in_force(taobao.late_shipment.compensation, dt.date(2016, 6, 1))
    assert (comp_2016.share, comp_2016.minimum, comp_2016.maximum) == (0.05, 5, 30)
    comp_now = in_force(taobao.late_shipment.compensation, today)
    assert (comp_now.share, comp_now.minimum, comp_now.maximum) == (0.10, 5, 100)
    assert taobao.seller_metric.window == Window(days=30)
    assert taobao.seller_metric.threshold is None  # no public threshold


def test_jd_numbers_match_its_sources(root):
    jd = load_policy(root / "policies" / "jd.yaml")
    today = dt.date(2026, 11, 26)
    request = jd.cancel_request
    assert not request.seller_decides
    assert in_force(request.platform_approves_after, today) == Duration(0.5)
    assert jd.seller_metric is None  # the platform is the seller
    assert jd.platform_fulfilment.serves == "all"
