# rightfit: two commands on a fresh machine.
#   make demo   set up .venv, then advise -> build -> evaluate -> report on the embedded default
#   make test   set up .venv, then run the test suite
# Set-up is keyed on requirements.txt + pyproject.toml: re-running installs nothing unless they changed.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml 2>/dev/null | sha256sum | cut -c1-16)
export PYTHONDONTWRITEBYTECODE := 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

RF     := $(VENV)/bin/rightfit
DEMO_ANSWERS := advisor/examples/support-bot.yaml
DEMO_RUN     := demo

.PHONY: setup demo test bench clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch is pinned in requirements.txt and resolved in the same pip call as everything else.
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-*
	touch $@

# advise -> build the self-made base models (once) -> build + evaluate the plan -> report
demo: setup
	$(RF) advise $(DEMO_ANSWERS) -o runs/$(DEMO_RUN)-plan.yaml
	$(RF) base build --size default
	$(RF) run --plan runs/$(DEMO_RUN)-plan.yaml --suite shopco-en --base-model default --run-id $(DEMO_RUN)
	$(RF) report runs/$(DEMO_RUN)
	@echo "the report: runs/$(DEMO_RUN)/report.html (open it in a browser; CSV and JSON beside it)"

# setup installs the benchmarks' peers too (lm-eval, rank-bm25, bm25s: requirements.txt); a
# benchmark whose peer is missing fails with the reason instead of leaving its row empty.
bench: setup
	$(RF) bench

# Then the tests whose numbers depend on the CPU's kernels again, with its bf16 kernels off: on a
# CPU with avx512_bf16/AMX both paths run, on any other the second pass is the same path twice.
test: setup
	$(PY) -m pytest -q tests
	ONEDNN_MAX_CPU_ISA=AVX2 $(PY) -m pytest -q -m numerics tests

clean:
	rm -rf $(VENV) .rightfit runs
