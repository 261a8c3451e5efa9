"""Benchmarks: the IPP, task-relatedness and unlearning testbeds, ModelGiF and its peers side by side."""

import numpy as np
import streamlit as st

from gifviz.analysis.clustering import cluster
from gifviz.app import resources
from gifviz.app.benchmarks import result_key, run_plan, run_testbed, stored_result
from gifviz.bench.ipp import CATEGORIES
from gifviz.bench.methods import QUICK_METHODS, cost_caption, expensive
from gifviz.bench.report import headline, summary, sweep_metric
from gifviz.bench.suite import METHODS, TESTBEDS
from gifviz.bench.tasks import task_distance_matrix
from gifviz.errors import GifvizError
from gifviz.figures.bench import affinity_figure, roc_figure, sweep_figure, unlearning_figure
from gifviz.figures.space import dendrogram_figure

LABELS = {"ipp": "IP protection", "tasks": "Task relatedness", "unlearning": "Unlearning verification"}

current = resources.settings()
st.title("Benchmarks")
st.caption("The paper's three testbeds on the zoo's annotated families. Every method sees the same models and the "
           "same references; cells show the value and its 95% bootstrap interval over references.")  # fmt: skip
columns = st.columns([2, 3, 1, 1])
testbed = columns[0].selectbox("Testbed", TESTBEDS, format_func=LABELS.get)
methods = tuple(columns[1].multiselect("Methods", METHODS, default=list(QUICK_METHODS),
                                       help="The default methods answer within a minute; the others cost more "
                                            "(their estimate shows below before anything runs)."))  # fmt: skip
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
    st.info(f"Press **Run testbed**: {len(methods)} methods on N = {int(n_refs)} references, S = {current.steps} "
            "steps for ModelGiF. Fields come from the store when they are cached.")  # fmt: skip
    st.stop()

st.caption(headline(result))
table = summary(result, intervals=int(resamples) > 0)
st.dataframe(table, width="stretch")
st.caption("n/a: the method compares outputs class by class and cannot compare models with different classes.")
if testbed == "ipp":
    categories = [c for c in CATEGORIES if c in set(result.details["category"])]  # a user's zoo may lack attacks
    default = categories.index("extract-prob") if "extract-prob" in categories else 0
    category = st.selectbox("ROC curves for", categories, index=default)
    st.plotly_chart(roc_figure(result.details, category), width="stretch", key="roc")
elif testbed == "tasks":
    shown = st.selectbox("Affinity of", list(dict.fromkeys(result.details["method"])))
    left, right = st.columns([3, 2])
    left.plotly_chart(affinity_figure(result.details, shown), width="stretch", key="affinity")
    task_matrix = task_distance_matrix(result.details, shown)
    if np.isfinite(task_matrix.values).all():
        tree = dendrogram_figure(cluster(task_matrix, "average"))
        tree.update_layout(title=f"{shown}: similarity tree of the tasks", height=420)
        right.plotly_chart(tree, width="stretch", key="task_tree")
    else:
        right.info(f"{shown} cannot compare models with different classes: no similarity tree.")
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
    column.download_button(f"Download {label} (CSV)", frame.to_csv(index=False),
                           file_name=f"gifviz-{testbed}-{label}.csv", mime="text/csv",
                           key=f"download_{label}")  # fmt: skip
