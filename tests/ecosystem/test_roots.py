"""Client roots become local folders by the standard library's file-URL rules, Windows ones included.

Windows' rules (nturl2path, what urllib.request.url2pathname is on Windows) run here on any system, so a
`file:///C:/x` root is checked to become `C:\\x`, not the `\\C:\\x` that the bare URL path gave before.
"""

from __future__ import annotations

import nturl2path

import pytest

from gemini_interactions_mcp.tools.roots import root_path


@pytest.mark.parametrize(
    ("uri", "folder"),
    [
        ("file:///C:/x", "C:\\x"),
        ("file:///C:/Users/me/My%20Project/", "C:\\Users\\me\\My Project"),
        ("file:///c%3A/Users/me/repo", "C:\\Users\\me\\repo"),  # VS Code encodes the drive colon
        ("file:///d%3a/", "D:\\"),
        ("file://localhost/C:/x", "C:\\x"),
        ("file://server/share/folder", "\\\\server\\share\\folder"),  # a UNC path
    ],
)
def test_windows_roots_become_windows_folders(uri: str, folder: str) -> None:
    assert root_path(uri, to_path=nturl2path.url2pathname) == folder


def test_posix_roots_are_decoded() -> None:
    from urllib.request import url2pathname

    assert url2pathname.__module__ == "urllib.request"  # this system's own rules (POSIX here)
    assert root_path("file:///home/me/My%20Project") == "/home/me/My Project"
    assert root_path("file://localhost/srv/x") == "/srv/x"


def test_other_schemes_name_no_folder() -> None:
    assert root_path("https://example.com/C:/x") is None
    assert root_path("untitled:Untitled-1") is None
