"""Which thieves the audit misses, by how much of the source they copied: each thief's verdict beside its query budget
and its agreement with its source, as the stress zoo's own sanity check measured them.

Each folder is one ``benchmarks/audit_selection.py --out``; its ``verdicts_by_model.csv`` gives each thief's verdict
(the shipped fusion's, ``--fusion`` for another), and each zoo it scored is found by the paths its ``selection.json``
records (``--zoos DIR`` to look for ``DIR/<folder of each zoo>/zoo.toml`` instead). From each zoo, ``checks.csv`` gives
the thief's agreement with its source on held-out test digits (``agreement_test``) and ``zoo.toml`` its query budget
(``recipe.budget``, a fraction of the attacker's pool). These are properties of the zoo, measured when it was built,
not by any method the audit reads. Prints, for probability thieves and for label-only thieves that queried natural
images (the two kinds of thief of the audit's goal), built as MLPs and otherwise: the thieves called ``derived`` per
query budget and per band of agreement.

    python benchmarks/thief_misses.py benchmarks/results/audit-seeds-{314-321,322-329}
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from gifviz.audit.names import DEFAULT_FUSION

KINDS = {"probability thieves": ("extract-prob", None), "natural-image label thieves": ("extract-label", "natural")}
# Bands of agreement with the source on test digits, the last closed at 1: a thief below 0.9 copied less of its source
# than the independents of a stress zoo agree with it (most agree on 0.9 or more of the test digits).
AGREEMENT_EDGES = (0.0, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 1.0)
AGREEMENT_BANDS = [f"{a}-{b}" for a, b in itertools.pairwise(AGREEMENT_EDGES)]


def zoo_paths(folder: Path, zoos_dir: Path | None) -> list[Path]:
    """The ``zoo.toml`` of each zoo ``folder`` scored: from its ``selection.json`` command, or under ``zoos_dir`` by
    the name of each recorded zoo's folder."""
    command = json.loads((folder / "selection.json").read_text()).get("command", "")
    recorded = [Path(word) for word in command.split() if word.endswith("zoo.toml")]
    if not recorded:
        raise ValueError(f"{folder / 'selection.json'} records no zoo.toml in its command")
    if zoos_dir is None:
        return recorded
    return [zoos_dir / path.parent.name / "zoo.toml" for path in recorded]


def zoo_thieves(path: Path) -> pd.DataFrame:
    """One row per thief of the zoo at ``path``: ``zoo`` (its manifest's name), ``model``, ``budget`` and
    ``agreement`` (with its source, on test digits). Raises ``OSError`` naming a missing file."""
    if not path.is_file():
        raise OSError(f"no zoo at {path}; pass --zoos DIR where each scored zoo's folder lies")
    manifest = tomllib.loads(path.read_text())
    budgets = {m["id"]: m["recipe"]["budget"] for m in manifest["models"] if "budget" in m.get("recipe", {})}
    checks = pd.read_csv(path.parent / "checks.csv").set_index("model")
    if "agreement_test" not in checks.columns:
        raise ValueError(f"{path.parent / 'checks.csv'} has no column agreement_test")
    unchecked = sorted(set(budgets) - set(checks.index[checks["agreement_test"].notna()]))
    if unchecked:
        raise ValueError(f"{path.parent / 'checks.csv'} has no agreement_test for {unchecked[0]!r}")
    return pd.DataFrame(
        {
            "zoo": manifest["name"],
            "model": list(budgets),
            "budget": list(budgets.values()),
            "agreement": [checks.loc[m, "agreement_test"] for m in budgets],
        }
    )


def thief_verdicts(folders: Sequence[Path], zoos_dir: Path | None, fusion: str = DEFAULT_FUSION) -> pd.DataFrame:
    """Every thief's verdict under ``fusion`` in ``folders``, with its kind (``KINDS``), whether it is an MLP, its
    budget and its agreement with its source ``(T, 8)``. Raises ``OSError`` or ``ValueError`` naming what is
    missing, or a zoo that two folders score (pooled twice, its thieves would count twice)."""
    verdicts, thieves, seen = [], [], {}
    for folder in folders:
        table = pd.read_csv(folder / "verdicts_by_model.csv")
        table = table[table["fusion"] == fusion]
        if table.empty:
            raise ValueError(f"{folder} has no verdicts of the fusion {fusion!r}")
        for zoo in table["zoo"].unique():
            if zoo in seen:
                raise ValueError(f"{zoo} is scored in both {seen[zoo]} and {folder}; pool each zoo once")
            seen[zoo] = folder
        verdicts.append(table)
        thieves += [zoo_thieves(path) for path in zoo_paths(folder, zoos_dir)]
    joined = pd.concat(verdicts, ignore_index=True).merge(pd.concat(thieves), on=["zoo", "model"], how="left")
    rows = []
    for kind, (group, queried) in KINDS.items():
        chosen = joined[joined["group"] == group]
        if queried is not None:
            chosen = chosen[chosen["queried"] == queried]
        unknown = chosen[chosen["budget"].isna()]
        if not unknown.empty:
            first = unknown.iloc[0]
            raise ValueError(f"thief {first['model']!r} of {first['zoo']} has no query budget in the zoos read")
        rows.append(chosen.assign(kind=kind, mlp=chosen["architecture"] == "mlp"))
    if not any(len(r) for r in rows):
        raise ValueError(f"no thief of {' or '.join(KINDS)} among the verdicts of {len(folders)} folder(s)")
    return pd.concat(rows, ignore_index=True)[
        ["kind", "zoo", "model", "mlp", "budget", "agreement", "verdict", "source"]
    ]


def agreement_bands(agreement: pd.Series) -> pd.Series:
    """Each agreement's band of :data:`AGREEMENT_BANDS`: each band holds its lower edge, the last also 1."""
    closed = agreement.clip(upper=AGREEMENT_EDGES[-1] - 1e-9)  # an agreement of 1 falls in the last band
    return pd.cut(closed, AGREEMENT_EDGES, right=False, labels=AGREEMENT_BANDS)


def derived_table(thieves: pd.DataFrame, by: str) -> pd.DataFrame:
    """``derived of N`` per kind and MLP or not (rows) and value of ``by`` (columns)."""
    called = thieves.assign(derived=thieves["verdict"] == "derived")
    counts = called.groupby(["kind", "mlp", by], observed=True)["derived"].agg(["sum", "count"])
    cells = counts.apply(lambda r: f"{int(r['sum'])} of {int(r['count'])}", axis=1).unstack(by).fillna("-")
    return cells.rename(index={True: "MLP", False: "other"}, level="mlp")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, help="audit_selection.py --out folders")
    parser.add_argument("--fusion", default=DEFAULT_FUSION, help=f"the verdicts' fusion (default {DEFAULT_FUSION})")
    parser.add_argument("--zoos", type=Path, help="where the scored zoos lie (default: the paths each run recorded)")
    args = parser.parse_args(argv)
    missing = [str(f) for f in args.folders if not (f / "selection.json").is_file()]
    if missing:
        print(
            f"error: no selection.json in {', '.join(missing)}; pass audit_selection.py --out folders", file=sys.stderr
        )
        return 2
    try:
        thieves = thief_verdicts(args.folders, args.zoos, args.fusion)
    except (OSError, ValueError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    thieves["agreement band"] = agreement_bands(thieves["agreement"])
    print(f"{thieves['zoo'].nunique()} zoos, fusion {args.fusion}: thieves called derived at the audit's 5%")
    print("\nby query budget (a fraction of the attacker's pool):")
    print(derived_table(thieves, "budget").to_string())
    print("\nby agreement with the source on test digits (the zoo's checks.csv):")
    print(derived_table(thieves, "agreement band").to_string())
    print("\nagreement with the source, median per kind (MLP / other):")
    medians = thieves.groupby(["kind", "mlp"])["agreement"].median().unstack("mlp")
    print(medians.rename(columns={True: "MLP", False: "other"}).round(3).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
