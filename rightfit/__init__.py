"""rightfit: the command line and what every part (advisor, harness, reports) shares.

    errors    UserError: a user's mistake, reported as one sentence and exit code 2
    files     atomic writes, YAML/JSONL with line numbers, one file lock, publish-by-rename
    settings  typed settings: fields with help and limits, validation, YAML round trip
    ui        progress messages on stderr
    cli       the `rightfit` command group
"""

from pathlib import Path

__version__ = "0.1.0"
REPO_ROOT = Path(__file__).resolve().parent.parent  # tasks/, models/, bench/ live here
