"""A Dovecot IMAP server from Debian's packages, started for the tests as Azurite is: on a free port, with its
own configuration, mail and logs in a folder of its own, for one user; and the IMAP answers it gives, parsed.

`make test` installs Dovecot (package `dovecot-imapd`) when it is missing, as it does Chromium. Dovecot will not
run a mail process as root: run by root (as CI is), the mail belongs to Dovecot's own `dovecot` user.
"""

from __future__ import annotations

import getpass
import grp
import imaplib
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulators.base import free_port

USER, PASSWORD = "archive", "archive-test-password"

CONFIG = """\
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = {internal}
default_internal_group = {internal_group}
default_login_user = {login}
first_valid_uid = {uid}
mail_location = maildir:~/Maildir
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={folder}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


@dataclass
class Dovecot:
    process: subprocess.Popen[bytes]
    port: int
    folder: Path

    @contextmanager
    def session(self) -> Iterator[imaplib.IMAP4]:
        """A logged-in IMAP session, logged out after."""
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=60)
        try:
            imap.login(USER, PASSWORD)
            yield imap
        finally:
            imap.logout()

    def log(self) -> str:
        path = self.folder / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def start_dovecot() -> Dovecot:
    """Dovecot in the foreground, ready for IMAP logins; raises when it is missing or does not start."""
    binary = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
    assert binary, "dovecot is missing: `make test` installs Debian's dovecot-imapd package"
    # Its own folder, which Dovecot's unprivileged processes can enter (a pytest folder is for its owner only).
    folder = Path(tempfile.mkdtemp(prefix="dovecot-"))
    folder.chmod(0o755)
    if os.getuid() == 0:
        mail_user, internal, group, login = pwd.getpwnam("dovecot"), "dovecot", "dovecot", "dovenull"
    else:
        mail_user, group = pwd.getpwuid(os.getuid()), grp.getgrgid(os.getgid()).gr_name
        internal = login = getpass.getuser()
    (folder / "home").mkdir()
    os.chown(folder / "home", mail_user.pw_uid, mail_user.pw_gid)
    port = free_port()
    config = folder / "dovecot.conf"
    config.write_text(
        CONFIG.format(
            folder=folder,
            internal=internal,
            internal_group=group,
            login=login,
            uid=mail_user.pw_uid,
            gid=mail_user.pw_gid,
            password=PASSWORD,
            port=port,
        )
    )
    process = subprocess.Popen([binary, "-F", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = Dovecot(process, port, folder)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"dovecot exited with status {process.returncode}: {error}{server.log()}")
        try:
            with server.session():
                return server
        except (OSError, imaplib.IMAP4.error):
            time.sleep(0.1)
    stop_dovecot(server)
    raise RuntimeError(f"dovecot did not accept an IMAP login within 30 s: {server.log()}")


def stop_dovecot(server: Dovecot) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    shutil.rmtree(server.folder, ignore_errors=True)


# --- IMAP answers -------------------------------------------------------------------------------

_TOKEN = re.compile(rb'\s*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|\{(\d+)\}(?:\r\n)?|([^\s()"]+))')


def parse_fetch(data: list[Any]) -> dict[str, Any]:
    """One message's FETCH answer as imaplib gives it (literals as separate pieces) as `{ITEM: value}`: a list
    for a parenthesised list, bytes for a string or a literal, None for NIL, str for an atom or a number."""
    pieces = []
    for item in data:
        if isinstance(item, tuple):
            head, literal = item
            pieces.append((head, literal))
        elif item:
            pieces.append((item, None))
    raw, literals = b"", []
    for head, literal in pieces:
        raw += head
        if literal is not None:
            literals.append(literal)
    values, _ = _parse(raw, 0, iter(literals))
    items = values[1]  # "<seq> (ITEM value ITEM value ...)"
    return {str(items[i]).upper(): items[i + 1] for i in range(0, len(items), 2)}


def _parse(raw: bytes, position: int, literals: Iterator[bytes]) -> tuple[list[Any], int]:
    result: list[Any] = []
    while position < len(raw):
        match = _TOKEN.match(raw, position)
        if not match or match.end() == position:
            break
        position = match.end()
        opened, closed, quoted, literal, atom = match.groups()
        if opened:
            inner, position = _parse(raw, position, literals)
            result.append(inner)
        elif closed:
            return result, position
        elif quoted is not None:
            result.append(re.sub(rb"\\(.)", rb"\1", quoted))
        elif literal is not None:
            result.append(next(literals))
        elif atom == b"NIL":
            result.append(None)
        else:
            result.append(atom.decode())
    return result, position
