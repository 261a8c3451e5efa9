"""Query-only ModelGiF against its black-box peers at the same number of queries per model, and the queries a
decision costs.

Run:  python benchmarks/query_budget.py [--ipp ...] [--ladder 2,8,32,128,512] [--skip-ipp] [--skip-audit]
      (fields are kept in the field store, ``$GIFVIZ_HOME``, default ``~/.cache/gifviz``: a rerun only reads them)

What each method is given (built-in zoo, 3x32x32; no library default and no zoo is changed):

- References: the built-in zoo's labelled reference split (360 images) followed by its test split (810), 1170 in
  all, in that order; a method given ``n`` references gets the first ``n``. ModelGiF's fields use the first ``N``
  (the reference split), so they are the fields the testbeds and the audit would compute.
- ModelGiF, query-only: ``FieldConfig(gradient="zeroth-order", queries=Q, steps=S)``, zero baseline, the predicted
  logit, Gauss-Legendre steps; every model's field (the owner's too) from the same estimator, so both sides of each
  distance are measured alike. A model costs ``N * S * Q`` path-point queries, ``N`` endpoint queries and one for
  the shared zero baseline; the tables print the count the fields report (:attr:`gifviz.field.Field.queries`).
- ModelGiF, white-box: ``FieldConfig()`` (autograd, S = 4) on the same first ``N`` references (no queries: one
  forward and backward pass per path point).
- Output disagreement, softmax distance, SAC-m: ``n = B`` references (one query each; SAC-m evaluates one CutMix mix
  of each); ModelDiff: ``n = B / 2`` references, each paired with a partner crafted from the owner's model (two
  queries per reference). ``n`` is capped at the 1170 available; the tables print what each method spent
  (:attr:`gifviz.methods.MethodRun.evaluations`).

1. IPP: ROC-AUC per attack category on the built-in zoo's IPP testbed (:mod:`gifviz.bench.ipp`), one row per
   method and budget, with the queries per model each spent.
2. Audit (:func:`gifviz.audit.audit`, source ``src-cnn``, default independents, default alpha): for a ladder of
   budgets, each suspect's verdict by query-only ModelGiF (N = 8, S = 4, Q from the ladder) and by each peer at the
   matched reference count; the white-box verdict is ModelGiF's with autograd on the same references. The table
   gives, per suspect and method, the fewest queries per suspect at which its verdict equals the white-box one
   ("first") and from which it does at every larger budget of the ladder ("stable").

Tables are printed and written to benchmarks/results/query_budget.txt.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from gifviz import FieldConfig
from gifviz.audit import audit
from gifviz.audit.roles import audit_roles
from gifviz.audit.settings import ReadingSettings
from gifviz.bench import ipp
from gifviz.bench.suite import models_for
from gifviz.builtin_zoo.data import zoo_data
from gifviz.hub import Zoo
from gifviz.jobs import store_fields
from gifviz.methods import METHODS, MethodInputs, MethodRun, method_run
from gifviz.methods.run import SignatureCache, per_probe_run
from gifviz.refs import ReferenceSet
from gifviz.store import FieldStore

BUILTIN = Path(__file__).resolve().parents[1] / "assets" / "zoo" / "builtin" / "zoo.toml"
RESULTS = Path(__file__).resolve().parent / "results" / "query_budget.txt"
PEERS = ("disagreement", "softmax", "sac-m", "modeldiff")
# Queries per reference each peer spends: ModelDiff evaluates a reference and its crafted partner.
QUERIES_PER_REFERENCE = {"disagreement": 1, "softmax": 1, "sac-m": 1, "modeldiff": 2}
SOURCE = "src-cnn"
# One model of each attack category derived from the source, and two innocents of the source's task: the other
# source (a ResNet, not among the default independents) and an independent CNN of the source's own architecture
# (also a default independent, so the audit scores it leave-one-out against the other four).
SUSPECTS = (
    "ft-cnn-1",
    "prune-cnn-1",
    "xlabel-cnn-1",
    "xprob-cnn-1",
    "xadv-cnn-1",
    "transfer-cnn-1",
    "src-res",
    "indep-cnn_deep-1",
)
AUDIT_N = 8
STEPS = 4


@dataclasses.dataclass(frozen=True)
class FieldSetting:
    """A ModelGiF field configuration: ``n`` references, ``steps`` path points, ``queries`` per point (``None``:
    white-box autograd)."""

    n: int
    steps: int = STEPS
    queries: int | None = None

    @property
    def config(self) -> FieldConfig:
        if self.queries is None:
            return FieldConfig(steps=self.steps)
        return FieldConfig(steps=self.steps, gradient="zeroth-order", queries=self.queries)

    @property
    def budget(self) -> int:
        """Nominal queries per model: path points, endpoints and the shared zero baseline (0: white-box)."""
        return 0 if self.queries is None else self.n * self.steps * self.queries + self.n + 1

    @property
    def label(self) -> str:
        if self.queries is None:
            return f"ModelGiF white-box N={self.n} S={self.steps}"
        return f"ModelGiF query-only N={self.n} S={self.steps} Q={self.queries}"


def pooled_references(count: int) -> ReferenceSet:
    """The first ``count`` of the reference split followed by the test split ``(count, 3, 32, 32)``, digit-labelled.

    The names and order of the reference split are :func:`gifviz.bench.suite.bench_inputs`'s, so ModelGiF's first
    ``N`` references are the testbeds' (and their stored fields are shared)."""
    splits = zoo_data()
    reference, test = splits["reference"], splits["test"]
    images = torch.cat([reference.images, test.images])
    labels = torch.cat([reference.labels["digit"], test.labels["digit"]])
    names = tuple(f"reference[{i}]" for i in range(len(reference))) + tuple(f"test[{i}]" for i in range(len(test)))
    if count > len(names):
        raise ValueError(f"asked for {count} references; the built-in zoo has {len(names)}")
    return ReferenceSet(images[:count].contiguous(), names[:count], labels[:count].contiguous())


def available_references() -> int:
    splits = zoo_data()
    return len(splits["reference"]) + len(splits["test"])


def peer_references(method: str, budget: int, available: int) -> int:
    """References a peer can be given for ``budget`` queries per model (capped at those ``available``)."""
    return max(2, min(budget // QUERIES_PER_REFERENCE[method], available))


class Progress:
    """Prints one line per model of a long field run (zeroth-order fields take seconds each)."""

    def __init__(self, label: str) -> None:
        self.label, self.started = label, time.perf_counter()

    def start(self, model_id: str, position: int, count: int, total_points: int) -> None:
        self.position, self.count = position, count

    def advance(self, points_done: int, total_points: int) -> None:
        pass

    def finish(self, model_id: str) -> None:
        elapsed = time.perf_counter() - self.started
        print(f"    {self.label}: {self.position + 1}/{self.count} {model_id} ({elapsed:.0f} s)", flush=True)


def modelgif_run(
    zoo: Zoo, ids: Sequence[str], setting: FieldSetting, store: FieldStore | None
) -> tuple[MethodRun, int]:
    """ModelGiF's run on ``ids`` and the queries per model its fields report (the most any model took)."""
    references = pooled_references(setting.n)
    fields = store_fields(zoo, references, setting.config, list(ids), store, progress=Progress(setting.label))
    spent = {field.queries or 0 for field in fields.values()}
    inputs = MethodInputs(references, value_range=zoo.space.value_range, field=setting.config, store=store)
    return method_run(METHODS["modelgif"], zoo, ids, inputs), max(spent)


def peer_run(
    zoo: Zoo,
    ids: Sequence[str],
    method: str,
    references: ReferenceSet,
    sources: Sequence[str],
    shared: SignatureCache,
) -> MethodRun:
    """A peer on ``ids``; a probe-dependent one (ModelDiff) once per source, as the IPP testbed runs it."""
    spec = METHODS[method]

    def inputs(probe: str | None) -> MethodInputs:
        return MethodInputs(references, zoo.load(probe) if probe else None, zoo.space.value_range, 0)

    if spec.uses_probe:
        return per_probe_run({s: method_run(spec, zoo, ids, inputs(s), shared=shared) for s in sources})
    return method_run(spec, zoo, ids, inputs(None), shared=shared)


def table(header: Sequence[str], rows: Sequence[Sequence[object]], first: int) -> list[str]:
    """Fixed-width text: the first column ``first`` characters wide, left-aligned; the others right-aligned."""
    widths = [first] + [max(len(h), *(len(str(r[i])) for r in rows)) + 2 for i, h in enumerate(header) if i]
    lines = [f"{header[0]:<{first}}" + "".join(f"{h:>{w}}" for h, w in zip(header[1:], widths[1:], strict=True))]
    for row in rows:
        lines.append(f"{row[0]!s:<{first}}" + "".join(f"{c!s:>{w}}" for c, w in zip(row[1:], widths[1:], strict=True)))
    return lines


def peer_given(method: str, count: int) -> str:
    """What a peer was given, in words."""
    if method == "modeldiff":
        return f"{count} refs + {count} crafted partners"
    if method == "sac-m":
        return f"{count} CutMix mixes of {count} refs"
    return f"{count} refs"


def ipp_table(
    zoo: Zoo, settings: Sequence[FieldSetting], peer_budgets: Sequence[int], store: FieldStore | None
) -> list[str]:
    """IPP ROC-AUC per category: white-box ModelGiF, then by budget query-only ModelGiF and the peers at
    ``peer_budgets`` queries per model."""
    ids = list(models_for(zoo, "ipp"))
    cases = ipp.ipp_cases(zoo)
    sources = sorted({case.source for case in cases})
    available = available_references()
    pool = pooled_references(available)
    rows: list[tuple[int, str, int, str, dict[str, float], float]] = []

    def add(budget: int, name: str, spent: int, given: str, run: MethodRun, seconds: float) -> None:
        aucs = ipp.category_aucs(run, cases)
        rows.append((budget, name, spent, given, aucs, seconds))
        print(f"  {name}: {spent} queries/model, {given}: { ({k: round(v, 3) for k, v in aucs.items()}) }", flush=True)

    white = FieldSetting(AUDIT_N)
    started = time.perf_counter()
    run, _ = modelgif_run(zoo, ids, white, store)
    add(0, white.label, 0, f"{white.n} refs x {white.steps} steps, autograd", run, time.perf_counter() - started)
    for setting in settings:
        started = time.perf_counter()
        run, spent = modelgif_run(zoo, ids, setting, store)
        given = f"{setting.n} refs x {setting.steps} steps x {setting.queries} q/pt"
        add(setting.budget, setting.label, spent, given, run, time.perf_counter() - started)
    references: dict[int, ReferenceSet] = {}  # one object per count, so the shared cache below can hit
    for budget in peer_budgets:
        shared: SignatureCache = {}  # disagreement and softmax read the same outputs
        for method in PEERS:
            count = peer_references(method, budget, available)
            refs = references.setdefault(count, pool.head(count))
            started = time.perf_counter()
            run = peer_run(zoo, ids, method, refs, sources, shared)
            name = f"{METHODS[method].title} (B={budget})"
            add(budget, name, run.evaluations, peer_given(method, count), run, time.perf_counter() - started)
    rows.sort(key=lambda row: row[0])  # stable: within a budget, ModelGiF first, then the peers in PEERS' order
    categories = list(rows[0][4])
    header = ["method", "queries/model", "given", *categories, "time"]
    body = [
        [name, spent or "-", given, *(_auc(aucs[c]) for c in categories), f"{seconds:.0f}s"]
        for _, name, spent, given, aucs, seconds in rows
    ]
    title = [
        f"IPP ROC-AUC per category, built-in zoo, {len(ids)} models, sources {', '.join(sources)}",
        f"peers at B queries per model: B references (ModelDiff: B/2 pairs), capped at the {available} available; "
        "n/a: the method compares outputs class by class and transfer models have other classes",
        "time: wall seconds in this run (fields already in the store are only read; softmax distance reuses output "
        "disagreement's outputs)",
    ]
    return [*title, *table(header, body, max(len(r[0]) for r in body) + 2)]


# The verdict tables were measured with raw distances against the independents' (the audit's rule until it read
# relative distances by default); the budgets a verdict costs are compared within one rule, and this keeps the
# published tables reproducible.
CALIBRATION = "absolute"


def _auc(value: float) -> str:
    return "n/a" if value != value else f"{value:.3f}"


def verdicts(
    zoo: Zoo, methods: Sequence[str], references: ReferenceSet, config: FieldConfig, store: FieldStore | None
) -> dict[str, dict[str, str]]:
    """``method -> suspect -> verdict`` of one audit of :data:`SUSPECTS` against :data:`SOURCE`."""
    result = audit(
        zoo,
        SOURCE,
        list(SUSPECTS),
        None,
        list(methods),
        references,
        config,
        store,
        settings=ReadingSettings(calibration=CALIBRATION),
    )
    return {m: {s: result.row(s, m).verdict for s in SUSPECTS} for m in methods}


def audit_tables(zoo: Zoo, ladder: Sequence[int], store: FieldStore | None) -> list[str]:
    """Per suspect and method, the fewest queries per suspect at which the verdict equals the white-box one."""
    available = available_references()
    pool = pooled_references(available)
    base = pooled_references(AUDIT_N)
    models = list(audit_roles(zoo, SOURCE, SUSPECTS).models)  # the source, the suspects, the default independents
    started = time.perf_counter()
    white = verdicts(zoo, ("modelgif",), base, FieldSetting(AUDIT_N).config, store)["modelgif"]
    # N=128, S=10: the audit's own field settings
    default = audit(
        zoo, SOURCE, list(SUSPECTS), None, ["modelgif"], store=store, settings=ReadingSettings(calibration=CALIBRATION)
    )
    default_white = {s: default.row(s, "modelgif").verdict for s in SUSPECTS}
    print(f"  white-box verdicts ({time.perf_counter() - started:.0f} s): {white}", flush=True)
    # method -> [(queries per suspect, suspect -> verdict)], in increasing budget
    ladders: dict[str, list[tuple[int, dict[str, str]]]] = {m: [] for m in ("modelgif", *PEERS)}
    for queries in ladder:
        setting = FieldSetting(AUDIT_N, queries=queries)
        started = time.perf_counter()
        fields = store_fields(zoo, base, setting.config, models, store, progress=Progress(f"audit {setting.label}"))
        spent = max(field.queries or 0 for field in fields.values())
        found = verdicts(zoo, ("modelgif",), base, setting.config, store)["modelgif"]
        ladders["modelgif"].append((spent, found))
        print(f"  {setting.label} ({spent} q, {time.perf_counter() - started:.0f} s): {found}", flush=True)
        for method in PEERS:
            count = peer_references(method, setting.budget, available)
            spent = count * QUERIES_PER_REFERENCE[method]
            if ladders[method] and ladders[method][-1][0] == spent:  # capped: same references as the last rung
                continue
            found = verdicts(zoo, (method,), pool.head(count), setting.config, store)[method]
            ladders[method].append((spent, found))
            print(f"  {METHODS[method].title} at {count} refs ({spent} q): {found}", flush=True)
    return _decision_lines(ladders, white, default_white, available)


def _decision_lines(
    ladders: dict[str, list[tuple[int, dict[str, str]]]],
    white: dict[str, str],
    default_white: dict[str, str],
    available: int,
) -> list[str]:
    short = {"derived": "D", "independent": "I", "inconclusive": "?", "n/a": "-"}
    lines = [
        f"Audit of {SOURCE} (default independents, alpha 0.05): verdict per suspect by budget "
        "(D derived, I independent, ? inconclusive, - n/a)",
        f"white-box = ModelGiF autograd on the same {AUDIT_N} references, S={STEPS}; audit default = ModelGiF "
        "autograd N=128, S=10",
    ]
    header = ["suspect", "truth", "white-box", "audit default"]
    truth = {s: "independent" if s in ("src-res", "indep-cnn_deep-1") else "derived" for s in SUSPECTS}
    lines += table(header, [[s, truth[s], white[s], default_white[s]] for s in SUSPECTS], 20)
    for method, rungs in ladders.items():
        title = METHODS[method].title + (" query-only" if method == "modelgif" else "")
        lines += ["", f"{title}: queries per suspect -> verdicts ({' '.join(SUSPECTS)})"]
        lines += [f"  {spent:>6}  {' '.join(short[found[s]] for s in SUSPECTS)}" for spent, found in rungs]
    lines += [
        "",
        "Queries per suspect until its verdict equals the white-box verdict: first / stable (equal at every larger "
        f"budget of the ladder); 'never' = not at any budget tried (peers capped at {available} references)",
    ]
    header = ["suspect", "white-box", *(METHODS[m].title for m in ladders)]
    body = []
    for suspect in SUSPECTS:
        cells = []
        for rungs in ladders.values():
            equal = [found[suspect] == white[suspect] for _, found in rungs]
            first = next((spent for (spent, _), ok in zip(rungs, equal, strict=True) if ok), None)
            stable = next((rungs[i][0] for i in range(len(rungs)) if all(equal[i:])), None)
            cells.append("never" if first is None else f"{first} / {stable if stable is not None else 'never'}")
        body.append([suspect, white[suspect], *cells])
    return lines + table(header, body, 20)


def parse_settings(text: str) -> list[FieldSetting]:
    """``N:S:Q,N:S:Q`` -> field settings."""
    settings = []
    for item in text.split(","):
        n, steps, queries = (int(part) for part in item.split(":"))
        settings.append(FieldSetting(n, steps, queries))
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ipp",
        default="8:4:8,8:4:32,2:4:128,8:4:128,32:4:32",
        help="query-only ModelGiF settings N:S:Q for the IPP table",
    )
    parser.add_argument("--peer-budgets", default="265,1033,4105", help="queries per model for the IPP table's peers")
    parser.add_argument("--ladder", default="2,8,32,128,512", help="queries per path point of the audit's ladder")
    parser.add_argument("--skip-ipp", action="store_true")
    parser.add_argument("--skip-audit", action="store_true")
    parser.add_argument("--no-cache", action="store_true", help="compute every field (nothing read or stored)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    zoo = Zoo.open(BUILTIN)
    store = None if args.no_cache else FieldStore()
    started = time.perf_counter()
    lines: list[str] = []
    if not args.skip_ipp:
        print("IPP table", flush=True)
        lines += ipp_table(zoo, parse_settings(args.ipp), [int(b) for b in args.peer_budgets.split(",")], store)
    if not args.skip_audit:
        print("Audit ladder", flush=True)
        lines += ["", *audit_tables(zoo, [int(q) for q in args.ladder.split(",")], store)]
    lines += ["", f"total {time.perf_counter() - started:.0f} s"]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.out.with_suffix(".tmp")
    temporary.write_text(text)
    temporary.replace(args.out)


if __name__ == "__main__":
    main()
