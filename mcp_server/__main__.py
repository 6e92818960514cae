"""python -m mcp_server: the same as the ai-notes-mcp command."""

import sys

from .cli import main

sys.exit(main())
