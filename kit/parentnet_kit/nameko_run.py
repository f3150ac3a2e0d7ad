"""``nameko run``, logging JSON from its first line: ``python -m parentnet_kit.nameko_run
--config config.yml events.service`` (the same arguments as ``nameko run``).

``nameko run`` imports eventlet before it reads the config's LOGGING, and eventlet prints its
deprecation notice as plain text at import: the first lines of every service's log were not
JSON, and a log shipper parsing JSON choked on them. Here logging is set up first and
warnings go through it, so that notice is one JSON line (logger ``py.warnings``) like the rest.
"""

from __future__ import annotations

import sys

from .logging_setup import configure


def main(argv: list[str] | None = None) -> int:
    """Run nameko's CLI with ``run`` and ``argv`` (default: this process's arguments);
    returns its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    modules = [a for a in args if not a.startswith("-") and a.endswith(".service")]
    configure(modules[0].split(".")[0] if modules else "nameko")

    from nameko.cli.main import main as nameko_main  # imports eventlet: after logging is set

    sys.argv = ["nameko", "run", *args]
    return nameko_main() or 0


if __name__ == "__main__":
    sys.exit(main())
