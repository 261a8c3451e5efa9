"""The audit's same-arch calibration rule and its capped fusion: the rule by hand, the case it exists for (an innocent
model of the source's architecture, a thief of another), the exception for other output classes, and how models of
one architecture are recognised across file formats (on distances written here, and a zoo of two widths)."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
import torch
from conftest import make_cnn, read_audit, write_pngs, write_zoo
from torch import nn

from gifviz.audit.calibration import Calibration, calibrate
from gifviz.audit.evidence import Evidence
from gifviz.audit.fusion import FUSED_SPREAD_FLOORS, SCORE_CAP, capped_sum
from gifviz.audit.names import DEFAULT_NULL_CENTRE, SAME_ARCH
from gifviz.audit.reading import MethodReading
from gifviz.audit.roles import AuditRoles
from gifviz.audit.run_audit import COMBINED, assess, audit, method_calibration
from gifviz.audit.settings import ReadingSettings
from gifviz.config import FieldConfig
from gifviz.hub import Zoo
from gifviz.hub.digest import architecture_digest
from gifviz.refs import load_reference_folder


def kin_value(
    to_source: float,
    to_anchors: dict[str, float],
    kin: set[str],
    left_out: frozenset[str] = frozenset(),
    anchors_from_source: dict[str, float] | None = None,
) -> float:
    """The value of a model ``y`` at ``to_source`` from the source and ``to_anchors`` from the independents (these at
    ``anchors_from_source`` from the source, default ``to_anchors``), the models of the source's architecture being
    ``kin``, in a calibration that leaves ``left_out`` out."""
    from_source = anchors_from_source if anchors_from_source is not None else to_anchors
    evidence = Evidence(
        "source",
        {"m": {"y": to_source, **from_source}},
        {"m": {}},
        {"m": 1},
        {"m": {"y": to_anchors}},
        same_architecture=frozenset(kin),
    )
    return MethodReading(evidence, "m", list(to_anchors), ReadingSettings(calibration=SAME_ARCH)).value("y", left_out)


def test_same_arch_value_by_hand():
    anchors = {"k1": 0.3, "k2": 0.5, "o1": 0.9, "o2": 0.7}
    # the mean over the independents of the source's architecture only
    assert kin_value(0.2, anchors, {"k1", "k2"}) == pytest.approx(0.2 - 0.4)
    assert kin_value(0.2, anchors, {"k1", "k2"}, frozenset({"k2"})) == pytest.approx(0.2 - 0.3)
    # others left out change nothing
    assert kin_value(0.2, anchors, {"k1", "k2"}, frozenset({"o1"})) == pytest.approx(0.2 - 0.4)
    # none of them in use (all left out, or none at all): every independent in use, as the relative rule
    assert kin_value(0.2, anchors, {"k1", "k2"}, frozenset({"k1", "k2"})) == pytest.approx(0.2 - 0.8)
    assert kin_value(0.2, anchors, set()) == pytest.approx(0.2 - 0.6)
    # a model of the source's architecture that is no independent (a suspect) is no anchor, and keeps no rule on
    assert kin_value(0.2, anchors, {"k1", "suspect"}) == pytest.approx(0.2 - 0.3)
    assert kin_value(0.2, anchors, {"k1", "suspect"}, frozenset({"k1"})) == pytest.approx(0.2 - 0.7)
    # in use, but this model's distance to it is missing: no value (against every independent, another rule)
    assert math.isnan(kin_value(0.2, {"k1": math.nan, "o1": 0.5}, {"k1"}, anchors_from_source={"k1": 0.3, "o1": 0.5}))
    # an independent the method cannot compare at all (no distance from the source) is never in use
    assert kin_value(0.2, {"k1": math.nan, "o1": 0.5}, {"k1"}) == pytest.approx(0.2 - 0.5)


def test_the_anchors_are_chosen_per_calibration_not_per_model():
    """With ``k1`` left out, ``k2`` is the only independent of the source's architecture in use: it has no value in
    that calibration (read against every independent, it would be read by another rule than the rest), and every
    other model is read against it alone."""
    to_anchors = {
        "k1": {"k2": 0.3, "o1": 0.6, "o2": 0.6},
        "k2": {"k1": 0.3, "o1": 0.6, "o2": 0.6},
        "o1": {"k1": 0.6, "k2": 0.6, "o2": 0.3},
        "o2": {"k1": 0.6, "k2": 0.6, "o1": 0.3},
    }
    from_source = {"k1": 0.3, "k2": 0.3, "o1": 0.6, "o2": 0.6}
    evidence = Evidence(
        "source", {"m": from_source}, {"m": {}}, {"m": 1}, {"m": to_anchors}, same_architecture=frozenset(KIN)
    )
    reading = MethodReading(evidence, "m", list(from_source), ReadingSettings(calibration=SAME_ARCH))
    assert [reading.value(m) for m in from_source] == pytest.approx([0.0] * 4)
    left_out = frozenset({"k1"})
    assert math.isnan(reading.value("k2", left_out))
    assert reading.value("o1", left_out) == pytest.approx(0.6 - 0.6)
    # the same under the relative rule: every model against every independent in use
    relative = MethodReading(evidence, "m", list(from_source), ReadingSettings(calibration="relative"))
    assert relative.value("k2", left_out) == pytest.approx(0.3 - 0.6)


KIN = ("k1", "k2")  # independents of the source's architecture
OTHERS = ("o1", "o2", "o3", "o4")  # independents of one other architecture


def two_kinds_evidence() -> tuple[Evidence, AuditRoles]:
    """Models of one architecture are 0.3 apart, of two architectures 0.6 (one method, small seeded noise). The
    innocent model has the source's architecture; the thief (another architecture) is 0.4 from the source, closer
    than any model of its kind but farther than the source's own kind. The new head is the innocent model with
    other output classes."""
    rng = np.random.default_rng(0)
    kind = {"source": "s", **dict.fromkeys(KIN, "s"), **dict.fromkeys(OTHERS, "o"), "innocent": "s", "newhead": "s"}

    def apart(a: str, b: str) -> float:
        return (0.3 if kind[a] == kind[b] else 0.6) + float(rng.uniform(-0.01, 0.01))

    independents = (*KIN, *OTHERS)
    models = (*independents, "innocent", "newhead", "thief")
    from_source = {m: apart("source", m) for m in models if m != "thief"} | {"thief": 0.4}
    to_anchors: dict[str, dict[str, float]] = {m: {} for m in models}
    for k, a in enumerate(independents):
        for b in independents[k + 1 :]:
            to_anchors[a][b] = to_anchors[b][a] = apart(a, b)
        for suspect in ("innocent", "newhead"):
            to_anchors[suspect][a] = apart(suspect, a)
        to_anchors["thief"][a] = 0.6 if kind[a] == "s" else 0.5
    evidence = Evidence(
        "source",
        {"m": from_source},
        {"m": {}},
        {"m": 10},
        {"m": to_anchors},
        other_classes=frozenset({"newhead"}),
        same_architecture=frozenset({*KIN, "innocent", "newhead"}),
    )
    # the suspect with other output classes first: each suspect's own readings must not carry over to the next
    return evidence, AuditRoles("source", ("newhead", "innocent", "thief"), independents)


def calibrations_by_rule(
    calibration: str, method: str = "m", null_centre: str = DEFAULT_NULL_CENTRE
) -> dict[str, Calibration]:
    evidence, roles = two_kinds_evidence()
    rows = assess(evidence, roles, ["m"], 0.05, ReadingSettings("capped-sum", calibration, null_centre=null_centre))
    return {r.suspect: r.calibration for r in rows if r.method == method}


def test_an_innocent_of_the_sources_architecture_stands_out_only_against_every_independent():
    relative, same_arch = calibrations_by_rule("relative"), calibrations_by_rule(SAME_ARCH)
    # against every independent, its own kind's closeness reads as evidence, and the thief's is drowned
    assert relative["innocent"].score > 0.5 and relative["thief"].verdict != "derived"
    # (centred on the independents' mean, as when the rule was chosen, by more than one standard deviation)
    assert calibrations_by_rule("relative", null_centre="mean")["innocent"].score > 1
    # against the independents of the source's architecture, it is one of them, and the thief stands out
    assert same_arch["innocent"].score < 1 and same_arch["innocent"].verdict != "derived"
    assert same_arch["thief"].verdict == "derived"


def test_a_suspect_with_other_output_classes_is_read_by_the_relative_rule():
    """Against every independent in use: all of them under the ``all`` cross-task null, those of other kinds than
    the source's under ``other-kinds`` (round twelve; its own tests are in test_audit_cross_task_null.py)."""
    for method in ("m", COMBINED):  # its own reading, and the fused one (each independent fused against the others)
        relative, same_arch = calibrations_by_rule("relative", method), calibrations_by_rule(SAME_ARCH, method)
        assert same_arch["newhead"] == relative["newhead"]
        assert same_arch["innocent"] != relative["innocent"]
    # what the page plots for it is what its verdict was read on
    evidence, roles = two_kinds_evidence()
    independents = [i for i in roles.independents]
    relative = MethodReading(evidence, "m", independents, ReadingSettings(calibration="relative"))
    for cross_task_null, left_out in (("all", frozenset()), ("other-kinds", frozenset(KIN))):
        settings = ReadingSettings("capped-sum", SAME_ARCH, cross_task_null=cross_task_null)
        values = read_audit(evidence, roles, ["m"], settings).statistics("m")
        assert values["newhead"] == relative.value("newhead", left_out), cross_task_null
    assert values["innocent"] == MethodReading(
        evidence, "m", independents, ReadingSettings(calibration=SAME_ARCH)
    ).value("innocent")
    assert values["innocent"] != MethodReading(
        evidence, "m", independents, ReadingSettings(calibration="relative")
    ).value("innocent")


def test_a_suspect_that_is_also_an_independent_is_read_by_one_rule():
    """``k1`` read leave-one-out (as the audit's own check reads every independent): ``k2`` is then the only
    independent of the source's architecture in use, has no value, and is not among the independents it is read
    against; every other value is taken against ``k2``."""
    evidence, roles = two_kinds_evidence()
    roles = AuditRoles("source", ("k1",), roles.independents)
    result = read_audit(evidence, roles, ["m"], ReadingSettings("capped-sum", SAME_ARCH))
    row = result.row("k1", "m")
    reading = MethodReading(evidence, "m", roles.independents, ReadingSettings(calibration=SAME_ARCH))
    left_out = frozenset({"k1"})
    others = [reading.value(j, left_out) for j in roles.independents if j != "k1"]
    assert math.isnan(others[0]) and all(math.isfinite(v) for v in others[1:])  # k2 first
    expected = calibrate(reading.value("k1", left_out), others, 0.05, reading.floor_scale)
    assert row.independents == len(roles.independents) - 2 and row.score == pytest.approx(expected.score)
    # the page plots it at the value its verdict was read on
    assert result.statistics("m")["k1"] == pytest.approx(reading.value("k1", left_out))


def test_the_fused_null_holds_only_independents_read_by_the_suspects_rule():
    """``k1`` read leave-one-out: ``k2`` has no value in its calibration, so ``combined``'s null fuses every other
    independent (each against the rest, ``k2`` among their anchors) and not ``k2``, which its own calibration would
    read against every independent."""
    evidence, roles = two_kinds_evidence()
    roles = AuditRoles("source", ("k1",), roles.independents)
    # one method, read as a fused statistic (as before round eight), so that the null shows
    # (its score read against the null too, where the null's members show; as before round twenty-six)
    settings = ReadingSettings("capped-sum", SAME_ARCH, one_method="fused", combined_score="calibrated")
    rows = assess(evidence, roles, ["m"], 0.05, settings)
    (combined,) = [r.calibration for r in rows if r.method == COMBINED]
    (own,) = [r.calibration for r in rows if r.method == "m"]
    reading = MethodReading(evidence, "m", roles.independents, ReadingSettings(calibration=SAME_ARCH))
    independents = [i for i in roles.independents if i != "k1"]
    assert reading.without_value(independents) == {"k2"}

    def fused_null(members: list[str]) -> list[float]:
        null = []
        for j in members:
            others = [i for i in independents if i != j]
            null.append(capped_sum({"m": method_calibration(evidence, "m", reading, j, others, 0.05)}))
        return null

    def read(null: list[float]) -> Calibration:
        return calibrate(
            -capped_sum({"m": own}), [-v for v in null], 0.05, min_spread=FUSED_SPREAD_FLOORS["capped-sum"]
        )

    expected = read(fused_null([j for j in independents if j != "k2"]))
    assert combined.independents == len(independents) - 1 and combined.score == pytest.approx(expected.score)
    assert "not in the fused null: k2" in combined.note
    # with k2 fused (read by the relative rule), the reading would differ: the test can tell the two apart
    assert read(fused_null(independents)).score != pytest.approx(expected.score)
    # under the relative rule every independent has a value, and every one is in the null
    relative = MethodReading(evidence, "m", roles.independents, ReadingSettings(calibration="relative"))
    assert relative.without_value(independents) == frozenset()


def test_a_lone_independent_of_the_sources_architecture_is_left_out_of_every_suspects_fused_null():
    """With one independent of the source's architecture, every suspect's calibration reads against it: no suspect's
    fused null holds it, under same-arch only."""
    evidence, roles = two_kinds_evidence()
    evidence = dataclasses.replace(evidence, same_architecture=frozenset({"k1", "innocent", "newhead"}))
    for rule in (SAME_ARCH, "relative", "absolute"):
        rows = assess(
            evidence, roles, ["m"], 0.05, ReadingSettings("capped-sum", rule, one_method="fused")
        )  # one method, fused
        combined = {r.suspect: r.calibration for r in rows if r.method == COMBINED}
        for suspect in ("innocent", "thief"):
            left_out = rule == SAME_ARCH
            assert ("not in the fused null: k1" in combined[suspect].note) is left_out
            assert combined[suspect].independents == len(roles.independents) - left_out
        # the suspect with other output classes is read by the relative rule: every independent is in its null
        assert "not in the fused null" not in combined["newhead"].note


def test_capped_sum_caps_each_method_and_ignores_negative_scores():
    def scored(score: float) -> Calibration:
        return Calibration(0.1, score, 0.1, 0.01, 8, "derived")

    assert round(SCORE_CAP, 2) == 7.94
    fused = capped_sum({"modeldiff": scored(800.0), "modelgif": scored(1.5), "cka": scored(-3.0)})
    assert fused == pytest.approx(SCORE_CAP + 1.5)


def test_one_architecture_has_one_digest_in_every_format():
    eager, other_weights = make_cnn(0), make_cnn(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = torch.jit.script(make_cnn(2))
        program = torch.export.export(make_cnn(3), (torch.rand(2, 1, 16, 16),))
    exported = torch.export.unflatten(program)
    digest = architecture_digest(eager)
    assert digest is not None
    assert {architecture_digest(m) for m in (other_weights, scripted, exported)} == {digest}
    assert architecture_digest(make_cnn(0, width=6)) != digest
    assert architecture_digest(make_cnn(0, classes=5)) != digest  # a new head is another architecture
    assert architecture_digest(nn.ReLU()) is None  # nothing to tell it by (as a model behind an API)


def test_an_audit_finds_the_independents_of_the_sources_architecture(tmp_path):
    models = {
        "source": make_cnn(0),
        "suspect": make_cnn(1, width=6),
        **{f"narrow{k}": make_cnn(10 + k) for k in range(3)},
        **{f"wide{k}": make_cnn(20 + k, width=6) for k in range(3)},
    }
    manifest = write_zoo(tmp_path, models)
    text = manifest.read_text()
    for model_id in models:
        if model_id not in ("source", "suspect"):
            text = text.replace(f'id = "{model_id}"\n', f'id = "{model_id}"\nrelation = "independent"\n')
    # a model reached only through its answers shows no architecture, whatever network its wrapper holds
    text = text.replace('id = "narrow2"\n', 'id = "narrow2"\naccess = "query"\n')
    manifest.write_text(text)
    zoo = Zoo.open(manifest)
    references = load_reference_folder(write_pngs(tmp_path / "refs", 4), zoo.space)
    result = audit(zoo, "source", ["suspect"], None, ("disagreement",), references, FieldConfig(steps=2))
    assert result.evidence.same_architecture == {"narrow0", "narrow1"}
    assert result.calibration == SAME_ARCH and result.provenance["config"]["calibration"] == SAME_ARCH
    assert result.provenance["config"]["same_architecture"] == ["narrow0", "narrow1"]


def test_the_fused_null_of_an_audit_leaves_out_the_lone_kin():
    """AuditResult.fused_null gives the same members as combined reads: for ``k1`` read leave-one-out, every other
    independent but ``k2`` (no value in its calibration), each against the rest."""
    from gifviz.audit.run_audit import AuditResult

    evidence, roles = two_kinds_evidence()
    roles = AuditRoles("source", ("k1",), roles.independents)
    settings = ReadingSettings("capped-sum", SAME_ARCH, one_method="fused")
    result = AuditResult(roles, ("m",), 0.05, evidence, (), {}, settings)
    members = result.fused_null("k1")
    assert set(members) == set(roles.independents) - {"k1", "k2"}
    reading = MethodReading(evidence, "m", roles.independents, ReadingSettings(calibration=SAME_ARCH))
    others = [i for i in roles.independents if i not in ("k1", "o1")]
    assert members["o1"]["m"] == method_calibration(evidence, "m", reading, "o1", others, 0.05)
    # read as its own (the default since round eight), one method has no fused null
    assert dataclasses.replace(result, settings=settings.changed(one_method="own")).fused_null("k1") == {}
