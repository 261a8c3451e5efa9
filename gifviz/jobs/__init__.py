"""Jobs: fill the field store for a zoo, in this process or on a Ray cluster."""

from gifviz.jobs.runner import EXECUTORS, RunSummary, store_fields, zoo_distances

__all__ = ["EXECUTORS", "RunSummary", "store_fields", "zoo_distances"]
