"""Convert a GGUF model into a Hugging Face folder that vLLM and transformers load (float32).

vLLM 0.32 has no GGUF loader. transformers reads the GGUF (`from_pretrained(..., gguf_file=...)`,
dequantising its weights to float32); its GGUF quantizer is then cleared from the config, or
`save_pretrained` refuses a "quantized" model. Run with the engines venv (transformers, gguf,
accelerate): `.venv-engines/bin/python tests/engines/convert_gguf.py MODEL.gguf OUT_DIR`.
Writes OUT_DIR/ whole or not at all (a folder beside it, renamed when complete).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def convert(gguf: Path, out: Path) -> None:
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    model.config.quantization_config = None  # the GGUF "quantizer" only read the file; the weights are float32 now
    for holder in (model, model.config):
        if hasattr(holder, "hf_quantizer"):
            holder.hf_quantizer = None
    model.is_quantized = False
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    partial.rename(out)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: convert_gguf.py MODEL.gguf OUT_DIR")
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    if target.exists():
        print(f"{target} exists: nothing to convert")
    else:
        convert(source, target)
        print(f"converted {source.name} into {target}")
