"""lm-evaluation-harness interop, both ways.

    export   a suite's test questions as an lm-eval task (`rightfit suites export --lm-eval DIR SUITE`)
    task     the task's loading and scoring: the utils.py lm-eval imports (and rightfit reads back with)
    samples  lm-eval's --log_samples output of that task as a candidate of a run
             (`rightfit suites import --lm-eval SAMPLES RUN_DIR`)
"""
