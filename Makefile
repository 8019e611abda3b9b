# Both commands set the environment up first (idempotent; the first run on a
# machine compiles mmcv's ops, ~11 min, later runs reuse the cached wheel).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup test demo lint

setup:
	bash tools/setup_env.sh

test: setup
	$(PY) -m pytest

# Lint (ruff.toml: pyflakes + pycodestyle at 100 columns); ruff from the venv when
# installed there (pip install ruff, or the setup.cfg 'lint' extra), else from PATH.
RUFF ?= $(shell [ -x $(VENV)/bin/ruff ] && echo $(VENV)/bin/ruff || echo ruff)
lint:
	$(RUFF) check .

# The embedded design-space study: the paper's refinement chain AnyNetX_A -> C -> E ->
# RegNetX, 48 models per space (192), on scikit-learn's digits (decoded once, in memory),
# each trained for real with MMPretrain's Runner in a forked worker process; the report
# (work_dirs/demo_digits_refinement/analysis/report.md) says whether the paper's
# ordering shows up. About 5 min on 2 idle cores (see README); reruns resume.
demo: setup
	$(PY) tools/sample_space.py configs/studies/demo_digits_refinement.py run --work-dir work_dirs/demo_digits_refinement
