"""ai-notes-mcp: an MCP server that gives LLM agents eyes and a cited memory of the AI field."""

__version__ = "0.1.0"
