"""A suspect ``by-attack`` calls derived on the methods aimed at one kind of thief has its row say so, so a reader
sees what kind of derivation the evidence points to (and what to check when an innocent model is called derived)."""

from __future__ import annotations

import pytest
from scipy import stats

from gifviz.audit.calibration import Calibration
from gifviz.audit.fusion import (
    EVERY_METHOD,
    attack_hypotheses,
    by_attack,
    by_attack_hypothesis,
    combined_evidence,
    companion_hypotheses,
)
from gifviz.audit.names import ATTACK_COMPANIONS, ATTACK_EVIDENCE

PROBABILITY, LABEL_ONLY = ATTACK_EVIDENCE  # the names of the two aimed groups, in their order
OTHERS = ("modelgif", "modeldiff", "sac-m", "disagreement", "cka")
INDEPENDENTS = [f"j{k}" for k in range(6)]


def _at(z: float) -> Calibration:
    """A method's calibration whose Student-t tail is the normal tail of ``z`` (a fusion reads ``z`` back)."""
    return Calibration(0.0, z, 0.5, float(stats.norm.sf(z)), 8, "independent")


def _suspect(dark: float, label: float, rest: float) -> dict[str, Calibration]:
    return {
        **{m: _at(rest) for m in OTHERS},
        "dark-knowledge": _at(dark),
        "off-task": _at(label),
        "source-flips": _at(label),
    }


def test_the_hypothesis_named_is_the_one_whose_z_by_attack_takes():
    cases = {
        PROBABILITY: _suspect(dark=3.0, label=0.0, rest=0.0),
        LABEL_ONLY: _suspect(dark=0.0, label=2.0, rest=0.0),
        EVERY_METHOD: _suspect(dark=4.0, label=4.0, rest=4.0),  # a fine-tuned copy: every method sees it
    }
    for expected, calibrations in cases.items():
        name, methods = by_attack_hypothesis(calibrations)
        assert name == expected
        assert set(methods) <= set(calibrations)
        fused = {m: calibrations[m] for m in methods}
        assert by_attack(fused) == pytest.approx(by_attack(calibrations))
    assert by_attack_hypothesis(cases[PROBABILITY])[1] == ("dark-knowledge",)
    assert by_attack_hypothesis(cases[LABEL_ONLY])[1] == ("off-task", "source-flips")
    # a tie (one method fused: its group's z is every method's) goes to the hypothesis that claims least
    assert by_attack_hypothesis({"dark-knowledge": _at(3.0)}) == (EVERY_METHOD, ("dark-knowledge",))
    # a group that holds every method fused is every method (these z sum higher in the last digit in the group's order)
    label_only = {
        m: _at(z)
        for m, z in zip(
            ("off-task", "modelgif-crops", "source-flips", "source-crops"), (3.5, 3.8, 4.0, 5.1), strict=True
        )
    }
    assert by_attack_hypothesis(label_only)[0] == EVERY_METHOD


def _combined(per_method: dict[str, Calibration], fusion: str = "by-attack") -> Calibration:
    per_method = {**per_method, "first-layer": Calibration(0.0, 0.0, 1.0, 1.0, 0, "n/a", "cannot compare")}
    # a method that cannot compare the suspect (n/a) is in no hypothesis; each independent read against the others:
    # a small spread around 0 for every method
    spread = dict(zip(INDEPENDENTS, (-0.6, -0.3, 0.0, 0.2, 0.4, 0.7), strict=True))

    def calibration_of(method, model, others):
        return _at(spread[model])

    return combined_evidence("suspect", per_method, calibration_of, INDEPENDENTS, 0.05, fusion)


def test_a_derived_row_names_the_hypothesis_that_carried_it_and_no_other_row_does():
    probability_thief = _combined(_suspect(dark=6.0, label=0.0, rest=0.0))
    assert probability_thief.verdict == "derived"
    assert f"by-attack's largest hypothesis: {PROBABILITY} (dark-knowledge)" in probability_thief.note
    label_thief = _combined(_suspect(dark=0.0, label=5.0, rest=0.0))
    assert label_thief.verdict == "derived"
    assert f"by-attack's largest hypothesis: {LABEL_ONLY} (off-task, source-flips)" in label_thief.note
    # every method together: the fusion's list of methods says it, and the note a fine-tuned copy shares is unchanged
    copy = _combined(_suspect(dark=5.0, label=5.0, rest=5.0))
    assert copy.verdict == "derived" and "largest hypothesis" not in copy.note
    innocent = _combined(_suspect(dark=0.1, label=-0.2, rest=0.0))
    assert innocent.verdict != "derived" and "largest hypothesis" not in innocent.note
    # another fusion has no hypotheses to name
    stouffer = _combined(_suspect(dark=6.0, label=6.0, rest=6.0), fusion="stouffer")
    assert stouffer.verdict == "derived" and "largest hypothesis" not in stouffer.note


def test_the_hypotheses_by_name_keep_every_group_in_place_and_add_companions_only_beside_an_aimed_method():
    # the one statement of the hypotheses, read by the audit over usable methods and by the benchmarks over columns
    methods = ["modelgif", "source-flips", "modeldiff", "dark-knowledge"]
    assert attack_hypotheses(methods) == [
        (EVERY_METHOD, methods),
        (PROBABILITY, ["dark-knowledge"]),
        (LABEL_ONLY, ["source-flips"]),  # in the group's order, whatever the order of ``methods``
    ]
    assert attack_hypotheses(["modelgif"]) == [(EVERY_METHOD, ["modelgif"]), (PROBABILITY, []), (LABEL_ONLY, [])]
    assert companion_hypotheses(methods) == [["dark-knowledge", "modeldiff"], ["source-flips", "modeldiff"]]
    assert companion_hypotheses(["modeldiff", "off-task"]) == [["off-task", "modeldiff"]]
    assert companion_hypotheses(["modelgif", "modeldiff"]) == []  # no aimed method: nothing to stand beside
    assert companion_hypotheses(["dark-knowledge", "off-task"]) == []  # no companion among the methods
    # a companion stands beside a group, never in one (round forty-six's design splits each hypothesis back by it)
    assert not set(ATTACK_COMPANIONS) & {m for group in ATTACK_EVIDENCE.values() for m in group}
