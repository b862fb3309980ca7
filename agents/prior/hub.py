"""`hf:OWNER/REPO:FILE.gguf`: any GGUF on the Hugging Face Hub as a prior model.

Resolved through `huggingface_hub.hf_hub_download`, as llama-cpp-python's `Llama.from_pretrained`
does: the file lands once in the Hugging Face cache (HF_HUB_CACHE, default
~/.cache/huggingface/hub) and every later run finds it there without asking the Hub, so training
runs offline after the first download (and with HF_HUB_OFFLINE=1, never asks at all).
"""

from __future__ import annotations

from pathlib import Path

from agents.errors import PriorError

HF_PREFIX = "hf:"
HF_EXAMPLE = "hf:bartowski/SmolLM2-135M-Instruct-GGUF:SmolLM2-135M-Instruct-Q4_K_M.gguf"


def is_hf_name(name: str) -> bool:
    return name.startswith(HF_PREFIX)


def parse_hf_name(name: str) -> tuple[str, str]:
    """(repo id, file name) of hf:OWNER/REPO:FILE.gguf; PriorError showing the form otherwise."""
    repo, _, filename = name.removeprefix(HF_PREFIX).partition(":")
    owner, _, repo_name = repo.partition("/")
    if not owner or not repo_name or "/" in repo_name or not filename.endswith(".gguf"):
        raise PriorError(f"model {name!r} is not a Hub name like {HF_EXAMPLE}")
    return repo, filename


def resolve_hf_model(name: str) -> Path:
    """The cached file of an hf: model, downloading it first if it is not cached and the Hub may be asked."""
    repo, filename = parse_hf_name(name)
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    try:
        return Path(hf_hub_download(repo, filename, local_files_only=True))
    except LocalEntryNotFoundError:
        pass
    if constants.HF_HUB_OFFLINE:
        raise PriorError(
            f"{filename} of the Hugging Face repo {repo} is not in the cache {constants.HF_HUB_CACHE} and "
            "HF_HUB_OFFLINE is set: download it once where the Hub is reachable (unset HF_HUB_OFFLINE), "
            "or point HF_HUB_CACHE at a cache that holds it"
        )
    try:
        return Path(hf_hub_download(repo, filename))
    except RepositoryNotFoundError:
        raise PriorError(f"no Hugging Face repo {repo} (or it is private or gated: set HF_TOKEN)") from None
    except EntryNotFoundError:
        raise PriorError(f"the Hugging Face repo {repo} has no file {filename}; check the name in its file list") from None
    except (HfHubHTTPError, OSError) as error:
        reason = str(error).splitlines()[0] if str(error) else error.__class__.__name__
        raise PriorError(f"could not download {filename} from the Hugging Face repo {repo}: {reason}") from None
