"""Features built on the engine: what-if branches, prompt hot-editing, offline datasets, sweeps and the
few-shot lever's worked examples.

Each drives `sandbox.engine`; none knows the UI, the commands or the experiments (import-linter holds that).
"""
