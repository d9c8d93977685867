"""The ``throughline`` command: Django's management commands, with ours (DESIGN §6)."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "throughline.settings")
    from django.core.management import execute_from_command_line

    argv = sys.argv[:]
    argv[0] = "throughline"
    if len(argv) == 1:
        argv.append("help")
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
