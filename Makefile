# Two commands do all set-up on a fresh machine: `make play` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# llama-cpp-python builds from source (pip caches the wheel afterwards) without the two llama.cpp
# libraries the project never loads: multimodal (mtmd) and common (cmake/llama-cpp-python-minimal.cmake).
# CMAKE_ARGS from the environment (e.g. -DGGML_CUDA=on) come after, so they still apply.
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
override CMAKE_ARGS := -DLLAVA_BUILD=OFF -DCMAKE_PROJECT_llama.cpp_INCLUDE=$(CURDIR)/cmake/llama-cpp-python-minimal.cmake $(CMAKE_ARGS)
export CMAKE_ARGS

.PHONY: play test install benchmarks docs docs-serve clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,bench,scale,docs]"
	touch $(STAMP)

install: $(STAMP)

play: $(STAMP)
	$(PY) -m sandbox play

# lint-imports: the layering contracts of pyproject.toml ([tool.importlinter]), deferred imports included.
# make docs before the suite: the site takes seconds, and pytest's summary stays the last line.
test: $(STAMP)
	$(VENV)/bin/lint-imports
	$(MAKE) --no-print-directory docs
	$(PY) -m pytest -q

# The documentation site (mkdocs.yml, docs/): --strict turns every warning (a broken link, a page
# left out of the nav, a bad reference) into a failure. Offline: no fonts or scripts are fetched.
export NO_MKDOCS_2_WARNING := 1
docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict --site-dir site

docs-serve: $(STAMP)
	$(VENV)/bin/mkdocs serve --strict

benchmarks: $(STAMP)
	$(PY) benchmarks/env_throughput.py
	$(PY) benchmarks/prior_throughput.py

clean:
	rm -rf $(VENV) .pytest_cache site
