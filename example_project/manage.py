#!/usr/bin/env python
"""The example project's management script.

python example_project/manage.py trigger_demo     # offline demo: emulator + admin + views
python example_project/manage.py runserver        # against the API configured in .env
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
