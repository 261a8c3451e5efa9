"""Jobs: fill the field store for a zoo, in this process or on a Ray cluster; exact or sketched distances."""

from gifviz.jobs.runner import EXECUTORS, RunSummary, store_fields, zoo_distances
from gifviz.jobs.sketches import zoo_sketch_distances

__all__ = ["EXECUTORS", "RunSummary", "store_fields", "zoo_distances", "zoo_sketch_distances"]
