"""The calibrated scenario's `sellers` section: count, sizes, and a seller type per kind.

Each type says where its numbers come from, as the rest of the scenario does
(`scenario_text`): its share and popularity from the sellers' order counts, its packing
and pickups from its shipments, its cancels from its orders; how it answers buyers and
when it cancels assumed from the base's most similar type.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sim.calibrate.cancels import SELLER_CAUSES
from sim.calibrate.estimate import Estimate, count, number
from sim.calibrate.kinds import (
    MIN_SHIPMENTS,
    SLICE_POINTS,
    KindFit,
    base_type,
    never_ships,
    size_fits,
)
from sim.calibrate.shipping import APPROXIMATE_BELOW, MIN_CLUSTERS
from sim.calibrate.sizes import SizeFit
from sim.calibrate.yamltext import comment, duration, fitted, flow, model_flow
from sim.calibrate.yamltext import number as yaml_number
from sim.model.scenario import MAX_SIZE_SIGMA

if TYPE_CHECKING:
    from sim.calibrate.calibration import Calibration

EQUAL_SIZES_SIGMA = 0.05  # below this, sellers are written as equal (a plain weight)
MAX_SELLERS = 1_000_000  # the scenario's limit on sellers.count


@dataclass(frozen=True)
class SellerCount:
    """The sellers.count written, why, and its estimate when one was fitted."""

    count: int
    note: str
    estimate: Estimate | None = None  # seen + the estimated sellers without an order


def seller_count(fit: Calibration) -> SellerCount:
    """The sellers seen, plus the sellers without an order that the size fit implies
    where it is identified (a seller is only seen through an order, so the sellers seen
    are fewer than the market's); else the sellers seen, or the base's with none."""
    seen = fit.sellers_seen
    if not seen:
        return SellerCount(
            fit.base.scenario.sellers.count,
            "sellers.count: assumed: the base's (the log names no seller)",
        )
    fits = [f for f in size_fits(fit.kinds).values() if f.identified]
    if seen == 1:
        return SellerCount(1, "sellers.count: fitted: the log's one seller")
    if not fits:
        return SellerCount(
            seen,
            f"sellers.count: the {seen:,} sellers seen in the log (the order counts do not "
            "tell the sizes' spread, so the sellers without an order in it cannot be "
            "estimated; there may be more)",
        )
    unseen = sum(f.unseen for f in fits)
    low = sum(f.unseen_range[0] for f in fits)
    high = sum(f.unseen_range[1] for f in fits)
    total = min(seen + round(unseen), MAX_SELLERS) if math.isfinite(unseen) else MAX_SELLERS
    capped = f", capped at the scenario's limit of {MAX_SELLERS:,}" if total == MAX_SELLERS else ""
    estimate = Estimate(
        seen + unseen,
        seen + low,
        seen + high,
        seen,
        "sellers seen + n P(0) / (1 - P(0)) of the size lognormal, interval at sigma's "
        "profile-likelihood bounds",
        "sellers",
    )
    return SellerCount(
        total,
        f"sellers.count: fitted: {seen:,} sellers seen in the log, plus {_sellers(unseen)} "
        f"(95% CI {_sellers(low)}-{_sellers(high)}) that the fitted size lognormal expects "
        f"to have had no order in it, rounded{capped}; to replay this log, set count: {seen}",
        estimate,
    )


def _sellers(x: float) -> str:
    return f"{x:.1f}" if x < 100 else number(x)


def sellers_yaml(fit: Calibration) -> list[str]:
    """The section's lines."""
    base = fit.base.scenario.sellers
    fits = size_fits(fit.kinds)
    written = seller_count(fit)
    note = written.note.removeprefix("sellers.count: ")
    if not note.startswith(("fitted", "assumed")):
        note = "fitted: " + note
    lines = ["sellers:", *comment(note, 2), f"  count: {written.count}"]
    for fulfilment, sizes in fits.items():
        lines += comment(_size_note(fit, fulfilment, sizes), 2)
    lines += comment(
        "assumed: the base's size bands (orders a week); the ship times below use them", 2
    )
    lines.append(f"  size_bands: {flow(dict(base.size_bands))}")
    lines += _band_comments(fit)
    lines.append("  types:")
    shares = _type_shares(fit)
    for kind, type_share in zip(fit.kinds, shares, strict=True):
        lines += _seller_type(fit, kind, type_share)
    return lines


def _size_note(fit: Calibration, fulfilment: str, sizes: SizeFit) -> str:
    """The size lognormal of one fulfilment's sellers, as a comment."""
    median = sizes.median.scaled(1 / fit.span.weeks)
    return (
        f"fitted: sizes of the {sizes.sellers:,} {fulfilment}-fulfilled sellers, a lognormal "
        "of each seller's expected orders fitted to their order counts (Poisson given the "
        "size; sellers with no order are unseen, so the fit is zero-truncated): median "
        f"seller {median.describe(3, 'orders a week')}; sigma of log sizes "
        f"{sizes.sigma.describe(3)}"
    )


def _band_comments(fit: Calibration) -> list[str]:
    if not fit.bands:
        return []
    head = (
        "fitted: hours from placement to shipment per size band, observed p10 / p50 / p90 "
        "by Kaplan-Meier (unshipped orders censored) [95% interval: a bootstrap over the "
        f"band's sellers where it has {MIN_CLUSTERS} or more, widened for few effective "
        "sellers, else over its orders; approximate (marked ~) where it has fewer than "
        f"{APPROXIMATE_BELOW} sellers]; then the same under the fitted packing and pickups"
    )
    if fit.quality.cancel_no_time:
        head += (
            f". {fit.quality.cancel_no_time:,} cancels without a time are left out (see "
            "the gaps above)"
        )
    lines = comment(head + ":", 2)
    for band in fit.bands:
        rough = "~" if "approximate" in band.observed[0].method else ""
        observed = " / ".join(
            f"{number(e.value)} {rough}[{number(e.low)}-{number(e.high)}]" for e in band.observed
        )
        simulated = " / ".join(number(x) for x in band.fitted)
        lines += comment(
            f"  {band.band} ({count(band.sellers, 'seller')}, "
            f"{count(band.observed[0].n, 'order')}): "
            f"{observed}; fitted {simulated}",
            2,
        )
    return lines


def _type_shares(fit: Calibration) -> list[float]:
    """Shares of sellers (of orders, with no seller ids) per kind, rounded, summing to 1.
    The sellers without an order that `seller_count` adds are the smallest: they go to
    the kind of their fulfilment that holds the smallest sizes (the most sellers of
    those); a kind's slice of the size lognormal then has its share of sellers."""
    weights: list[float] = [k.sellers if fit.sellers_seen else k.orders for k in fit.kinds]
    if seller_count(fit).estimate is not None:
        for fulfilment, sizes in size_fits(fit.kinds).items():
            smallest = [
                i for i, k in enumerate(fit.kinds) if k.fulfilment == fulfilment and k.low == 0
            ]
            if sizes.identified and smallest and math.isfinite(sizes.unseen):
                weights[max(smallest, key=lambda i: fit.kinds[i].sellers)] += sizes.unseen
    total = sum(weights)
    shares = [round(w / total, 6) for w in weights[:-1]]
    return [*shares, round(1 - sum(shares), 6)]


def _seller_type(fit: Calibration, kind: KindFit, type_share: float) -> list[str]:
    name, base = base_type(fit.base, kind.fulfilment)
    basis = (
        f"{kind.sellers:,} of {count(fit.sellers_seen, 'seller')}"
        if fit.sellers_seen
        else (f"{kind.orders:,} of {fit.quality.orders:,} orders")
    )
    lines = [
        f"    {kind.key}:",
        *comment(
            f"{kind.fulfilment}-fulfilled sellers{_held(kind)} as the log shows them "
            f"({kind.orders:,} orders); what a log cannot tell is assumed from the base's "
            f"{name!r} sellers",
            6,
        ),
        f"      share: {yaml_number(type_share, 6)}   # fitted: {basis}",
        f"      fulfilment: {kind.fulfilment}",
        *_popularity(fit, kind),
        *comment(kind.stations_note if kind.pack is not None else "assumed: the base's", 6),
        f"      packing_stations: {kind.stations}",
        *_packing(fit, kind),
        *_seller_cancels(kind, base.cancels, never_ships(kind, fit.base)),
        f"      cancels_at: {base.cancels_at}   # assumed: the base's",
        f"      answers: {model_flow(base.answers)}   # assumed: the base's",
        f"      response_time: {model_flow(base.response_time)}   # assumed: the base's",
    ]
    return lines


def _held(kind: KindFit) -> str:
    """' of 10 to 100 orders a week' for a type of a size band; '' for a whole kind."""
    if not kind.split:
        return ""
    if kind.low == 0:
        return f" of under {kind.high:g} orders a week"
    if math.isinf(kind.high):
        return f" of {kind.low:g} or more orders a week"
    return f" of {kind.low:g} to {kind.high:g} orders a week"


def _popularity(fit: Calibration, kind: KindFit) -> list[str]:
    sizes = kind.sizes
    _, base = base_type(fit.base, kind.fulfilment)
    assumed = f"      popularity: {model_flow(base.popularity)}"
    if sizes is None:
        if fit.sellers_seen:
            return ["      popularity: 1.0   # one seller: its weight is all there is"]
        return [f"{assumed}   # assumed: the base's (the log names no seller)"]
    if not sizes.identified:
        why = (
            "assumed: the base's. The order counts do not tell the sizes' spread (see "
            "above): a seller with few orders fits a small seller and a middling one alike"
        )
        return [*comment(why, 6), assumed]
    if sizes.sigma.value < EQUAL_SIZES_SIGMA:
        note = "fitted: no spread beyond Poisson noise (see above): the sellers are equal"
        return [*comment(note, 6), "      popularity: 1.0"]
    weeks = fit.span.weeks
    sigma = min(sizes.sigma.value, MAX_SIZE_SIGMA)
    capped = (
        f", capped at the scenario's limit of {MAX_SIZE_SIGMA:g}"
        if sigma < sizes.sigma.value
        else ""
    )
    if kind.split:
        values = [yaml_number(v, 4) for v in kind.size_slice(weeks)]
        note = (
            f"fitted: this type's slice of the {kind.fulfilment}-fulfilled size lognormal "
            f"(above){capped}, {_held(kind).strip()}, as {SLICE_POINTS} evenly spread "
            "quantiles; the types' slices make up the lognormal again"
        )
        return [
            *comment(note, 6),
            "      popularity:",
            "        dist: empirical",
            *_wrapped_list("values", values, 8),
        ]
    note = f"fitted: the size lognormal above{capped}; its median (orders a week) sets the scale"
    return [
        *comment(note, 6),
        "      popularity:",
        "        dist: lognormal",
        f"        median: {yaml_number(sizes.median.value / weeks, 4)}",
        f"        sigma: {yaml_number(sigma, 3)}",
    ]


def _wrapped_list(key: str, values: list[str], indent: int) -> list[str]:
    """`key: [a, b, ...]` as a flow list over several lines (continuations indented)."""
    pad = " " * indent
    lines, line = [], f"{pad}{key}: ["
    for i, v in enumerate(values):
        piece = v + ("]" if i == len(values) - 1 else ",")
        if len(line) + len(piece) + 1 > 96 and not line.endswith("["):
            lines.append(line)
            line = pad + " " * (len(key) + 3) + piece
        else:
            line += ("" if line.endswith("[") else " ") + piece
    return [*lines, line]


def _packing(fit: Calibration, kind: KindFit) -> list[str]:
    _, base = base_type(fit.base, kind.fulfilment)
    if kind.pack is None or kind.pickups is None:
        why = (
            f"assumed: the base's (the log cannot tell: fewer than {MIN_SHIPMENTS} shipped "
            "orders with a time, or too few that waited for a later pickup, after the hold)"
        )
        way = base.pickup if isinstance(base.pickup, str) else f"every {base.pickup}"
        pickup = (
            f"      pickup: {way}"
            if base.pickup is not None
            else f"      pickup_times: {flow([_clock(t) for t in base.pickup_times])}"
        )
        return [f"      pack_time: {model_flow(base.pack_time)}   # {why}", f"{pickup}   # {why}"]
    pack, pickups = kind.pack, kind.pickups
    shares = ", ".join(
        f"{_clock(t)} {s:.0%}" for t, s in zip(pickups.times, pickups.shares, strict=True)
    )
    median = pack.median
    hold = (
        f"from the end of the log's platform's pending hold ({duration(fit.hold)} after "
        "placement, as given)"
        if fit.hold
        else "from placement (no pending hold was given for the log's platform: any it had "
        "is in here, and a played policy's own hold comes on top)"
    )
    return [
        *comment(
            f"fitted: time {hold} to being ready for the carrier, a lognormal fitted to "
            "which pickup each order made (interval-censored: packed before its pickup, "
            f"after the one before); {pack.missed:,} orders missed a pickup and carry the "
            "information. It holds any queue of the logged sellers",
            6,
        ),
        "      pack_time:",
        "        dist: lognormal",
        *comment(
            f"fitted: {duration(median.value)} (95% CI {duration(median.low)}-"
            f"{duration(median.high)}, {median.method}; n = {median.n:,} orders)",
            8,
        ),
        f"        median: {duration(median.value)}",
        *comment(fitted(pack.sigma), 8),
        f"        sigma: {yaml_number(min(pack.sigma.value, 3.0), 3)}",
        *comment(f"fitted: {pickups.rule}; shipments per pickup: {shares}", 6),
        f"      pickup_times: {flow([_clock(t) for t in pickups.times])}",
    ]


def _clock(hours: float) -> str:
    minutes = int(round(hours * 60)) % 1440
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _seller_cancels(kind: KindFit, base: Mapping[Any, float], never: float) -> list[str]:
    """The kind's own cancels by cause and its never-shipped share (`never`: fitted, or
    the base's within what the cancels leave), written so that they add up to at most 1."""
    c = kind.cancels
    causes = c.causes({str(k): v for k, v in base.items()})
    written = at_most_one([*causes.values(), never])
    observed = "; ".join(f"{k} {e.describe(3)}" for k, e in c.seller.items()) or "none"
    named = any(cause in c.seller for cause in SELLER_CAUSES)
    loose = [k for k in c.seller if k not in SELLER_CAUSES]
    if not c.seller:
        split = ""
    elif not loose:
        split = " Each cause fitted from the reasons given."
    elif named:
        split = (
            " Reasons that name no cause are spread over the causes in proportion to the "
            "named ones."
        )
    elif any(base.values()):
        split = (
            " assumed: the split by cause, the base type's proportions (no reason in the log "
            "names a cause; only the total is fitted)."
        )
    else:
        split = (
            " assumed: all as out_of_stock (neither a reason in the log nor the base type "
            "names a cause; only the total is fitted)."
        )
    lines = comment(
        f"fitted: the seller's own cancels (not asked for by the buyer), shares of orders, "
        f"{c.seller_total.describe(3)}; observed by reason: {observed}.{split}",
        6,
    )
    if causes:
        lines.append("      cancels:")
        lines += [f"        {k}: {_share(v)}" for k, v in zip(causes, written, strict=False)]
    else:
        lines.append("      cancels: {}")
    platform = c.platform
    if kind.pack is None:
        lines += comment(
            f"assumed: the base's (packing could not be fitted), at most what the cancels "
            f"leave; platform cancels nobody asked for, for comparison: {platform.describe(3)}",
            6,
        )
        lines.append(f"      never_ships: {_share(written[-1])}")
        return lines
    lines += comment(
        f"{fitted(kind.pack.never, 'orders that never ship')}: the unshipped orders that "
        "waited longer than the pack time explains (fitted with it; an order the seller "
        "cancelled for its own cause is one of the cancels above, not of these). For "
        f"comparison, platform cancels nobody asked for: {platform.describe(3)}",
        6,
    )
    lines.append(f"      never_ships: {_share(written[-1])}")
    return lines


def at_most_one(shares: list[float]) -> list[float]:
    """Shares of the orders (each cause, then never-ships) at 4 significant digits, the
    excess cut from the largest where rounding, or a sum of exactly 1 as floats add it,
    would take them over 1 (the scenario refuses more)."""
    out = [float(yaml_number(v, 4)) for v in shares]
    if not out:
        return out
    top = out.index(max(out))
    out[top] = max(0.0, out[top] - max(0.0, math.fsum(out) - 1.0))
    while sum(out) > 1.0 and out[top] > 0:
        out[top] = math.nextafter(out[top], 0.0)
    return out


def _share(value: float) -> str:
    """A share as written: 4 significant digits, or every digit where `at_most_one` cut it."""
    text = yaml_number(value, 4)
    return text if float(text) == value else repr(value)
