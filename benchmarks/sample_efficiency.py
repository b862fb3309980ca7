"""Sample efficiency: env steps to 90% of the best final success, per env family and agent.

    .venv/bin/python benchmarks/sample_efficiency.py --quick          # minutes
    .venv/bin/python benchmarks/sample_efficiency.py --json           # the full run, one JSON object

The same as `python -m sandbox bench sample-efficiency`: the experiment lives in sandbox/results/ and
writes its CSV, markdown table and plot into docs/results/ (see --help for every option).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main(["bench", "sample-efficiency", *sys.argv[1:]]))
