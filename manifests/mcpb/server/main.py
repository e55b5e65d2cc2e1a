"""Entry point of the Claude Desktop bundle: the bundled package's own console script.

The bundle ships the package beside this file (server/gemini_interactions_mcp/), and Python puts this
file's folder first on sys.path, so the import finds it; uv installs the dependencies from pyproject.toml.
"""

from gemini_interactions_mcp.cli import main

main()
