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

.PHONY: play test install benchmarks clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,bench,scale]"
	touch $(STAMP)

install: $(STAMP)

play: $(STAMP)
	$(PY) -m sandbox play

# lint-imports: the layering contracts of pyproject.toml ([tool.importlinter]), deferred imports included.
test: $(STAMP)
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q

benchmarks: $(STAMP)
	$(PY) benchmarks/env_throughput.py
	$(PY) benchmarks/prior_throughput.py

clean:
	rm -rf $(VENV) .pytest_cache
