"""Agents: the LLM action prior, the Bayes posterior, and the learners (DQN, DQN-Prior, ...)."""
