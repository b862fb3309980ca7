"""The app: session engine, headless runner, Textual UI and the `python -m sandbox` CLI."""

import sandbox.prior_service  # noqa: F401  registers the prior-server and OpenAI-engine clients with build_prior
