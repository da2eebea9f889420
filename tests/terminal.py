"""Run a command with its stderr on a real pseudo-terminal (Linux's pty), as a user at a terminal runs it.

Progress bars are drawn only on a terminal (:func:`edgeml._native_log.on_terminal`), so the tests that check what a
bar draws give the child a pty for fd 2. The pty is raw (no ``\\n`` to ``\\r\\n`` translation: what the child
writes is what the test reads) and 120 columns wide (a new pty has no size, and a bar would fit in none).
"""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import termios
import threading
import tty
from collections.abc import Sequence


def run_on_terminal(cmd: Sequence[str], *, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess[bytes]:
    """Run ``cmd`` with stdout piped and stderr on a pty; return the completed process (stderr: what fd 2 got)."""
    master, slave = pty.openpty()
    tty.setraw(slave)
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    chunks: list[bytes] = []

    def read() -> None:  # at once and to the end: a full pty buffer would block the child
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer of the slave side has closed it
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        with subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL,
                              **kwargs) as proc:
            os.close(slave)
            slave = -1
            try:
                stdout, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
        reader.join(10)
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    return subprocess.CompletedProcess(list(cmd), proc.returncode, stdout, b"".join(chunks))
