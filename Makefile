# The two commands a newcomer needs: `make tune` and `make test`. Both install first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
REQUIREMENTS := requirements/tensorflow.txt requirements/trainer.txt requirements/tools.txt requirements/dev.txt
STAMP := $(VENV)/.installed
# The offline profile: synthetic images, so `make tune` needs neither the network nor a dataset.
EXPERIMENT ?= horses-humans
TUNE_ARGS ?= --profile offline

.PHONY: install test test-fast lint tune bench clean

install: $(STAMP)

# Re-installs only when a requirements file changed; a finished install is a no-op.
$(STAMP): $(REQUIREMENTS) requirements/constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip==26.3
	$(PY) -m pip install --quiet --disable-pip-version-check \
		$(addprefix -r ,$(REQUIREMENTS)) -c requirements/constraints.txt
	touch $@

test: install
	$(PY) -m pytest

# Everything but the tests marked slow.
test-fast: install
	$(PY) -m pytest -m "not slow"

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

tune: install
	$(PY) -m scripts run $(EXPERIMENT) --backend local $(TUNE_ARGS) $(if $(SEED),--seed $(SEED))

bench: install
	$(PY) -m bench

clean:
	rm -rf .hpt .pytest_cache
