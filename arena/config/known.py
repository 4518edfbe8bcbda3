"""Closed vocabularies that models.yaml values are checked against."""

from __future__ import annotations

# llama.cpp quantization type names accepted by `llama-quantize` / llama_model_quantize (LLAMA_FTYPE_MOSTLY_*).
# Hard-coded so validation works without importing llama_cpp (slow to import, and it may be absent in CI).
QUANT_TYPES: tuple[str, ...] = (
    "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0",
    "Q2_K", "Q2_K_S", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K",
    "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M", "IQ1_S", "IQ1_M", "IQ3_XXS", "IQ3_XS", "IQ3_S", "IQ3_M", "IQ4_NL", "IQ4_XS",
    "TQ1_0", "TQ2_0",
    "F16", "BF16", "F32",
)  # fmt: skip

# The `chat_format` names llama-cpp-python 0.3.36 registers (register_chat_format + register_chat_completion_handler
# in llama_chat_format.py; checked against the installed build).
# A typo here would otherwise surface only when the model loads, minutes into a download.
CHAT_FORMATS: tuple[str, ...] = (
    "llama-2", "llama-3", "alpaca", "qwen", "vicuna", "oasst_llama", "baichuan-2", "baichuan", "openbuddy",
    "redpajama-incite", "snoozy", "phind", "intel", "open-orca", "mistrallite", "zephyr", "pygmalion", "chatml",
    "mistral-instruct", "chatglm3", "openchat", "saiga", "gemma", "functionary", "functionary-v2", "functionary-v1",
    "chatml-function-calling",
)  # fmt: skip
