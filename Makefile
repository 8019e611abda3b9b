# Both commands set the environment up first (idempotent; the first run on a
# machine compiles mmcv's ops, ~11 min, later runs reuse the cached wheel).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup test demo

setup:
	bash tools/setup_env.sh

test: setup
	$(PY) -m pytest

# The embedded design-space study: RegNetX vs AnyNetX_A on scikit-learn's digits,
# trained for real with MMPretrain's Runner (~5 min on 2 cores); reruns resume.
demo: setup
	$(PY) tools/sample_space.py configs/studies/demo_digits.py run --work-dir work_dirs/demo_digits
