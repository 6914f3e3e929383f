"""What-if planning in the browser: ``phusong serve BUNDLE``.

:mod:`~analysis.serve.scenario` (edits, scenario files, :func:`apply_scenario` for the CLI),
:mod:`~analysis.serve.planner` (incremental coverage and village status) and
:mod:`~analysis.serve.app` (the local web application on Starlette/FastAPI + uvicorn).
"""
