"""Asks a store for one field whose computation is slow and leaves a mark each time it really computes."""

import sys
import time
from pathlib import Path

import torch

from gifviz import FieldConfig, compute_field
from gifviz.store import FieldStore

home, marks, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
inputs = torch.rand(4, 1, 4, 4, generator=torch.Generator().manual_seed(0))


def compute():
    with marks.open("a") as handle:
        handle.write("computed\n")
    time.sleep(1.5)  # long enough for the other process to arrive while this one computes
    return compute_field(model, inputs, FieldConfig(steps=3), model_id="m")


field = FieldStore(home).get_or_compute("k" * 64, compute, model_digest="d", refs_digest="r")
torch.save(field.values, out)
