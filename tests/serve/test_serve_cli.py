"""``marlkit serve``'s bad input: one line, exit 2, nothing served."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

CLI = "import sys; from marlkit.cli import main; sys.exit(main(sys.argv[1:]))"


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI, "serve", *args, "--no-browser"], capture_output=True, text=True, timeout=60
    )


def test_missing_runs_folder(tmp_path: Path):
    result = serve(str(tmp_path / "nope"))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: RUNS_DIR") and "no such folder" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_runs_folder_is_a_file(tmp_path: Path):
    (tmp_path / "file").write_text("x")
    result = serve(str(tmp_path / "file"))
    assert result.returncode == 2 and "a file, not a folder" in result.stderr


def test_port_in_use(tmp_path: Path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = serve(str(tmp_path), "--port", str(port))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: --port {port}: already in use on 127.0.0.1; stop what uses it or pick another --port"
    )


def test_bad_port(tmp_path: Path):
    result = serve(str(tmp_path), "--port", "70000")
    assert result.returncode == 2 and "not a TCP port" in result.stderr
