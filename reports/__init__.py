"""The stakeholder report: `rightfit report RUN_DIR` (issue #7). Entry point: render.build_report."""
