"""The scenarios run under the harness's pytest plugin (targets, profiles, verdicts, reports).

Run them all with ``python -m harness validate`` (or ``nox -s validate``), or one with
``pytest scenarios/test_sc002_sync.py --target local``.
"""

pytest_plugins = ["harness.pytest_plugin"]
