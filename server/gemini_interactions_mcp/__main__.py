"""`python -m gemini_interactions_mcp` is the console script."""

from gemini_interactions_mcp.cli import main

main()
