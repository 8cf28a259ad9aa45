# The two commands a newcomer needs: `make tune` and `make test`. Both install first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
REQUIREMENTS := requirements/tensorflow.txt requirements/trainer.txt requirements/tools.txt requirements/dev.txt
STAMP := $(VENV)/.installed
# The workflow jobs that never train (plan, submit, report, /hpt commands, image builds) install
# only what they import: no TensorFlow (docs/setup.md has the sizes). --no-compile: Python
# compiles only the modules a command imports, on first use (the cache keeps them), not the
# thousands of generated Vertex AI modules it never loads.
AUTOMATION := requirements/automation.txt
AUTOMATION_NO_DEPS := requirements/automation-no-deps.txt
AUTOMATION_STAMP := $(VENV)/.installed-automation
# A stamp holds the hash of the files it was installed from: a checkout gives the files new
# mtimes (so make runs the recipe), but an unchanged content installs nothing.
hash_of = $$(cat $(1) | sha256sum | cut -d' ' -f1)
# The offline profile: synthetic images, so `make tune` needs neither the network nor a dataset.
# PROFILE=NAME tunes with another profile of experiments.yaml, PROFILE= with none (the
# experiment as written); TUNE_ARGS only adds flags (`make tune TUNE_ARGS=--force` stays offline).
EXPERIMENT ?= horses-humans
PROFILE ?= offline
TUNE_ARGS ?=

.PHONY: install install-automation test test-fast lint tune bench clean

install: $(STAMP)

install-automation: $(AUTOMATION_STAMP)

# Re-installs only when a requirements file's content changed; a finished install is a no-op.
$(STAMP): $(REQUIREMENTS) requirements/constraints.txt
	@if [ -x $(PY) ] && [ "$$(cat $@ 2>/dev/null)" = "$(call hash_of,$^)" ]; then touch $@; else \
		set -e; test -x $(PY) || $(PYTHON) -m venv $(VENV); \
		$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip==26.3; \
		$(PY) -m pip install --quiet --disable-pip-version-check \
			$(addprefix -r ,$(REQUIREMENTS)) -c requirements/constraints.txt; \
		echo "$(call hash_of,$^)" > $@; fi

$(AUTOMATION_STAMP): $(AUTOMATION) $(AUTOMATION_NO_DEPS) requirements/constraints.txt
	@if [ -x $(PY) ] && [ "$$(cat $@ 2>/dev/null)" = "$(call hash_of,$^)" ]; then touch $@; else \
		set -e; test -x $(PY) || $(PYTHON) -m venv $(VENV); \
		$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip==26.3; \
		$(PY) -m pip install --quiet --disable-pip-version-check --no-compile \
			-r $(AUTOMATION) -c requirements/constraints.txt; \
		$(PY) -m pip install --quiet --disable-pip-version-check --no-compile --no-deps \
			-r $(AUTOMATION_NO_DEPS) -c requirements/constraints.txt; \
		echo "$(call hash_of,$^)" > $@; fi

# The whole suite, one worker per core (pytest-xdist): each test is independent of the others.
test: install
	$(PY) -m pytest -n auto

# Everything but the tests marked slow.
test-fast: install
	$(PY) -m pytest -n auto -m "not slow"

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# Ends with the comparison of the job it ran against the newest succeeded local job of the same
# experiment at another commit (`no baseline` when there is none): did the change help? The run's
# table stays on stderr; its stdout (the job as JSON) only names the job for compare.
tune: install
	@set -e; job_json=$$(mktemp); trap 'rm -f "$$job_json"' EXIT; \
	$(PY) -m scripts run $(EXPERIMENT) --backend local $(if $(PROFILE),--profile $(PROFILE)) $(TUNE_ARGS) $(if $(SEED),--seed $(SEED)) --json > "$$job_json"; \
	echo; $(PY) -m scripts compare "$$($(PY) -c 'import json, sys; print(json.load(open(sys.argv[1]))["name"])' "$$job_json")" --backend local

bench: install
	$(PY) -m bench

clean:
	rm -rf .hpt .pytest_cache
