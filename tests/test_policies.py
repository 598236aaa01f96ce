"""The bundled policy files: valid, sourced, and saying what their sources say."""

from __future__ import annotations

import datetime as dt

import pytest

from sim.model.load import load_policy
from sim.model.policy import Minimum, Outcome, Stage, Window
from sim.model.units import Duration

NAMES = ["amazon", "taobao", "jd", "jd-pop"]


@pytest.fixture(scope="module", params=NAMES)
def policy(request, root):
    return load_policy(root / "sim" / "builtin" / "policies" / f"{request.param}.yaml")


def test_every_rule_section_names_known_sources(policy):
    for rules in policy.versions.values():  # in every version of the rules
        sections = rules.sections()
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
    used = {
        s
        for rules in policy.versions.values()
        for section in rules.sections().values()
        for s in section.source_ids
    }
    assert set(policy.sources) == used


def test_every_policy_maps_every_seller_cause(policy):
    for rules in policy.versions.values():
        causes = {r.cause.value for r in rules.seller_cancel.reasons.values()}
        assert causes == {"out_of_stock", "pricing_error", "undeliverable_address", "buyer_request"}


def test_amazon_numbers_match_its_sources(root):
    amazon = load_policy(root / "sim" / "builtin" / "policies" / "amazon.yaml")
    today = dt.date(2026, 11, 26)
    now = amazon.at(today)
    assert now.self_cancel.window == Duration(0.5)
    assert now.pending.hold == Duration(0.5)
    assert amazon.sources["order-process"].confidence == "S"
    assert amazon.at(dt.date(2020, 9, 29)).auto_cancel.after == Duration(30 * 24.0)
    assert amazon.at(dt.date(2020, 9, 30)).auto_cancel.after == Duration(7, True)
    metric = now.seller_metric
    assert metric.threshold == 0.025 and metric.window == Window(days=7)
    assert set(metric.counts) == {Outcome.SELLER_CANCELLED, Outcome.AUTO_CANCELLED}
    # a cancel asked only in a message counts from 2022-05-23 (help PNRJVBQMJRS942V)
    assert not amazon.at(dt.date(2022, 5, 22)).seller_metric.counts_message_requests
    assert amazon.at(dt.date(2022, 5, 23)).seller_metric.counts_message_requests
    # evaluated daily with no minimum: assumptions, marked R
    assert metric.cadence == "daily" and metric.minimum == Minimum()
    assert amazon.sources["assumption-metric-evaluation"].confidence == "R"
    # FBA: the buyer cancels until the shipping process starts; FBA orders are in no metric
    assert now.platform_fulfilment.serves == "some"
    assert now.platform_fulfilment.self_cancel_until is Stage.PACKING
    assert now.cancel_request.platform_approves_after is None
    assert not now.seller_cancel.reasons["BuyerCanceled"].counted
    assert now.refunds.charge_at == "shipment"


def test_taobao_numbers_match_its_sources(root):
    taobao = load_policy(root / "sim" / "builtin" / "policies" / "taobao.yaml")
    today = dt.date(2026, 11, 26)
    now = taobao.at(today)
    assert now.cancel_request.platform_approves_after == Duration(24.0)
    assert now.cancel_request.seller_decides
    assert now.instant_refund is not None
    comp_2016 = taobao.at(dt.date(2016, 6, 1)).late_shipment.compensation
    assert (comp_2016.share, comp_2016.minimum, comp_2016.maximum) == (0.05, 5, 30)
    comp_now = now.late_shipment.compensation
    assert (comp_now.share, comp_now.minimum, comp_now.maximum) == (0.10, 5, 100)
    assert now.seller_metric.window == Window(days=30)
    assert now.seller_metric.threshold is None  # no public threshold


def test_jd_numbers_match_its_sources(root):
    jd = load_policy(root / "sim" / "builtin" / "policies" / "jd.yaml")
    today = dt.date(2026, 11, 26)
    now = jd.at(today)
    request = now.cancel_request
    assert not request.seller_decides
    assert request.platform_approves_after == Duration(0.5)
    assert now.seller_metric is None  # the platform is the seller
    assert now.platform_fulfilment.serves == "all"
