# lstmlab front door. `make install` then `make train`; `make test` runs the suite CI runs.
SHELL := /bin/bash
VENV ?= .venv
# use the active virtualenv if there is one, else ./.venv
PY := $(if $(VIRTUAL_ENV),$(VIRTUAL_ENV)/bin/python,$(VENV)/bin/python)
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
CPU_INDEX := https://download.pytorch.org/whl/cpu
# glibc malloc page faults cost 25-30% of LSTM training time on CPU (docs/cpu_facts.md); these settings remove them
RUN_ENV := MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
ARGS ?=

.PHONY: help install install-cpu train train-bilm train-nli train-full test test-install test-full test-docs wheel-runtime lint bench-deploy long-memory bench bench-kernels bench-data bench-nli bench-bilm embed clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

install: ## virtualenv (or the active one) + torch (TORCH=..., TORCH_INDEX=...) + lstmlab editable with extras
	@if [ -z "$(VIRTUAL_ENV)" ] && [ ! -x $(VENV)/bin/python ]; then python3 -m venv $(VENV); fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install --quiet -e ".[dev,tensorboard,launchers,st,hub,export]"

install-cpu: ## the same with PyTorch's CPU-only build from its own index (no multi-GB CUDA download)
	$(MAKE) install TORCH_INDEX=$(CPU_INDEX)

train: ## quick start: UPOS tagger on the bundled UD English EWT (offline, 2-5 min on 2 CPU cores, the run shows its ETA; shorter: ARGS=trainer.max_epochs=3)
	$(RUN_ENV) $(PY) -m lstmlab.cli.train experiment=pos_quick $(ARGS)

train-bilm: ## biLM (ELMo-style, small preset) on the bundled inaugural addresses, 5 epochs, about 6 min on 2 cores (experiment=bilm_text)
	$(RUN_ENV) $(PY) -m lstmlab.cli.train experiment=bilm_text trainer.max_epochs=5 $(ARGS)

train-nli: ## BiLSTM-max sentence encoder on NLI (experiment=nli_cpu: bundled SNLI, about 3 min on 2 CPU cores, ~68.7% test)
	$(RUN_ENV) $(PY) -m lstmlab.cli.train experiment=nli_cpu $(ARGS)

train-full: ## the full-quality tagger (experiment=pos_ewt)
	$(RUN_ENV) $(PY) -m lstmlab.cli.train experiment=pos_ewt $(ARGS)

test: ## the test suite (fast tests; what CI runs)
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 $(PY) -m pytest -q

test-install: ## the built wheels (lstmlab, lstmlab-runtime) installed from scratch into fresh virtualenvs and run from a temporary folder (CI runs it)
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 $(PY) -m pytest -q -m slow tests/e2e/test_packaging.py tests/e2e/test_runtime_install.py

test-full: ## every test, including the slow ones
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 $(PY) -m pytest -q -m ""

test-docs: ## every command and Python block of README.md and docs/*.md, run as written in a fresh clone (CI runs it)
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 $(PY) -m pytest -q -m "" tests/e2e/test_docs_commands.py

wheel-runtime: ## the torch-free runtime's wheel (pip install lstmlab-runtime) in dist/: ONNX exports with numpy and ONNX Runtime
	rm -rf build/runtime && mkdir -p build/runtime dist
	cp -r src LICENSE packaging/runtime/pyproject.toml packaging/runtime/README.md build/runtime/
	$(PY) -m pip wheel --quiet --no-deps --wheel-dir dist build/runtime

lint: ## ruff
	$(PY) -m ruff check src tests bench scripts

long-memory: ## the long-term-dependency sweep (5 cells x 5 lags) and its report: logs/long_memory/multiruns/make/sweep.md, sweep_data.lag.png
	$(RUN_ENV) $(PY) -m lstmlab.cli.train -m experiment=long_memory hydra.sweep.dir=logs/long_memory/multiruns/make $(ARGS)
	$(PY) -m lstmlab.cli.sweep_report logs/long_memory/multiruns/make --x data.lag --metric test/acc

bench: ## one table of every family: training vs plain PyTorch (fp32, bf16), padding, inference/export, peak RSS (ARGS="--save")
	$(RUN_ENV) $(PY) bench/suite.py $(ARGS)

bench-deploy: ## every family on each deployment path (PyTorch, ONNX Runtime fp32/int8, OpenVINO): latency, throughput, RSS, parity, install size; Flair beside the tagger with ARGS="--flair-python <its venv>/bin/python"
	$(RUN_ENV) $(PY) bench/deploy.py $(ARGS)

bench-kernels: ## CPU kernel facts (docs/cpu_facts.md) and the recurrent cells' speed
	$(RUN_ENV) $(PY) bench/cpu_kernels.py
	$(RUN_ENV) $(PY) bench/cell_speed.py

bench-data: ## data benchmarks: 1M-sentence split memory, 2M-word vectors file, tokenizer F1 on EWT, tokenizer speed vs NLTK and spaCy
	$(RUN_ENV) $(PY) bench/data_memory.py
	$(RUN_ENV) $(PY) bench/vectors_memory.py
	$(RUN_ENV) $(PY) bench/tokenizer_ewt.py
	$(RUN_ENV) $(PY) bench/tokenizer_speed.py

bench-nli: ## NLI benchmarks: raw text (tokenizer, encode() and lstmlab-tag on strings vs ids), training vs plain PyTorch, encode() vs InferSent, 550k-pair load (busy: ARGS="--threads 1")
	$(RUN_ENV) $(PY) bench/raw_text_speed.py $(ARGS)
	$(RUN_ENV) $(PY) bench/nli_throughput.py $(ARGS)
	$(RUN_ENV) $(PY) bench/encode_speed.py $(ARGS)
	$(RUN_ENV) $(PY) bench/nli_load.py $(ARGS)

bench-bilm: ## biLM training vs plain PyTorch (PTB in LSTMLAB_DATA_DIR, or ARGS="--data inaugural"); ELMo export speed, given a trained biLM: python bench/elmo_export_speed.py --model RUN_DIR
	$(RUN_ENV) $(PY) bench/bilm_throughput.py $(ARGS)

# `make embed`: the newest exported NLI model under logs/ unless MODEL=... is given
MODEL ?= $(shell ls -t logs/*/runs/*/model/config.json 2>/dev/null | xargs -r grep -lE '"kind": *"nli"' | head -n 1 | xargs -r dirname)
INPUT ?= data/examples/sentences.txt
OUT ?= logs/embed/sentences.npy
embed: ## sentence vectors of INPUT (default data/examples/sentences.txt) with MODEL (newest NLI model) -> OUT
	@if [ -z "$(MODEL)" ]; then echo "make embed: no NLI model found in logs/*/runs/*/model: run 'make train-nli' first (or pass MODEL=<run dir, export folder or .ckpt>)" >&2; exit 1; fi
	@mkdir -p "$(dir $(OUT))"
	$(RUN_ENV) $(PY) -m lstmlab.cli.embed --model "$(MODEL)" "$(INPUT)" -o "$(OUT)" $(ARGS)

clean: ## remove logs, caches and build leftovers (keeps the virtualenv)
	rm -rf logs outputs multirun .pytest_cache .ruff_cache src/*.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
