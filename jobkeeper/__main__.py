"""`python -m jobkeeper`: the same as the `jobkeeper` command."""

from __future__ import annotations

from jobkeeper.cli import main

raise SystemExit(main())
