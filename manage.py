#!/usr/bin/env python
import os
import sys

# Commands that touch neither the database nor Redis: they start no embedded server.
NEEDS_NO_SERVICES = {"check", "help", "version", "diffsettings", "makemigrations", "collectstatic", "spectacular"}


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    command = sys.argv[1] if len(sys.argv) > 1 else "help"
    # `runstack --no-services` joins servers that are already up, and refuses to start without them.
    joining = command == "runstack" and "--no-services" in sys.argv
    if command not in NEEDS_NO_SERVICES and not command.startswith("-") and not joining:
        # Importing settings starts nothing; the embedded PostgreSQL / Redis (an unset
        # DATABASE_URL / REDIS_URL) start here, before the command uses them.
        from django.conf import settings

        from config import embedded

        embedded.start_configured(settings)
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
