"""Testbed runs for the Benchmarks page: computed on request with progress, kept for the session."""

from __future__ import annotations

import streamlit as st

from gifviz.app.resources import StreamlitProgress, open_store, open_zoo
from gifviz.app.settings import AppSettings
from gifviz.bench.suite import RUNNERS, BenchConfig, BenchResult, bench_inputs


def result_key(current: AppSettings, testbed: str, methods: tuple[str, ...], n_refs: int, resamples: int) -> str:
    """What decides a testbed result: the zoo, the field configuration and the run's options."""
    return "|".join([current.manifest, current.field_config().to_json(for_key=True), testbed, ",".join(methods),
                     str(n_refs), str(resamples)])  # fmt: skip


def stored_result(key: str) -> BenchResult | None:
    return st.session_state.get("bench_results", {}).get(key)


def run_testbed(
    current: AppSettings, testbed: str, methods: tuple[str, ...], n_refs: int, resamples: int
) -> BenchResult:
    """Run one testbed (fields from the store when cached) and keep the result for this session."""
    zoo = open_zoo(current.manifest)
    sweep = tuple(n for n in BenchConfig().sweep if n <= n_refs)
    config = BenchConfig(field=current.field_config(), methods=methods, n_refs=n_refs, sweep=sweep,
                         resamples=resamples)  # fmt: skip
    inputs = bench_inputs(zoo, config, open_store(current.cache_dir))
    progress = StreamlitProgress(len(zoo.ids))
    result = RUNNERS[testbed](inputs, config, progress)
    progress.bar.empty()
    st.session_state.setdefault("bench_results", {})[result_key(current, testbed, methods, n_refs, resamples)] = result
    return result
