"""What a testbed run will cost, before it runs: model evaluations and rough seconds per method, and the warning
shown before a run that takes longer than a default run should."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from gifviz.audit.crops import CROPS_TITLE, SOURCE_CROP_PROBES
from gifviz.audit.flips import FLIP_STEPS, FLIP_TARGETS, FLIP_TITLE
from gifviz.audit.names import SOURCE_CROPS, SOURCE_FLIPS
from gifviz.config import FieldConfig
from gifviz.methods.dark_knowledge import MIX_PROBES
from gifviz.methods.off_task import OFF_TASK_PROBES
from gifviz.methods.registry import distance_method
from gifviz.refs import ReferenceSet
from gifviz.store import FieldStore

# Measured by running each method alone through ``run_ipp`` on the built-in zoo's IPP testbed (72 models,
# 3x32x32 inputs): BenchConfig(methods=(m,), n_refs=32, sweep=(8, 16, 32), resamples=100), the app's default field
# settings, ModelGiF's fields already in the store and the models already loaded, on this project's development
# machine with 2 CPU cores, lightly loaded (load average 1.2 to 1.4; ZEST: at N = 8, load 2.7 to 3.6, times 4).
# Seconds per model, everything included (signatures, bootstrap, sweep). The same runs took 5 to 10 times longer
# while other work kept both cores busy (load average 5 to 7: ZEST 625 s for the 72 models), so the estimates are
# rough lower bounds, and they scale with N: every caption says so next to its estimate.
SECONDS_PER_MODEL_AT_32 = {
    "modelgif": 0.005,  # fields from the store: only the distances and the bootstrap
    "disagreement": 0.02,
    "softmax": 0.02,
    "sac-m": 0.02,
    "cka": 0.04,  # a Gram matrix per pair and bootstrap resample
    "modeldiff": 0.05,  # gradient search for input pairs on each source
    "sac-w": 0.03,  # a search of the labelled pool on each source
    "zest": 3.5,  # 64 masked copies of every reference
    "dark-knowledge": 0.02,  # one forward pass per reference, like disagreement (its own; not measured apart)
    "dark-knowledge-mix": 0.02,  # per 32 blends, like dark-knowledge; it always uses MIX_PROBES of them
    "off-task": 0.02,  # per 32 photograph crops, like disagreement; it always uses OFF_TASK_PROBES of them
    "off-task-kappa": 0.02,  # the same crops and answers as off-task, another statistic of them
    SOURCE_FLIPS: 0.02,  # each model's answers per 32 flips, like disagreement (crafting them: in method_costs)
    SOURCE_CROPS: 0.02,  # per 32 photograph crops, like off-task; it always uses SOURCE_CROP_PROBES of them
    "modelgif-crops": 0.005,  # ModelGiF's, on as many photograph crops as references (field time: method_costs)
    "first-layer": 0.001,  # no model runs: reading the weights and one filter matching per pair (not per reference)
}
# Methods that evaluate a fixed number of samples whatever the reference count.
FIXED_SAMPLES = {
    "dark-knowledge-mix": MIX_PROBES,
    "off-task": OFF_TASK_PROBES,
    "off-task-kappa": OFF_TASK_PROBES,
    SOURCE_CROPS: SOURCE_CROP_PROBES,
}
# The audit's own evidence (gifviz.audit.names.AUDIT_METHODS), which the method registry does not hold.
AUDIT_TITLES = {SOURCE_FLIPS: FLIP_TITLE, SOURCE_CROPS: CROPS_TITLE}
# What is left of a method whose signatures another method of the run already computed (disagreement and softmax
# read the same softmax outputs; off-task and off-task-kappa the same answers on the same crops): the distances and
# the bootstrap, like ModelGiF with its fields in the store.
SHARED_SECONDS_PER_MODEL_AT_32 = 0.005
# ModelGiF's field computation when a field is not in the store: seconds per model per (reference, step) point,
# forward and backward, same machine and load (7.2 s for 72 models x 32 references x 4 steps; 67 to 92 s when busy).
FIELD_SECONDS_PER_POINT = 0.0008
MEASURED_ON = (
    "measured on a lightly loaded 2-core CPU for the built-in zoo's 32x32 models; rough: they scale with N and the "
    "models' size, a busy machine takes up to 10 times longer, and the first run also loads the models"
)

# The methods a plain "Run testbed" runs. On the built-in IPP testbed at N = 32 with ModelGiF's fields in the store
# they took 0.3, 1.2, 1.0 and 1.1 s each on the lightly loaded machine, and 11 to 37 s together (the app's page
# included) while other work kept the cores busy (load average 1.6 to 5.3): under a minute either way. CKA, ModelDiff
# and SAC-w cost 2 to 3 times more each (all seven methods: 53 s at load 3.4) and ZEST about 150 times more; they
# are chosen explicitly, with their estimate shown first.
QUICK_METHODS: tuple[str, ...] = ("modelgif", "disagreement", "softmax", "sac-m")
# A default run should answer within this many seconds; above it the app warns before running.
BUDGET_SECONDS = 60.0


@dataclasses.dataclass(frozen=True)
class MethodCost:
    """What one method will cost in a testbed run, before running it.

    Attributes:
        method, title: the method's key and display name.
        evaluations: model evaluations per model (forward passes; ModelGiF's also have a backward pass).
        seconds: rough wall-clock estimate on a 2-core CPU (see :data:`SECONDS_PER_MODEL_AT_32`).
        note: what the estimate assumes (e.g. how many ModelGiF fields are already in the store).
    """

    method: str
    title: str
    evaluations: int
    seconds: float
    note: str = ""


def method_title(method: str) -> str:
    return AUDIT_TITLES[method] if method in AUDIT_TITLES else distance_method(method).title


def _outputs_key(method: str) -> tuple | None:
    """What a run keys a method's signatures by (gifviz.methods.run.signatures_of): two methods with the same samples
    and signature functions read the same outputs once. ``None`` for the audit's own evidence, which no run caches."""
    if method in AUDIT_TITLES:
        return None
    found = distance_method(method)
    return (found.prepare, found.signature)


def reads_no_reference(method: str) -> bool:
    """Whether ``method`` runs no model and reads no reference (first-layer weights: the registry's
    ``reads_references``): no evaluation, and a cost that N does not change."""
    return method not in AUDIT_TITLES and not distance_method(method).reads_references


def evaluations_per_model(method: str, n_refs: int, steps: int) -> int:
    """Model evaluations per model at ``n_refs`` references (SAC-w: at most; it keeps the misclassified ones)."""
    if reads_no_reference(method):
        return 0
    if method in FIXED_SAMPLES:
        return FIXED_SAMPLES[method]
    per_reference = {"modelgif": steps, "modelgif-crops": steps, "modeldiff": 2, "zest": 64, SOURCE_FLIPS: FLIP_TARGETS}
    return per_reference.get(method, 1) * n_refs


def cached_fields(store: FieldStore | None, ids: Sequence[str], references: ReferenceSet, config: FieldConfig) -> int:
    """How many of ``ids`` have a field for these references and this configuration in ``store``.

    Read from the store's index by model id, without loading any model (a model file replaced under the same id is
    counted as cached; the run then computes its field: an estimate, not a promise).
    """
    if store is None:
        return 0
    digest, config_json = references.field_digest(config), config.to_json(for_key=True)
    stored = {r.model_id for r in store.records() if r.refs_digest == digest and r.config_json == config_json}
    return len(stored & set(ids))


def method_costs(
    ids: Sequence[str],
    methods: Sequence[str],
    references: ReferenceSet,
    config: FieldConfig,
    store: FieldStore | None = None,
) -> list[MethodCost]:
    """Estimated cost of each of ``methods`` on the models ``ids`` at ``len(references)`` references (ModelGiF with
    ``config``, its fields from ``store`` where cached), before anything runs."""
    n, scale = len(references), len(references) / 32
    costs = []
    for position, method in enumerate(methods):
        title = method_title(method)
        samples_scale = FIXED_SAMPLES[method] / 32 if method in FIXED_SAMPLES else scale
        samples_scale *= FLIP_TARGETS if method == SOURCE_FLIPS else 1
        samples_scale = 1.0 if reads_no_reference(method) else samples_scale
        seconds = len(ids) * samples_scale * SECONDS_PER_MODEL_AT_32[method]
        note = ""
        key = _outputs_key(method)
        if earlier := [m for m in methods[:position] if key is not None and _outputs_key(m) == key]:
            seconds = len(ids) * samples_scale * SHARED_SECONDS_PER_MODEL_AT_32
            note = f"reuses the outputs of {method_title(earlier[0])}"
        if method in ("modelgif", "modelgif-crops"):
            if method == "modelgif":
                cached = cached_fields(store, ids, references, config)
                note = f"fields in the store for {cached} of {len(ids)} models"
            else:  # the crops' fields are keyed by crops that depend on the space and the seed, unknown here: none
                # is counted as stored, so the estimate is an upper bound
                cached = 0
                note = "at most: fields on photograph crops, computed unless the store holds them"
            seconds += (len(ids) - cached) * n * config.steps * FIELD_SECONDS_PER_POINT
        if method == SOURCE_FLIPS:  # crafting the flips: FLIP_STEPS passes of the source alone, like field points
            seconds += n * FLIP_TARGETS * FLIP_STEPS * FIELD_SECONDS_PER_POINT
            note = f"up to {FLIP_TARGETS * n} flips, each {FLIP_STEPS} forward and backward passes of the source"
        costs.append(MethodCost(method, title, evaluations_per_model(method, n, config.steps), seconds, note))
    return costs


def _duration(seconds: float) -> str:
    return f"about {max(1, round(seconds))} s" if seconds < 90 else f"about {seconds / 60:.0f} min"


def cost_caption(costs: list[MethodCost]) -> str:
    """One line: the run's estimated total and each method's share (``ModelGiF about 8 s, fields in the store ...``)."""
    parts = [f"{c.title} {_duration(c.seconds)}" + (f" ({c.note})" if c.note else "") for c in costs]
    total = sum(c.seconds for c in costs)
    return f"Estimated run: {_duration(total)}: " + "; ".join(parts) + f". Figures {MEASURED_ON}."


def expensive(costs: list[MethodCost], budget: float = BUDGET_SECONDS) -> str:
    """A warning when the run exceeds ``budget`` seconds, naming the methods that make it slow; else ``""``."""
    total = sum(c.seconds for c in costs)
    if total <= budget:
        return ""
    slow = sorted(
        (c for c in costs if c.method not in QUICK_METHODS or c.seconds > budget / 2), key=lambda c: -c.seconds
    )
    named = ", ".join(f"{c.title} ({_duration(c.seconds)}, {c.evaluations} evaluations per model)" for c in slow)
    return (
        f"This run takes {_duration(total)}, more than the {budget:.0f} s a default run is meant to take"
        + (f": {named}" if named else "")
        + ". Press Run testbed to go ahead."
    )
