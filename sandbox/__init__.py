"""The app: session engine, headless runner, Textual UI and the `python -m sandbox` CLI."""
