# Both commands set the environment up first (idempotent; the first run on a
# machine compiles mmcv's ops, ~11 min, later runs reuse the cached wheel).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup test demo

setup:
	bash tools/setup_env.sh

test: setup
	$(PY) -m pytest

demo: setup
	@echo "The embedded design-space demo is not wired yet (issue: design-space studies)."; exit 2
