"""Run the three testbeds for ModelGiF and its peers: point estimates, bootstrap intervals and the reference sweep.

Every method is evaluated once on the largest reference set; smaller reference counts are its first ``n`` samples
and bootstrap resamples are index vectors, so the sweep and the intervals cost no extra model evaluations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
import pandas as pd

from gifviz.analysis.stats import bootstrap_rows, percentile_interval
from gifviz.bench import ipp, task_relatedness, unlearning
from gifviz.config import PENULTIMATE, FieldConfig
from gifviz.constants import TESTBEDS
from gifviz.errors import ConfigError, GifvizError
from gifviz.hub.zoo import Zoo
from gifviz.methods.interface import MethodInputs
from gifviz.methods.registry import METHODS as DISTANCE_METHODS
from gifviz.methods.run import MethodRun, SignatureCache, failed_run, method_run, per_probe_run
from gifviz.pipeline import ZooProgress
from gifviz.refs import ReferenceSet, image_files, load_reference_folder
from gifviz.store import FieldStore

METHODS = tuple(DISTANCE_METHODS)


@dataclasses.dataclass(frozen=True)
class BenchConfig:
    """What a testbed run compares and how.

    Attributes:
        field: ModelGiF's field configuration.
        task_layer: for task relatedness, ModelGiF differentiates this inner layer with the ``channel_max`` rule, as the
            paper does for its task-relatedness testbed (models of different tasks share their features, not their
            heads); by default each model's penultimate module; ``None`` keeps ``field``'s own target.
        methods: ``modelgif`` and peer names.
        n_refs: references in the main table (the sweep may go further, up to all given references).
        sweep: reference counts of the sweep (capped at the references given).
        resamples: bootstrap resamples over references for the 95% intervals (0: none).
        seed: seeds the bootstrap and the peers' random choices.
        variants: extra ModelGiF configurations, shown as methods ``modelgif:<name>``.
    """

    field: FieldConfig = dataclasses.field(default_factory=lambda: FieldConfig(steps=10))
    task_layer: str | None = PENULTIMATE
    methods: tuple[str, ...] = METHODS
    n_refs: int = 128
    sweep: tuple[int, ...] = (8, 16, 32, 64, 128, 256)
    resamples: int = 200
    seed: int = 0
    variants: tuple[tuple[str, FieldConfig], ...] = ()

    def __post_init__(self) -> None:
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown:
            raise ConfigError(f"unknown methods {unknown}; choose from: {', '.join(METHODS)}")
        if self.n_refs < 2 or any(count < 2 for count in self.sweep):
            raise ConfigError(f"reference counts must be at least 2; got N={self.n_refs}, sweep={list(self.sweep)}")
        if self.resamples < 0:
            raise ConfigError(f"bootstrap resamples must be at least 0; got {self.resamples}")


@dataclasses.dataclass(frozen=True)
class BenchInputs:
    """The zoo, its references (``labels`` optional) and a labelled pool for SAC-w (default: the references)."""

    zoo: Zoo
    references: ReferenceSet
    labelled_pool: ReferenceSet | None = None
    store: FieldStore | None = None


@dataclasses.dataclass(frozen=True)
class BenchResult:
    """``table``: one row per method and metric (value, 95% interval, samples, cost); ``sweep``: the metric per
    reference count; ``details``: per-model distances (ROC curves, verdicts).

    ``requested``: the N asked for the main table; ``available``: the references the run was given;
    ``sweep_counts``: the reference counts asked for the sweep (capped at each method's samples). The N each
    method's row actually averages over is its ``samples`` column (see :attr:`n_used`).
    """

    testbed: str
    table: pd.DataFrame
    sweep: pd.DataFrame
    details: pd.DataFrame
    requested: int = 0
    available: int = 0
    sweep_counts: tuple[int, ...] = ()

    @property
    def n_used(self) -> int:
        """The largest N any method's main-table value averages over: ``min(requested, available, its samples)``;
        0 when no method could run."""
        samples = self.table.get("samples", [])
        return int(max(samples, default=0))


class BenchProgress(ZooProgress, Protocol):
    """A :class:`~gifviz.pipeline.ZooProgress` that is also told which method starts (peers run no per-model steps)."""

    def method(self, name: str) -> None: ...


Scorer = Callable[[MethodRun, "np.ndarray | None"], dict[str, float]]


def _methods_for(config: BenchConfig) -> list[str]:
    return list(config.methods) + [f"modelgif:{name}" for name, _ in config.variants]


def _method_of(name: str) -> tuple[str, str]:
    """``modelgif:<variant>`` -> (``modelgif``, ``<variant>``); a plain name has no variant."""
    base, _, variant = name.partition(":")
    return base, variant


def _run(
    testbed: str,
    name: str,
    inputs: BenchInputs,
    ids: Sequence[str],
    config: BenchConfig,
    probe: str,
    progress: BenchProgress | None,
    shared: SignatureCache | None = None,
) -> MethodRun:
    """Method ``name`` on the models ``ids``, every method through the same call.

    The field configuration is ``config.field`` or the named variant's; for task relatedness it differentiates
    ``config.task_layer`` (the methods that use no field ignore it). A method that cannot run on these models (no
    hookable layer, no labels) becomes an n/a row with the reason instead of stopping the testbed.
    """
    zoo = inputs.zoo
    base, variant = _method_of(name)
    method = DISTANCE_METHODS[base]
    if progress is not None:
        progress.method(name)
    field_config = dict(config.variants)[variant] if variant else config.field
    if testbed == "tasks" and config.task_layer is not None:
        field_config = field_config.replace(target="channel_max", layer=config.task_layer)
    pool = inputs.labelled_pool if method.needs_labels and inputs.labelled_pool is not None else inputs.references
    title = f"{method.title} ({variant})" if variant else method.title
    try:
        method_inputs = MethodInputs(
            pool,
            zoo.load(probe) if method.uses_probe else None,
            zoo.space.value_range,
            config.seed,
            field=field_config,
            store=inputs.store,
        )
        return method_run(method, zoo, ids, method_inputs, name=name, title=title, progress=progress, shared=shared)
    except GifvizError as error:
        return failed_run(name, title, method.access, str(error))


def _summarize(
    testbed: str,
    runs: dict[str, MethodRun],
    score: Scorer,
    config: BenchConfig,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    table, sweep = [], []
    for name, run in runs.items():
        # a method that reads no reference (first-layer weights) averages over none: no interval, no sweep, N 0
        n = min(config.n_refs, run.samples) if run.reads_references else 0
        main_rows = np.arange(n) if run.reads_references else None
        point = score(run, main_rows)
        resamples = config.resamples if n else 0  # a method that could not run has nothing to resample
        boots = [score(run, main_rows[rows]) for rows in bootstrap_rows(n, resamples, config.seed)]
        for metric, value in point.items():
            low, high = percentile_interval([b[metric] for b in boots]) if boots else (float("nan"), float("nan"))
            table.append(
                {
                    "testbed": testbed,
                    "method": name,
                    "title": run.title,
                    "access": run.access,
                    "metric": metric,
                    "value": value,
                    "low": low,
                    "high": high,
                    "samples": n,
                    "evaluations per model": run.evaluations * n // max(run.samples, 1),
                    "seconds": round(run.seconds, 2),
                    "note": run.note,
                    "unread": "; ".join(f"{m}: {why}" for m, why in run.unread.items()),
                }
            )
        for count in sorted({min(c, run.samples) for c in config.sweep} - {0}) if run.reads_references else ():
            for metric, value in score(run, np.arange(count)).items():
                sweep.append({"testbed": testbed, "method": name, "metric": metric, "samples": count, "value": value})
    return pd.DataFrame(table), pd.DataFrame(sweep)


def _sizes(config: BenchConfig, inputs: BenchInputs) -> tuple[int, int, tuple[int, ...]]:
    return config.n_refs, len(inputs.references), tuple(config.sweep)


def run_ipp(inputs: BenchInputs, config: BenchConfig, progress: BenchProgress | None = None) -> BenchResult:
    """ROC-AUC per attack category for every method (see :mod:`gifviz.bench.ipp`)."""
    cases = ipp.ipp_cases(inputs.zoo)
    ids = sorted({m for c in cases for m in (c.source, *c.positives, *c.negatives)})
    sources = sorted({c.source for c in cases})
    runs: dict[str, MethodRun] = {}
    shared: SignatureCache = {}
    for name in _methods_for(config):
        if DISTANCE_METHODS[_method_of(name)[0]].uses_probe:
            runs[name] = per_probe_run(
                {s: _run("ipp", name, inputs, ids, config, s, progress, shared) for s in sources}
            )
        else:
            runs[name] = _run("ipp", name, inputs, ids, config, sources[0], progress, shared)
    table, sweep = _summarize("ipp", runs, lambda run, rows: ipp.category_aucs(run, cases, rows), config)
    details = pd.DataFrame(
        [
            {
                "method": name,
                "source": case.source,
                "category": case.category,
                "model": model_id,
                "derived": model_id in case.positives,
                "distance": run.distance(case.source, model_id),
            }
            for name, run in runs.items()
            for case in cases
            for model_id in case.positives + case.negatives
        ]
    )
    return BenchResult("ipp", table, sweep, details, *_sizes(config, inputs))


def run_tasks(inputs: BenchInputs, config: BenchConfig, progress: BenchProgress | None = None) -> BenchResult:
    """Spearman, P@2 and R@2 against the transferability matrix for every method (see
    :mod:`gifviz.bench.task_relatedness`)."""
    task_set = task_relatedness.task_set(inputs.zoo)
    ids = list(task_set.models)
    shared: SignatureCache = {}
    runs = {name: _run("tasks", name, inputs, ids, config, ids[0], progress, shared) for name in _methods_for(config)}
    table, sweep = _summarize(
        "tasks", runs, lambda run, rows: task_relatedness.task_scores(run, task_set, rows), config
    )
    details = pd.DataFrame(
        [
            {
                "method": name,
                "source task": task_set.tasks[i],
                "target task": task_set.tasks[j],
                "distance": value,
                "transferability": task_set.transferability[i, j],
            }
            for name, run in runs.items()
            for (i, j), value in np.ndenumerate(task_relatedness.affinity(run, task_set))
        ]
    )
    return BenchResult("tasks", table, sweep, details, *_sizes(config, inputs))


def run_unlearning(inputs: BenchInputs, config: BenchConfig, progress: BenchProgress | None = None) -> BenchResult:
    """Group distances, order and verdicts for every method (see :mod:`gifviz.bench.unlearning`)."""
    bench = unlearning.unlearning_set(inputs.zoo)
    ids = list(bench.models)
    shared: SignatureCache = {}
    runs = {
        name: _run("unlearning", name, inputs, ids, config, bench.reference, progress, shared)
        for name in _methods_for(config)
    }
    table, sweep = _summarize(
        "unlearning", runs, lambda run, rows: unlearning.unlearning_scores(run, bench, rows), config
    )
    details = pd.DataFrame([row for run in runs.values() for row in unlearning.verdicts(run, bench)])
    return BenchResult("unlearning", table, sweep, details, *_sizes(config, inputs))


RUNNERS = {"ipp": run_ipp, "tasks": run_tasks, "unlearning": run_unlearning}


def models_for(zoo: Zoo, testbed: str) -> tuple[str, ...]:
    """The ids of the models ``testbed`` compares on ``zoo``, from the manifest alone (no model is loaded).

    Raises :class:`~gifviz.errors.ConfigError` (one line: what the manifest lacks and how to annotate it) when
    ``zoo`` does not have what ``testbed`` needs.
    """
    if testbed == "ipp":
        return tuple(sorted({m for c in ipp.ipp_cases(zoo) for m in (c.source, *c.positives, *c.negatives)}))
    if testbed == "tasks":
        return task_relatedness.task_set(zoo).models
    if testbed == "unlearning":
        return unlearning.unlearning_set(zoo).models
    raise ConfigError(f"unknown testbed {testbed!r}; choose from: {', '.join(TESTBEDS)}")


def check_testbed(zoo: Zoo, testbed: str) -> None:
    """Raise :class:`~gifviz.errors.ConfigError` naming what is missing unless ``zoo`` can run ``testbed``."""
    models_for(zoo, testbed)


def unsupported_testbeds(zoo: Zoo) -> dict[str, str]:
    """Each testbed ``zoo`` cannot run, with why (empty: it runs them all). Lets ``bench all`` and the app say up
    front which testbeds a zoo supports instead of failing after an earlier testbed's long run."""
    reasons = {}
    for testbed in TESTBEDS:
        try:
            check_testbed(zoo, testbed)
        except ConfigError as error:
            reasons[testbed] = str(error)
    return reasons


def bench_inputs(zoo: Zoo, config: BenchConfig, store: FieldStore | None = None) -> BenchInputs:
    """References for a testbed run: as many as the main table and the sweep need.

    The built-in zoo's references come from its data generator's reference split, with their digit labels, and
    SAC-w's labelled pool is its test split (the SAC paper draws misclassified samples from the test set). Other
    zoos use their manifest's reference folder, without labels.
    """
    wanted = max((config.n_refs, *config.sweep))
    from gifviz.builtin_zoo.data import DATA_GENERATOR, zoo_data  # on first use: it builds the digit data

    if zoo.manifest.data.get("generator") == DATA_GENERATOR:
        splits = zoo_data()
        reference, test = splits["reference"], splits["test"]
        count = min(wanted, len(reference))
        references = ReferenceSet(
            reference.images[:count], tuple(f"reference[{i}]" for i in range(count)), reference.labels["digit"][:count]
        )
        pool = ReferenceSet(test.images, tuple(f"test[{i}]" for i in range(len(test))), test.labels["digit"])
        return BenchInputs(zoo, references, pool, store)
    if zoo.manifest.references is None:
        raise ConfigError("the testbeds need reference images: name a references folder in the zoo manifest")
    available = len(image_files(zoo.manifest.references))
    references = load_reference_folder(zoo.manifest.references, zoo.space, n=min(wanted, available))
    return BenchInputs(zoo, references, None, store)
