"""The experiments behind the documentation's results (docs/results/), as importable modules.

`python -m sandbox bench NAME` and the scripts in `benchmarks/` both run them. Each module
offers `HELP`, `add_arguments(parser)` and `run(args) -> dict` (the report: settings,
summary rows, per-run rows and the files written into `docs/results/`).
"""

from __future__ import annotations

EXPERIMENTS = {
    "sample-efficiency": "sandbox.results.sample_efficiency",
    "offline": "sandbox.results.offline",
    "prior": "sandbox.results.prior",
    "prior-quality": "sandbox.results.prior_quality",
    "generalisation": "sandbox.results.generalisation",
    "ablation": "sandbox.results.ablation",
    "prior-strength": "sandbox.results.prior_strength",
    "alfworld": "sandbox.results.alfworld",
}
