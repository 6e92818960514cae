"""python -m mcp_server  ->  the CLI (``serve`` over stdio when no command is given)."""

import sys

from .cli import main

sys.exit(main())
