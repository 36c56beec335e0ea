# The two commands of the README:
#   make demo   fresh machine -> install -> train and predict on the embedded defaults
#   make test   fresh machine -> install -> the test suite (what .ci/run calls)
#
# torch/torchaudio: the package's own requirements are loose; here we pin a pair that installs and
# imports together (torchaudio from the registry is a CUDA build and needs a CUDA build of torch,
# which runs fine on a CPU-only machine). --no-cache-dir: the CUDA wheels are ~5 GB; a second copy in
# pip's cache would double the disk a fresh install needs.
PY      ?= python3
VENV    ?= .venv
TORCH   ?= torch==2.14.1 torchaudio==2.11.0
PYTEST_ARGS ?= -m "not slow"

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install --no-cache-dir $(TORCH) -e ".[test]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/go-cnn demo --out runs/demo-go
	$(VENV)/bin/speech-cnn demo --out runs/demo-speech

test: install
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

test-all: install
	$(VENV)/bin/python -m pytest -m ""

.PHONY: install demo test test-all
