"""Command-line glue that must run before Django parses ``manage.py``'s arguments.

Django pre-parses ``--settings`` on every ``manage.py`` command line as the
settings *module*, before any app is loaded, so ``invoke_function``'s
``--settings SETTINGS.json`` would replace DJANGO_SETTINGS_MODULE. manage.py
passes its argv through :func:`rewrite_argv`, which renames that option to
``--settings-json`` for ``invoke_function`` only. Imports nothing from Django.
"""

from __future__ import annotations

COMMAND = "invoke_function"
OPTION = "--settings"
RENAMED = "--settings-json"


def rewrite_argv(argv: list[str]) -> list[str]:
    """Return ``argv`` with invoke_function's ``--settings`` renamed to ``--settings-json``."""
    if len(argv) < 2 or argv[1] != COMMAND:
        return argv
    out = argv[:2]
    for arg in argv[2:]:
        if arg == OPTION:
            out.append(RENAMED)
        elif arg.startswith(OPTION + "="):
            out.append(RENAMED + arg[len(OPTION) :])
        else:
            out.append(arg)
    return out
