"""The stakeholder report: run directory -> one self-contained HTML file, plus CSV and JSON.

Reads only the run's records (harness.records.load_run) and the metric registry. Entry point:
render.build_report (`rightfit report RUN_DIR`).
"""
