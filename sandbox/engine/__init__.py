"""The engine: a session (env + agent, stepped), headless training and evaluation over it, run folders,
the run config, metrics, replays and atomic storage.

The UI, the commands, the experiments (`sandbox.results`) and the features (`sandbox.features`) drive it;
it imports none of them (import-linter holds that).
"""
