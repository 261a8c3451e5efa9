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
