"""Run the embedded LLM alone as an OpenAI-compatible server (evaluation, development):

python -m deployments.llm.server --port 8500 [--model smollm2-135m-instruct] [--device cpu]
"""

from __future__ import annotations

import argparse
import logging

import uvicorn

from deployments.llm.engine import BUILTIN_MODEL, LocalLLM
from deployments.llm.openai_api import OpenAIChat, create_llm_api


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8500)
    parser.add_argument(
        "--model", default=BUILTIN_MODEL, help="the bundled SmolLM2, a hub id or a local folder"
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--max-tokens", type=int, default=1024, help="cap on tokens generated per request")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    chat = OpenAIChat(LocalLLM(args.model, device=args.device), max_tokens_cap=args.max_tokens)
    uvicorn.run(create_llm_api(chat), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
