"""Ray executor: one Ray task per model; results come back through Ray's object store and the driver stores them.

Ray is optional (``pip install "ray[default]"``); the message says so when it is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from gifviz.errors import GifvizError
from gifviz.jobs.ray_tasks import FieldResult, FieldTask, run_field_task


def _ray():
    try:
        import ray
    except ImportError:
        raise GifvizError("the Ray executor needs Ray: pip install 'ray>=2.30' (or use --executor local)") from None
    return ray


def run_on_ray(
    tasks: Sequence[FieldTask],
    address: str | None = None,
    on_result: Callable[[FieldResult], None] | None = None,
    num_cpus: int | None = None,
) -> list[FieldResult]:
    """Run ``tasks`` as Ray tasks (``num_gpus=1`` each when the cluster has GPUs); results in completion order.

    ``address=None`` starts a local cluster (``num_cpus`` workers); otherwise connects to the given one.
    """
    ray = _ray()
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(
            address=address,
            num_cpus=num_cpus if address is None else None,
            include_dashboard=False,
            log_to_driver=False,
        )
    try:
        gpus = ray.cluster_resources().get("GPU", 0)
        remote = ray.remote(num_gpus=1 if gpus else 0, num_cpus=1)(_remote_task)
        pending = [remote.remote(task, "cuda" if gpus else None) for task in tasks]
        results = []
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            result = ray.get(done[0])
            if on_result is not None:
                on_result(result)
            results.append(result)
        return results
    finally:
        if started_here:
            ray.shutdown()


def _remote_task(task: FieldTask, device: str | None) -> FieldResult:
    import torch

    torch.set_num_threads(1)  # one task per core
    return run_field_task(task, device)
