"""rightfit harness: builds adaptation candidates, evaluates them, writes run records."""

__version__ = "0.1.0"
