"""Query-only models: a network that answers outputs and nothing else, like a prediction API.

``access = "query"`` on a manifest entry wraps its loaded network in :class:`QueryOnlyModel`. The wrapper runs the
network without autograd on a detached copy of its input, and its parameters no longer require gradients, so no
gradient can reach them or the input: a field of it must be estimated from its outputs
(``gradient="zeroth-order"``), and the field engine refuses an autograd field of any module whose ``query_only``
attribute is true (an ``api:`` model is one too). It lets the cost of query-only access be measured on zoos whose
lineage is known.
"""

from __future__ import annotations

import torch
from torch import nn

ACCESS_MODES = ("weights", "query")


class QueryOnlyModel(nn.Module):
    """``(B, ...)`` inputs -> the wrapped network's outputs ``(B, ...)``, detached; no gradient is ever taken.

    The network stays a registered submodule so that its weights keep their digest and the engine can move it to the
    compute device; its parameters are frozen (``requires_grad = False``) so that even a caller who reached them
    directly would get no gradient.
    """

    query_only = True

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        for parameter in network.parameters():
            parameter.requires_grad_(False)
        self.network = network

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.network(x.detach()).detach()


def is_query_only(module: nn.Module) -> bool:
    """Whether ``module`` answers queries only (its gradients cannot be taken)."""
    return bool(getattr(module, "query_only", False))
