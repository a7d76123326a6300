"""The ``esp-at-sim`` command line: :mod:`.main` (the parser and the entry point), one
module per command (:mod:`.run`, :mod:`.flash` for ``image`` and ``flash``,
:mod:`.provision`, :mod:`.ota`, :mod:`.console`) and :mod:`.common` for what they share.

Importing this package imports nothing else: ``provision``, ``ota`` and ``console``
load only the client, so that they work without the simulator's code.
"""
