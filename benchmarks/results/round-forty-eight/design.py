"""Round forty-eight's candidate (DECLARED.md): ``by-attack-off-task-half`` against the shipped ``by-attack``, read
from the per-method evidence the report sets hold, without running a model.

``by-attack-off-task-half`` (:func:`gifviz.audit.fusion.by_attack_off_task_half`) is ``by-attack`` with the
label-only hypothesis as Stouffer's weighted z under the library's own weights
(:data:`gifviz.audit.names.ATTACK_GROUP_WEIGHTS`: off-task at half weight). The table and its checks are round
forty-six's (``round-forty-six/design.py``): the shipped audit's every score and verdict reproduced, and where a set's
``verdicts_by_model.csv`` holds the audit's own verdicts of the candidate, the same ones.

    python benchmarks/results/round-forty-eight/design.py 419-426 427-434
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent


def _load(name: str, path: Path) -> ModuleType:
    """A round's script loaded by its path under ``name``: rounds forty-six and forty-eight each have a design.py and a
    search.py, and a bare import would take whichever is first on the path or already imported."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


round_forty_six = _load("round_forty_six_design", HERE.parent / "round-forty-six" / "design.py")
search = _load("round_forty_eight_search", HERE / "search.py")

CANDIDATE = "by-attack-off-task-half"


def main(argv: Sequence[str] | None = None) -> int:
    return round_forty_six.main(argv, CANDIDATE, search.library_candidate(), description=__doc__.split("\n\n")[0])


if __name__ == "__main__":
    raise SystemExit(main())
