"""Integration rules along the path: captum's nodes ``a_k`` and weights ``w_k`` (``gausslegendre``, Riemann variants).

captum is imported on first use, not at the top: importing it costs seconds (it pulls in its whole attribution API),
and a run served from the field store never needs it.
"""

from __future__ import annotations

import functools

import torch


def integration_rule(rule: str, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Captum's nodes ``a_k`` and weights ``w_k`` for ``rule``, each ``(S,)`` float64, nodes ascending."""
    nodes, weights = _cached_rule(rule, steps)
    return nodes.clone(), weights.clone()


@functools.lru_cache(maxsize=64)
def _cached_rule(rule: str, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    # Gauss-Legendre nodes come from an eigenvalue problem: about 1 ms, a tenth of a small model's whole field.
    from captum.attr._utils.approximation_methods import approximation_parameters

    step_sizes, alphas = approximation_parameters(rule)
    nodes = torch.tensor(alphas(steps), dtype=torch.float64)
    weights = torch.tensor(step_sizes(steps), dtype=torch.float64)
    order = torch.argsort(nodes)
    return nodes[order], weights[order]
