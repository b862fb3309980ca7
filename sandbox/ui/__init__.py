"""The Textual UI: watch, steer and teach an LLM-prior agent on a text game.

`engine.SessionController` is the UI's only handle on the session engine; widgets
render what it returns (via the typed messages in `messages`), screens hold modal views
(help, pickers, replay, lessons). Nothing here acts, learns or does Bayes rule itself.
"""
