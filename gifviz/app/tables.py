"""Tables the app shows and exports, as pandas frames built from library objects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from gifviz.hub.zoo import Zoo


def zoo_table(zoo: Zoo, cached: Mapping[str, bool] | None = None) -> pd.DataFrame:
    """One row per model: id, architecture, parameters, task, source, family, relation, parent, accuracy, cached?"""
    rows = []
    for spec in zoo.specs:
        try:
            model = zoo.load(spec.id)
            params, arch, problem = model.num_params, model.arch, ""
        except Exception as error:  # a model that fails to load is listed with its error, the rest stay usable
            params, arch, problem = None, spec.arch, str(error)
        rows.append(
            {
                "id": spec.id,
                "arch": arch,
                "params": params,
                "task": spec.task,
                "source": spec.kind,
                "family": spec.extra.get("family"),
                "relation": spec.relation,
                "parent": spec.parent,
                "accuracy": spec.extra.get("accuracy"),
                "field cached": bool(cached.get(spec.id)) if cached is not None else None,
                "problem": problem,
            }
        )
    return pd.DataFrame(rows)


# Columns of the zoo table the Hub page filters on.
FILTER_COLUMNS = ("family", "relation", "arch", "task")


def filter_options(table: pd.DataFrame, column: str) -> list[str]:
    """The distinct values of ``column`` (as text, sorted), for a filter's choices."""
    return sorted(str(value) for value in table[column].dropna().unique())


def filtered(table: pd.DataFrame, chosen: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """The rows whose value in each column of ``chosen`` is one of the chosen values (an empty choice keeps all)."""
    for column, values in chosen.items():
        if values:
            table = table[table[column].astype(str).isin(list(values))]
    return table


def with_selection(table: pd.DataFrame, selected: Sequence[str]) -> pd.DataFrame:
    """``table`` with a ``selected`` column: whether each model is in the working set."""
    return table.assign(selected=table["id"].isin(list(selected)))


def ids_of(table: pd.DataFrame, rows: Sequence[int] | None = None) -> tuple[str, ...]:
    """Model ids of ``table``'s rows at positions ``rows`` (default: every row)."""
    return tuple(table["id"] if rows is None else table.iloc[list(rows)]["id"])


def colour_choices(zoo: Zoo) -> list[str]:
    """What the Map can colour models by: manifest properties, then every free tag as ``tag:<key>``."""
    tags = sorted({f"tag:{key}" for spec in zoo.specs for key in spec.tags})
    return ["relation", "task", "arch", "family", "parent", *tags]


def model_property(zoo: Zoo, ids: Sequence[str], name: str) -> dict[str, object]:
    """One property per model for colouring and hover: relation, task, arch, family, parent, or ``tag:<key>``."""
    values = {}
    for model_id in ids:
        spec = zoo.spec(model_id)
        if name.startswith("tag:"):
            values[model_id] = spec.tags.get(name[4:], "-")
        elif name in ("relation", "task", "arch", "parent"):
            values[model_id] = getattr(spec, name) or "-"
        else:
            values[model_id] = spec.extra.get(name, "-")
    return values


def model_tags(zoo: Zoo, ids: Sequence[str]) -> dict[str, dict[str, object]]:
    """Tags shown on hover: relation, parent, task and arch with the free tags."""
    result = {}
    for model_id in ids:
        spec = zoo.spec(model_id)
        info = {"relation": spec.relation, "parent": spec.parent, "task": spec.task, "arch": spec.arch}
        result[model_id] = {**{k: v for k, v in info.items() if v}, **spec.tags}
    return result
