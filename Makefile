# refarch.containers — the two commands are `make demo` and `make test`.
# Both start with `make setup`, which installs everything they need from the
# project's own files: Debian packages, a Python virtualenv, the OPA and Regal
# binaries (go install, pinned) and the collection link.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

REPO        := $(abspath .)
VENV        := $(REPO)/.venv
PY          := $(VENV)/bin/python
TOOLS       := $(REPO)/.tools
export PATH := $(VENV)/bin:$(TOOLS)/bin:$(PATH):$(HOME)/.cargo/bin
export OPA  := $(TOOLS)/bin/opa
export REGAL := $(TOOLS)/bin/regal
export ANSIBLE_CONFIG := $(REPO)/ansible.cfg

OPA_VERSION   := v1.22.3
REGAL_VERSION := v0.35.1
PYTEST_ARGS   ?=
DEMO_DIR      ?= $(REPO)/build/demo-report

.PHONY: help setup setup-debian setup-python setup-tools setup-native setup-collection demo test lint \
        unit policy-test integration sanity hostile faults fuzz bench docs build clean

help:
	@echo "make demo   set up, then scan the bundled example estate and print the report"
	@echo "make test   set up, then run every test (lint, unit, policy, integration, sanity)"
	@echo "make bench  run the benchmarks (ratios against named peers)"
	@echo "make fuzz   run the parser fuzzer for longer than make test does"

## ---------------------------------------------------------------- setup
setup: setup-debian setup-python setup-tools setup-native setup-collection

setup-debian:
	@bash tools/setup-debian.sh

setup-python: $(VENV)/.stamp
$(VENV)/.stamp: requirements-dev.txt requirements.txt
	python3.11 -m venv $(VENV) 2>/dev/null || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# Each stamp is written only after its tool was built and ran; an interrupted run is redone.
# `sed -n 1p` (not `head -1`) prints the first line: it reads all the output, so the tool never
# gets SIGPIPE, which `-o pipefail` would turn into a failed step at random (Error 141).
setup-tools: $(TOOLS)/bin/opa.$(OPA_VERSION) $(TOOLS)/bin/regal.$(REGAL_VERSION)
$(TOOLS)/bin/opa.$(OPA_VERSION):
	@command -v go >/dev/null || { echo "make setup: go (a Go toolchain) is needed to build OPA $(OPA_VERSION) and Regal $(REGAL_VERSION)" >&2; exit 1; }
	mkdir -p $(TOOLS)/bin
	GOBIN=$(TOOLS)/bin GOFLAGS=-mod=mod go install github.com/open-policy-agent/opa@$(OPA_VERSION)
	$(TOOLS)/bin/opa version | sed -n 1p
	touch $@
# The module proxy here refuses Regal's version list, so `go install ...@version` fails;
# resolving the exact version inside a scratch module works.
$(TOOLS)/bin/regal.$(REGAL_VERSION):
	mkdir -p $(TOOLS)/bin $(TOOLS)/src/regal
	cd $(TOOLS)/src/regal && { [ -f go.mod ] || go mod init refarch-tools-regal >/dev/null 2>&1; } \
	  && go get github.com/styrainc/regal@$(REGAL_VERSION) \
	  && go build -o $(TOOLS)/bin/regal github.com/styrainc/regal
	$(TOOLS)/bin/regal version | sed -n 1p
	touch $@

# The embedded engine's fast backend: a PyO3 binding over regorus (crates.io), built with
# maturin by pip. Crate versions are pinned in Cargo.lock; the build directory is cached.
NATIVE := native/refarch_regorus
setup-native: $(VENV)/.stamp-regorus
$(VENV)/.stamp-regorus: $(VENV)/.stamp $(NATIVE)/Cargo.toml $(NATIVE)/Cargo.lock $(NATIVE)/pyproject.toml $(NATIVE)/src/lib.rs
	@command -v cargo >/dev/null || { echo "make setup: cargo (a Rust toolchain, e.g. from rustup) is needed to build $(NATIVE)" >&2; exit 1; }
	CARGO_TARGET_DIR=$(TOOLS)/cache/cargo-target $(PY) -m pip install --quiet --disable-pip-version-check ./$(NATIVE)
	$(PY) -c "import refarch_regorus; print('refarch_regorus', refarch_regorus.regorus_version())"
	touch $@

setup-collection: setup-python
	mkdir -p $(VENV)/collections/ansible_collections/refarch
	ln -sfn $(REPO) $(VENV)/collections/ansible_collections/refarch/containers

## ---------------------------------------------------------------- the main job
demo: setup
	@bash tools/demo.sh "$(DEMO_DIR)"

## ---------------------------------------------------------------- tests
test: setup
	@bash tools/run-tests.sh $(PYTEST_ARGS)

lint: setup
	@bash tools/run-tests.sh --only lint

unit: setup
	$(PY) -m pytest tests/unit tests/policy $(PYTEST_ARGS)

integration: setup
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

sanity: setup
	@bash tools/sanity.sh

fuzz: setup
	REFARCH_FUZZ_EXAMPLES=$${REFARCH_FUZZ_EXAMPLES:-200000} $(PY) -m pytest tests/hostile -k fuzz $(PYTEST_ARGS)

bench: setup
	@bash bench/run-all.sh

docs: setup
	$(PY) tools/gen_rule_catalog.py
	$(PY) tools/gen_rule_docs.py
	$(PY) tools/gen_role_docs.py
	$(PY) tools/gen_module_table.py

# What a user installs (README, "Install"): the collection tarball and the wheel of the regorus
# binding (PyO3 stable ABI: one wheel for every Python >= 3.9 on the platform, tagged for the glibc
# it needs, so the execution environment installs it with no Rust toolchain). DIST=<dir> to build
# elsewhere; the old artefacts of this collection in it are replaced.
DIST ?= $(REPO)/dist
WHEEL_COMPAT ?= manylinux_2_34
build: setup
	mkdir -p $(DIST)
	rm -f $(DIST)/refarch-containers-*.tar.gz $(DIST)/refarch_regorus-*.whl
	$(VENV)/bin/ansible-galaxy collection build --force --output-path $(DIST) .
	CARGO_TARGET_DIR=$(TOOLS)/cache/cargo-target MATURIN_PEP517_ARGS="--compatibility $(WHEEL_COMPAT)" \
	  $(PY) -m pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir $(DIST) ./$(NATIVE)
	@ls -l $(DIST)/refarch-containers-*.tar.gz $(DIST)/refarch_regorus-*.whl

clean:
	rm -rf build dist tests/output .pytest_cache .ruff_cache
