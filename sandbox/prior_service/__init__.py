"""The prior as a service: the prior server (HTTP), its client, the OpenAI-compatible engine client,
their wire protocol and the outage handling they share.

The agents know none of it (they take any `ActionPrior`); importing this package registers the two
clients with `agents.prior.build_prior`, so a `PriorConfig.server` address builds the right one
wherever a prior is built from a config (agents, the UI, headless runs). `sandbox/__init__.py`
imports it, so every use of the sandbox has them.
"""

from agents.prior.priors import register_server_prior
from sandbox.prior_service.openai_backend import OpenAIPrior, is_openai_server
from sandbox.prior_service.remote import RemotePrior

# Order matters: an "openai+http://" address is the engine's, any other the prior server's.
register_server_prior("openai", is_openai_server, lambda config, run_seed: OpenAIPrior(config, run_seed=run_seed))
register_server_prior("prior-server", lambda url: True, lambda config, run_seed: RemotePrior(config, run_seed=run_seed))

__all__ = ["OpenAIPrior", "RemotePrior"]
