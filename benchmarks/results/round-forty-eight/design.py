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
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import search  # noqa: E402  (this round's search.py)

# round forty-six's design.py, loaded by its path: it shares this file's name
_spec = importlib.util.spec_from_file_location("round_forty_six_design", HERE.parent / "round-forty-six" / "design.py")
round_forty_six = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(round_forty_six)

from gifviz.audit.names import ATTACK_EVIDENCE, ATTACK_GROUP_WEIGHTS  # noqa: E402

CANDIDATE = "by-attack-off-task-half"
LABEL_ONLY = list(ATTACK_EVIDENCE)[1]


def main(argv: Sequence[str] | None = None) -> int:
    fusion = search.label_weighted(ATTACK_GROUP_WEIGHTS[LABEL_ONLY])
    return round_forty_six.main(argv, CANDIDATE, fusion)


if __name__ == "__main__":
    raise SystemExit(main())
