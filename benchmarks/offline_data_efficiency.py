"""Offline data efficiency: CQL vs CQL-Prior final success over dataset sizes on a log scale.

    .venv/bin/python benchmarks/offline_data_efficiency.py --quick          # minutes
    .venv/bin/python benchmarks/offline_data_efficiency.py --json           # the full run, one JSON object

The same as `python -m sandbox bench offline`: the experiment lives in sandbox/results/ and
writes its CSV, markdown table and plot into docs/results/ (see --help for every option).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main(["bench", "offline", *sys.argv[1:]]))
