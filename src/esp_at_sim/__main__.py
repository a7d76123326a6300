"""``python -m esp_at_sim``: the same as the ``esp-at-sim`` command."""

from .cli.main import main

raise SystemExit(main())
