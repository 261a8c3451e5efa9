"""The spread floor of the methods whose distance is a share of their samples (round nine's candidate): the sampling
error by hand, the case it exists for (independents whose rates coincide to the count), and that nothing else
changes."""

from __future__ import annotations

import math

import pytest
from conftest import read_audit

from gifviz.audit.calibration import calibrate
from gifviz.audit.evidence import Evidence
from gifviz.audit.names import ABSOLUTE, DEFAULT_RATE_SPREAD, RATE_SPREADS, SAME_ARCH
from gifviz.audit.reading import MethodReading, sampling_error
from gifviz.audit.roles import AuditError, AuditRoles
from gifviz.audit.run_audit import assess
from gifviz.audit.settings import ReadingSettings
from gifviz.methods.registry import METHODS

N = 128
INDEPENDENTS = ("i1", "i2", "i3", "i4", "i5")


def test_sampling_error_by_hand():
    p = (100 * 0.25 + 0.5) / 101
    assert sampling_error(0.25, 100) == pytest.approx(math.sqrt(p * (1 - p) / 100))
    # many samples: the textbook sqrt(r (1 - r) / N)
    assert sampling_error(0.3, 10**6) == pytest.approx(math.sqrt(0.21 / 10**6), rel=1e-3)
    # a rate of 0 or 1 is not known exactly from N samples
    assert sampling_error(0.0, N) > 0 and sampling_error(1.0, N) > 0
    assert sampling_error(0.0, N) == pytest.approx(sampling_error(1.0, N))
    assert sampling_error(0.5, 0) == 0.0


def test_the_rate_methods_are_the_two_disagreements():
    """The declared candidate floors output and off-task disagreement, and no method whose distance is no count."""
    assert {name for name, method in METHODS.items() if method.share_of_samples} == {"disagreement", "off-task"}


def coinciding(method: str) -> tuple[Evidence, AuditRoles]:
    """Five independents each 2 of ``N`` references away from the source, and a suspect that agrees on all."""
    distances = {"suspect": 0.0, **{i: 2 / N for i in INDEPENDENTS}}
    evidence = Evidence("source", {method: distances}, {method: {}}, {method: N}, {method: {}})
    return evidence, AuditRoles("source", ("suspect",), INDEPENDENTS)


def suspect_score(method: str, rate_spread: str) -> float:
    evidence, roles = coinciding(method)
    rows = assess(evidence, roles, [method], 0.05, ReadingSettings("capped-sum", ABSOLUTE, rate_spread=rate_spread))
    (row,) = [r.calibration for r in rows if r.method == method]
    return row.score


def test_coinciding_rates_are_read_at_the_sampling_error():
    """The shipped floor (0.1% of the independents' mean) turns two references into a thousand standard deviations;
    the sampling floor reads them as about one and a half."""
    assert suspect_score("disagreement", "value") == pytest.approx((2 / N) / (1e-3 * 2 / N))
    expected = (2 / N) / sampling_error(2 / N, N)
    assert suspect_score("disagreement", "sampling") == pytest.approx(expected)
    assert 1.0 < expected < 2.0


def test_a_method_that_counts_nothing_is_unchanged():
    assert suspect_score("modelgif", "sampling") == suspect_score("modelgif", "value")


def test_the_floor_is_one_rate_for_every_calibration_and_binds_only_below_it():
    """Under same-arch the values are differences of rates; the floor is the sampling error of the independents' mean
    raw rate from the source, and a spread above it is read as measured."""
    spread_out = {"suspect": 0.01, "i1": 0.10, "i2": 0.30, "i3": 0.20, "i4": 0.40, "i5": 0.25}
    to_anchors = {m: {i: 0.2 for i in INDEPENDENTS if i != m} for m in spread_out}
    evidence = Evidence(
        "source", {"off-task": spread_out}, {"off-task": {}}, {"off-task": 512}, {"off-task": to_anchors}
    )
    reading = MethodReading(
        evidence, "off-task", INDEPENDENTS, ReadingSettings(calibration=SAME_ARCH, rate_spread="sampling")
    )
    assert reading.min_spread == pytest.approx(sampling_error(sum(spread_out[i] for i in INDEPENDENTS) / 5, 512))
    roles = AuditRoles("source", ("suspect",), INDEPENDENTS)
    for rule in (SAME_ARCH, ABSOLUTE):
        value_rows, sampling_rows = (
            assess(evidence, roles, ["off-task"], 0.05, ReadingSettings("capped-sum", rule, rate_spread=s))
            for s in RATE_SPREADS
        )
        assert sampling_rows == value_rows, rule
    values = [spread_out[i] for i in INDEPENDENTS]
    assert calibrate(0.01, values, 0.05, min_spread=reading.min_spread) == calibrate(0.01, values, 0.05)


def test_an_audit_is_read_again_with_the_other_floor_and_says_so():
    """Round nine's decision is the default; an audit read with the old floor is read again with it, recorded."""
    assert DEFAULT_RATE_SPREAD == "sampling"
    evidence, roles = coinciding("disagreement")
    before = read_audit(evidence, roles, ["disagreement"], ReadingSettings("capped-sum", ABSOLUTE, rate_spread="value"))
    sampled = before.reread(rate_spread="sampling")
    assert sampled.settings.rate_spread == "sampling" and sampled.provenance["config"]["rate_spread"] == "sampling"
    assert sampled.row("suspect", "disagreement").score == pytest.approx(suspect_score("disagreement", "sampling"))
    assert before.row("suspect", "disagreement").score == pytest.approx(suspect_score("disagreement", "value"))
    # the other settings are kept when one is changed
    assert sampled.reread(fusion="best").settings.rate_spread == "sampling"
    assert before.reread(fusion="best").settings.rate_spread == "value"
    with pytest.raises(AuditError, match="unknown rate spread 'wide'; choose one of: value, sampling"):
        before.reread(rate_spread="wide")


def test_the_floor_reaches_every_reading_in_combineds_fused_null():
    """Two methods, so that ``combined`` fuses and reads the suspect against the independents' own fused statistics:
    each independent's disagreement is read with the floor too (its values one count apart spread less than a
    proportion's sampling error), and ``combined`` equals the fusion computed by hand with it."""
    from gifviz.audit.fusion import FUSED_SPREAD_FLOORS, capped_sum

    counts = {"suspect": 0, "i1": 1, "i2": 2, "i3": 1, "i4": 2, "i5": 1}
    disagreement = {m: c / N for m, c in counts.items()}
    field = {"suspect": 0.2, "i1": 0.5, "i2": 0.6, "i3": 0.55, "i4": 0.7, "i5": 0.65}
    evidence = Evidence(
        "source",
        {"disagreement": disagreement, "modelgif": field},
        {"disagreement": {}, "modelgif": {}},
        {"disagreement": N, "modelgif": N},
        {"disagreement": {}, "modelgif": {}},
    )
    roles = AuditRoles("source", ("suspect",), INDEPENDENTS)
    floor = sampling_error(sum(disagreement[i] for i in INDEPENDENTS) / len(INDEPENDENTS), N)

    def fused(model: str, against: list[str], min_spread: float) -> float:
        return capped_sum(
            {
                "disagreement": calibrate(
                    disagreement[model], [disagreement[i] for i in against], 0.05, min_spread=min_spread
                ),
                "modelgif": calibrate(field[model], [field[i] for i in against], 0.05),
            }
        )

    def combined(rate_spread: str):
        rows = assess(
            evidence,
            roles,
            ["disagreement", "modelgif"],
            0.05,
            ReadingSettings("capped-sum", ABSOLUTE, "own", rate_spread, combined_score="calibrated"),
        )
        return next(r.calibration for r in rows if r.method == "combined")

    for rate_spread, min_spread in (("sampling", floor), ("value", 0.0)):
        null = [fused(j, [i for i in INDEPENDENTS if i != j], min_spread) for j in INDEPENDENTS]
        statistic = fused("suspect", list(INDEPENDENTS), min_spread)
        expected = calibrate(-statistic, [-v for v in null], 0.05, min_spread=FUSED_SPREAD_FLOORS["capped-sum"])
        got = combined(rate_spread)
        assert got.distance == pytest.approx(statistic) and got.score == pytest.approx(expected.score), rate_spread
    # the floor binds in the null: one count apart is less than a proportion's sampling error here
    loo = [disagreement[i] for i in INDEPENDENTS if i != "i1"]
    assert (
        calibrate(disagreement["i1"], loo, 0.05).score
        != calibrate(disagreement["i1"], loo, 0.05, min_spread=floor).score
    )
    assert combined("sampling").score != pytest.approx(combined("value").score)
