"""The table every declared round of fusion choice decides on: each candidate audit's criterion over seen zoos.

A candidate is a fusion (a ``fusion:<name>`` column of ``audit_selection.py``'s ``selection.csv``; the fusions are
those the runs printed, so a fusion added later changes no earlier round's table) read from one side of the runs
(with or without a method among those fused). Per candidate: the criterion (``mean_worst_case``: the mean over the
five categories of the worst-case AUC across zoos) over every zoo and over each half, each category's worst case, and
the innocent readings of both tasks it calls ``derived`` (from ``verdicts.csv``). No model runs; each round's own
``choose.py`` names the runs and the shipped candidate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pandas as pd
from audit_selection import main_categories, mean_worst_case
from fit_fusion_weights import recorded_combined_score

from gifviz.audit.names import VERDICTS

CRITERION_CATEGORIES = ("finetune", "prune", "extract-label", "extract-prob", "transfer")
# The runs of audit_selection.py with source crops among the methods on the seen zoos of seeds 161-208, each zoo once
# (round twenty-five's design read them; round twenty-six's adds seeds 209-216).
WITH_CROPS_161_208 = (
    "round-twenty-two/design",
    "round-twenty-two/report",
    "round-twenty-three/report",
    "round-twenty-four/with-crops",
)
INNOCENT_GROUPS = ("innocent, same task", "innocent, other task")  # verdicts.csv's groups of innocent models


def seed(zoo: str) -> int:
    """A stress zoo's seed, from its name (``gifviz-stress-193``)."""
    return int(zoo.rsplit("-", 1)[1])


def read_sides(
    results: Path, runs: Mapping[str, Sequence[str]], zoos: int
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Each side's ``selection.csv`` and ``verdicts.csv``, its runs' concatenated; both sides must hold the same
    ``zoos`` zoos, each read once (no cell of a side twice), and every run must have scored ``combined`` the same way
    (``fit_fusion_weights.recorded_combined_score``), so that no candidate's column mixes two readings."""
    readings = {run: recorded_combined_score(results / run) for names in runs.values() for run in names}
    assert len(set(readings.values())) == 1, f"the runs read combined's score differently: {readings}"
    read = {
        name: {
            side: pd.concat([pd.read_csv(results / run / name) for run in names], ignore_index=True)
            for side, names in runs.items()
        }
        for name in ("selection.csv", "verdicts.csv")
    }
    held = [sorted(frame["zoo"].unique()) for frame in read["selection.csv"].values()]
    assert all(h == held[0] for h in held) and len(held[0]) == zoos, [len(h) for h in held]
    for side, selection in read["selection.csv"].items():
        assert not selection.duplicated(["zoo", "category", "column"]).any(), f"{side}: a zoo is read twice"
    return read["selection.csv"], read["verdicts.csv"]


def candidate_table(
    selections: Mapping[str, pd.DataFrame],
    verdicts: Mapping[str, pd.DataFrame],
    zoos: int,
    halves: Mapping[str, range],
    shipped: tuple[str, str],
) -> pd.DataFrame:
    """One row per candidate (fusion, side), highest criterion first; among equal criteria the shipped candidate
    first, then the runs' order (sides as given, fusions as the runs printed them), so the order is the same on
    every machine. Every category must be read on all ``zoos`` and each half must hold some of them."""
    rows = []
    for side, selection in selections.items():
        categories = main_categories(selection)
        fusions = [c.split(":", 1)[1] for c in dict.fromkeys(selection["column"]) if c.startswith("fusion:")]
        for fusion in fusions:
            column = f"fusion:{fusion}"
            cells = categories[categories["column"] == column]
            read_on = cells.groupby("category")["zoo"].nunique().reindex(list(CRITERION_CATEGORIES))
            assert read_on.eq(zoos).all(), f"{column} ({side}) is not read on every zoo in every category"
            worst = cells.fillna({"auc": 0.0}).groupby("category")["auc"].min()  # NaN counts 0, as in the criterion
            by_half = {}
            for half, seeds in halves.items():
                part = selection[selection["zoo"].map(seed).isin(seeds)]
                assert len(part), f"half {half} holds none of the zoos"
                by_half[f"criterion {half}"] = mean_worst_case(part, column)
            innocent = verdicts[side]
            innocent = innocent[(innocent["fusion"] == fusion) & innocent["group"].isin(INNOCENT_GROUPS)]
            counts = innocent[list(VERDICTS)].to_numpy().sum(axis=0)
            rows.append(
                {
                    "fusion": fusion,
                    "methods": side,
                    "criterion": mean_worst_case(selection, column),
                    **by_half,
                    **{f"worst {c}": worst[c] for c in CRITERION_CATEGORIES},
                    "innocent derived": int(counts[0]),
                    "innocent readings": int(counts.sum()),
                    "not shipped": (fusion, side) != shipped,
                }
            )
    table = pd.DataFrame(rows).sort_values(["criterion", "not shipped"], ascending=[False, True], kind="stable")
    return table.drop(columns="not shipped").set_index(["fusion", "methods"])


def print_decision_table(table: pd.DataFrame, shipped: tuple[str, str], halves: Mapping[str, range]) -> None:
    """The table, then the leader against the shipped candidate: criterion, each half, innocent readings derived;
    every candidate tied with the leader (equal criteria to 1e-9) is named."""
    print(table.to_string(float_format=lambda x: f"{x:.4f}"))
    lead, base = table.iloc[0], table.loc[shipped]
    tied = [
        f"{fusion} ({side})" for (fusion, side), row in table.iterrows() if lead["criterion"] - row["criterion"] < 1e-9
    ]
    print(
        f"highest criterion: {' and '.join(tied)}{' (tied)' if len(tied) > 1 else ''} {lead['criterion']:.5f}; "
        f"shipped {base['criterion']:.5f}; the first named minus shipped {lead['criterion'] - base['criterion']:+.5f}; "
        "on the halves "
        + ", ".join(f"{half} {lead[f'criterion {half}'] - base[f'criterion {half}']:+.5f}" for half in halves)
        + f"; innocent derived {int(lead['innocent derived'])} of {int(lead['innocent readings'])} against "
        f"{int(base['innocent derived'])} of {int(base['innocent readings'])}"
    )


@dataclasses.dataclass(frozen=True)
class FusionRound:
    """A round's design: the runs of each side (under ``benchmarks/results``), the shipped candidate (fusion, side),
    the halves the rule reads, and how many zoos both sides must hold."""

    runs: Mapping[str, Sequence[str]]
    shipped: tuple[str, str]
    halves: Mapping[str, range]
    zoos: int


def choose(
    design: FusionRound, results: Path, check: Callable[[Mapping[str, pd.DataFrame]], str] | None = None
) -> None:
    """Print a round's decision table: first what ``check`` (the round's own cross-check of its runs, given each
    side's selection) says, then the zoos and the runs read, then :func:`print_decision_table`."""
    selections, verdicts = read_sides(results, design.runs, design.zoos)
    if check is not None:
        print(check(selections))
    table = candidate_table(selections, verdicts, design.zoos, design.halves, design.shipped)
    print(f"{design.zoos} zoos: {', '.join(run for runs in design.runs.values() for run in runs)}")
    print_decision_table(table, design.shipped, design.halves)
