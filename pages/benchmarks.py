"""Benchmarks: the IPP, task-relatedness and unlearning testbeds, ModelGiF and its peers side by side."""

import streamlit as st

from gifviz.app import resources
from gifviz.app.benchmarks import (
    detail_methods,
    result_key,
    roc_categories,
    run_plan,
    run_testbed,
    stored_result,
    stress_audit_command,
    stress_audit_table,
    task_tree,
    unlearning_stress_table,
)
from gifviz.bench.costs import QUICK_METHODS, cost_caption, expensive
from gifviz.bench.report import headline, summary, sweep_metric
from gifviz.bench.suite import METHODS, TESTBEDS
from gifviz.errors import GifvizError
from gifviz.figures.bench import affinity_figure, roc_figure, sweep_figure, unlearning_figure

LABELS = {"ipp": "IP protection", "tasks": "Task relatedness", "unlearning": "Unlearning verification"}

current = resources.settings()
st.title("Benchmarks")
if (stress := stress_audit_table()) is not None:
    with st.expander("gifviz audit on zoos it was not tuned on (seeded stress zoos, leave-one-zoo-out)"):
        st.table(stress)
        command = stress_audit_command() or "benchmarks/audit_selection.py"
        st.caption(f"From `{command}` on zoos built with `gifviz zoo stress --seed N` (README: the audit).")
if (unlearning := unlearning_stress_table()) is not None:
    with st.expander("gifviz verify-unlearning on zoos it was not tuned on (seeded unlearning zoos)"):
        st.table(unlearning)
        st.caption(
            "Truth: an unlearned copy of the original is close to it; a retrained model and an unrelated one are "
            "like retraining. From `benchmarks/unlearning_rules.py` on zoos built with `gifviz zoo stress --family "
            "unlearning --seed N` (README: the unlearning check)."
        )
st.caption(
    "The paper's three testbeds on the zoo's annotated families. Every method sees the same models and the "
    "same references; cells show the value and its 95% bootstrap interval over references."
)
columns = st.columns([2, 3, 1, 1])
testbed = columns[0].selectbox("Testbed", TESTBEDS, format_func=LABELS.get)
methods = tuple(
    columns[1].multiselect(
        "Methods",
        METHODS,
        default=list(QUICK_METHODS),
        help="The default methods answer within a minute; the others cost more "
        "(their estimate shows below before anything runs).",
    )
)
n_refs = columns[2].number_input("References N", 8, 256, 32, step=8)
resamples = columns[3].number_input("Bootstrap", 0, 1000, 100, step=50)
key = result_key(current, testbed, methods, int(n_refs), int(resamples))
result = stored_result(key)
try:
    costs = run_plan(current, testbed, methods, int(n_refs))
    problem = ""
except GifvizError as error:  # the zoo lacks what this testbed needs: say what, before anything runs
    costs, problem = [], str(error)
if problem:
    st.error(problem)
elif costs:  # the estimate comes before the button, so an expensive choice is seen before it is run
    st.caption(cost_caption(costs))
    if warning := expensive(costs):
        st.warning(warning)
# Left enabled when the zoo lacks a testbed's annotations: pressing it only repeats what is missing.
pressed = st.button("Run testbed", type="primary", disabled=not methods)
if problem:
    st.stop()
if pressed:
    try:
        result = run_testbed(current, testbed, methods, int(n_refs), int(resamples))
    except GifvizError as error:
        st.error(str(error))
        st.stop()
if result is None:
    st.info(
        f"Press **Run testbed**: {len(methods)} methods on N = {int(n_refs)} references, S = {current.steps} "
        "steps for ModelGiF. Fields come from the store when they are cached."
    )
    st.stop()

st.caption(headline(result))
st.dataframe(summary(result, intervals=int(resamples) > 0), width="stretch")
st.caption("n/a: the method compares outputs class by class and cannot compare models with different classes.")
if testbed == "ipp":
    categories, default = roc_categories(result)
    category = st.selectbox("ROC curves for", categories, index=default)
    st.plotly_chart(roc_figure(result.details, category), width="stretch", key="roc")
elif testbed == "tasks":
    shown = st.selectbox("Affinity of", detail_methods(result))
    left, right = st.columns([3, 2])
    left.plotly_chart(affinity_figure(result.details, shown), width="stretch", key="affinity")
    tree = task_tree(result.details, shown)
    if tree is None:
        right.info(f"{shown} cannot compare models with different classes: no similarity tree.")
    else:
        right.plotly_chart(tree, width="stretch", key="task_tree")
else:
    st.plotly_chart(unlearning_figure(result.details), width="stretch", key="unlearning")
    st.dataframe(result.details, hide_index=True, width="stretch")
metric = sweep_metric(result)
if metric is None:
    st.info("No reference-count sweep: no method could run on these models (the table's notes say why).")
else:
    st.plotly_chart(sweep_figure(result.sweep, metric), width="stretch", key="sweep")
frames = {"results": result.table, "sweep": result.sweep, "details": result.details}
for column, (label, frame) in zip(st.columns(3), frames.items(), strict=True):
    column.download_button(
        f"Download {label} (CSV)",
        frame.to_csv(index=False),
        file_name=f"gifviz-{testbed}-{label}.csv",
        mime="text/csv",
        key=f"download_{label}",
    )
