#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "functions_ide.settings")
    try:
        from django.core.management import execute_from_command_line
    except ImportError as exc:
        raise ImportError(
            "Couldn't import Django. Run `make run` or `make test` first: they create .venv."
        ) from exc
    # invoke_function's --settings names a JSON file, not Django's settings module.
    from runtime.cli import rewrite_argv

    execute_from_command_line(rewrite_argv(sys.argv))


if __name__ == "__main__":
    main()
