"""Prior cost: ms per prior query (naive, KV reuse, warm prefix, cached, llama.cpp's limit) and the cache hit rate.

    .venv/bin/python benchmarks/prior_throughput.py --quick          # minutes
    .venv/bin/python benchmarks/prior_throughput.py --json           # the full run, one JSON object

The same as `python -m sandbox bench prior`: the experiment lives in sandbox/results/ and
writes its CSV, markdown table and plot into docs/results/ (see --help for every option).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main(["bench", "prior", *sys.argv[1:]]))
