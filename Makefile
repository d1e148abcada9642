# make synth: create .venv, install what synthesis needs (pinned), write generated/
# make test:  the whole suite: unit, terraform validate, policy (checkov, IAM lint), moto emulator,
#             in parallel (WORKERS pytest-xdist workers; WORKERS=0 runs it in one process)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# checkov pins clash with ours: it lives in its own virtualenv. parliament (the IAM policy lint)
# lives there too: its dependencies (boto3, jmespath, pyyaml, json-cfg) agree with checkov's pins.
CHECKOV_VENV ?= .venv-checkov
CHECKOV_VERSION := 3.3.30
PARLIAMENT_VERSION := 1.6.4
POLICY_TOOLS := CHECKOV=$(abspath $(CHECKOV_VENV))/bin/checkov PARLIAMENT=$(abspath $(CHECKOV_VENV))/bin/parliament
SLOW_TIERS := validate or policy or emulator
# pytest-xdist: each test class, and each module's plain test functions, runs whole and in order on
# one worker (loadscope), so a class-scoped fixture (an applied stack) is still set up once. conftest.py
# puts the emulator tier first, then validate and policy, and --no-loadscope-reorder keeps that order:
# the longest scopes start at once, the short ones fill in. The emulator tier mostly waits (the AWS
# provider polls moto for minutes), so the suite and that tier run more workers than the 2 cores;
# the CPU-bound tiers alone run one worker per core (-n auto).
WORKERS ?= 6
XDIST := --dist loadscope --no-loadscope-reorder

.PHONY: install synth test test-unit validate policy emulator bench docs fmt lint clean

# Two installs: what synthesis needs (make synth), and that plus the test tools (pytest,
# pytest-xdist, hypothesis, moto, ruff: the [dev] extra), which every other target installs by itself.
install: $(VENV)/.installed-synth

$(VENV)/.installed-synth: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed: $(VENV)/.installed-synth
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# One resolve for both pins; the Makefile holds them, so changing one reinstalls.
$(CHECKOV_VENV)/.installed: Makefile
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION) parliament==$(PARLIAMENT_VERSION)
	touch $@

synth: $(VENV)/.installed-synth
	$(PY) main.py synth

test: $(VENV)/.installed $(CHECKOV_VENV)/.installed
	$(POLICY_TOOLS) $(PY) -m pytest -n $(WORKERS) $(XDIST)

# The quick tier: unit, CLI and bad-input tests only.
test-unit: $(VENV)/.installed
	$(PY) -m pytest -n auto $(XDIST) -m "not ($(SLOW_TIERS))"

validate: $(VENV)/.installed
	$(PY) -m pytest -n auto $(XDIST) -m validate

policy: $(VENV)/.installed $(CHECKOV_VENV)/.installed
	$(POLICY_TOOLS) $(PY) -m pytest -n auto $(XDIST) -m policy

emulator: $(VENV)/.installed
	$(PY) -m pytest -n $(WORKERS) $(XDIST) -m emulator

bench: $(VENV)/.installed
	$(PY) tools/bench.py

# README.md's config reference (from the schema) and layout (from the package docstrings).
docs: $(VENV)/.installed
	$(PY) main.py docs

fmt: $(VENV)/.installed
	$(PY) -m ruff format main.py modules synth_tests tools

lint: $(VENV)/.installed
	$(PY) -m ruff check main.py modules synth_tests tools

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .pytest_cache
