"""Prior strength: sample efficiency of DQN-Prior and PPO-Prior along the oracle prior's skill dial.

    .venv/bin/python benchmarks/prior_strength.py --quick                                              # minutes
    .venv/bin/python benchmarks/prior_strength.py --keep-runs saves/bench/prior-strength                # resumable full run
    .venv/bin/python benchmarks/prior_strength.py --kept-only --keep-runs saves/bench/prior-strength    # the report so far

The same as `python -m sandbox bench prior-strength`: the experiment lives in sandbox/results/ and
writes its CSV, markdown table and plot into docs/results/ (see --help for every option).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main(["bench", "prior-strength", *sys.argv[1:]]))
