"""`python -m gemini_interactions_mcp` is the console script."""

from gemini_interactions_mcp.cli import main

if __name__ == "__main__":  # worker processes (anyio's, for workspace regex searches) import this again
    main()
