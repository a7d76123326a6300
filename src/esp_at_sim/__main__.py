"""``python -m esp_at_sim``: the same as the ``esp-at-sim`` command."""

from .cli import main

raise SystemExit(main())
