"""A throwaway cluster from the machine's own PostgreSQL binaries (initdb + pg_ctl).

initdb refuses to run as root, so as root the server runs as an unprivileged
user (``postgres`` when it exists, else ``nobody``).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from drizzle_ops.disposable.base import Server, free_port, new_password, wait_until_ready
from drizzle_ops.errors import OperationFailed, UserError

SERVER_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "listen_addresses=127.0.0.1")


def find_bin_dir(major: str | None = None) -> Path:
    """PG_BIN, then ``pg_config --bindir``, then Debian's /usr/lib/postgresql/<major>/bin."""
    candidates: list[Path] = []
    if os.environ.get("PG_BIN"):
        candidates.append(Path(os.environ["PG_BIN"]))
    debian = Path("/usr/lib/postgresql")
    if major and (debian / major / "bin").is_dir():
        candidates.append(debian / major / "bin")
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True).stdout
            candidates.append(Path(out.strip()))
        except (OSError, subprocess.CalledProcessError):
            pass
    if debian.is_dir():
        versions = sorted((p for p in debian.iterdir() if p.name.isdigit()), key=lambda p: int(p.name), reverse=True)
        candidates.extend(p / "bin" for p in versions)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    raise UserError(
        "no PostgreSQL server binaries found (initdb, pg_ctl); install the postgresql package, "
        "set PG_BIN to their folder, or use --provider docker"
    )


def has_binaries(major: str | None = None) -> bool:
    try:
        find_bin_dir(major)
        return True
    except UserError:
        return False


def _server_major(bin_dir: Path) -> str:
    out = subprocess.run([str(bin_dir / "postgres"), "--version"], capture_output=True, text=True).stdout
    # "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
    for word in out.split():
        if word[:1].isdigit():
            return word.split(".")[0]
    return "?"


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise OperationFailed("running as root and no unprivileged user (postgres, nobody) exists for initdb")


class LocalProvider:
    name = "local"

    def up(self, *, major: str | None = None) -> Server:
        bin_dir = find_bin_dir(major)
        actual_major = _server_major(bin_dir)
        if major and actual_major != major:
            raise UserError(
                f"PostgreSQL {major} binaries not found (found {actual_major} in {bin_dir}); "
                f"set PG_BIN to a PostgreSQL {major} bin folder or use --provider docker"
            )
        user = _run_as()
        base = Path(tempfile.mkdtemp(prefix="drizzle-ops-pg-"))
        base.chmod(0o700)
        if user:
            entry = pwd.getpwnam(user)
            os.chown(base, entry.pw_uid, entry.pw_gid)
        password = new_password()
        pwfile = base / "pwfile"
        pwfile.write_text(password)
        if user:
            os.chown(pwfile, pwd.getpwnam(user).pw_uid, -1)
        data = base / "data"
        self._run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "scram-sha-256",
                f"--pwfile={pwfile}",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            user,
            base,
        )
        pwfile.unlink()
        for attempt in range(3):
            port = free_port()
            options = f"-p {port} -k {base} " + " ".join(f"-c {s}" for s in SERVER_SETTINGS)
            try:
                self._run(
                    [
                        str(bin_dir / "pg_ctl"),
                        "-D",
                        str(data),
                        "-l",
                        str(base / "server.log"),
                        "-w",
                        "-t",
                        "30",
                        "-o",
                        options,
                        "start",
                    ],
                    user,
                    base,
                )
                break
            except OperationFailed:
                if attempt == 2:
                    raise
        url = f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres"
        wait_until_ready(url, timeout=30)
        return Server(
            provider=self.name,
            url=url,
            major=actual_major,
            details={"base_dir": str(base), "bin_dir": str(bin_dir), "user": user},
        )

    def down(self, server: Server) -> None:
        base = Path(server.details["base_dir"])
        bin_dir = Path(server.details["bin_dir"])
        if (base / "data" / "postmaster.pid").exists():
            # already gone: removing its files is all that is left
            with contextlib.suppress(OperationFailed):
                self._run(
                    [str(bin_dir / "pg_ctl"), "-D", str(base / "data"), "-m", "immediate", "-w", "stop"],
                    server.details.get("user"),
                    base,
                )
        shutil.rmtree(base, ignore_errors=True)

    @staticmethod
    def _run(cmd: list[str], user: str | None, base: Path) -> None:
        proc = subprocess.run(
            cmd, user=user, cwd=base, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            log = base / "server.log"
            tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
            reason = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise OperationFailed(f"{Path(cmd[0]).name} failed: {reason} {' | '.join(tail)}".strip())
