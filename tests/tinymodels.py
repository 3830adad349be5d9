"""The tests' tiny models: harness.basemodels.random, imported under the name the tests use."""

from harness.basemodels.random import (
    DEFAULT_TEXTS,
    make_tiny_llama,
    make_tiny_pair,
    make_tiny_tokenizer,
)

__all__ = ["DEFAULT_TEXTS", "make_tiny_llama", "make_tiny_pair", "make_tiny_tokenizer"]
