"""Ablations of DQN-Prior: k, α, prior mode (score vs sample) and prior floor ε, one at a time.

    .venv/bin/python benchmarks/ablation.py --quick                                    # minutes
    .venv/bin/python benchmarks/ablation.py --keep-runs saves/bench/ablation            # resumable full run
    .venv/bin/python benchmarks/ablation.py --env overcooked-tomato --factors floor     # one factor, another env

The same as `python -m sandbox bench ablation`: the experiment lives in sandbox/results/ and writes
its CSV, markdown table and plot into docs/results/ (see --help for every option).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main(["bench", "ablation", *sys.argv[1:]]))
