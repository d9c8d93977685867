"""``throughline run`` end to end: migrate, first owner, serve, worker heartbeat, clean stop.

One server per module (starting one takes seconds); the last test stops it with SIGTERM,
checks that nothing of its process group survives, and starts it a second time.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.conftest import REPO, cli_env, sqlite_url

START_TIMEOUT = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def live_members(pgid: int) -> list[int]:
    """Processes of the group that still run (zombies waiting for a reaper do not count)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp …"; comm may contain spaces, so split after ")".
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] not in {"Z", "X"}:
            members.append(int(entry.name))
    return members


def is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] not in {"Z", "X"}


@dataclass
class Server:
    process: subprocess.Popen
    base_url: str
    log: Path
    db_path: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, path: str, status: int = 200, timeout: float = START_TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        last: tuple[int, str] | str = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"throughline run exited {self.process.returncode}:\n{self.output()}")
            try:
                last = get(self.base_url + path)
                if last[0] == status:
                    return last[1]
            except OSError as exc:  # not listening yet
                last = repr(exc)
            time.sleep(0.25)
        pytest.fail(f"GET {path} never answered {status} (last: {last}):\n{self.output()}")

    def worker_pids(self) -> list[int]:
        conn = sqlite3.connect(self.db_path)
        try:
            return [row[0] for row in conn.execute("SELECT pid FROM core_workerheartbeat")]
        finally:
            conn.close()

    def stop(self, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill_group(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def start_server(var_dir: Path, run_number: int) -> Server:
    db_path = var_dir / "throughline.sqlite3"
    port = free_port()
    env = cli_env(var_dir, sqlite_url(db_path), WEB_WORKERS="1", WEB_THREADS="2")
    log = var_dir / f"run-{run_number}.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "throughline",
                "run",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=REPO,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as under a service manager
        )
    return Server(process, f"http://127.0.0.1:{port}", log, db_path)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("run"), 1)
    try:
        srv.wait_for("/healthz")
        yield srv
    finally:
        if srv.process.poll() is None:
            try:
                srv.stop(timeout=30)
            except subprocess.TimeoutExpired:
                srv.kill_group()
        srv.kill_group()  # whatever survived (the last test asserts nothing does)


def test_healthz_answers(server):
    assert '"ok"' in server.wait_for("/healthz")


def test_first_start_prints_the_owner_credentials_once(server):
    output = server.output()
    assert output.count("password:") == 1, output
    assert "e-mail:   owner@example.com" in output


def test_readyz_turns_green_once_the_worker_heartbeat_is_written(server):
    body = server.wait_for("/readyz")
    assert '"worker": "ok"' in body and '"migrations": "ok"' in body
    assert server.worker_pids(), "the in-process worker wrote no heartbeat"


def test_login_page_answers(server):
    status, _ = get(server.base_url + "/login/")
    assert status == 200


def test_sigterm_stops_everything_and_a_second_start_prints_no_password(server):
    server.wait_for("/readyz")
    workers = server.worker_pids()
    pgid = server.process.pid
    # when: the service manager asks the main process to stop
    assert server.stop(timeout=60) == 0, server.output()
    # then: every process of the group is gone, the job worker child included
    deadline = time.monotonic() + 20
    while live_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert live_members(pgid) == [], f"left running: {live_members(pgid)}\n{server.output()}"
    assert not any(is_running(pid) for pid in workers)

    # when: started again on the same data
    again = start_server(server.log.parent, 2)
    try:
        again.wait_for("/healthz")
        # then: the owner exists, so no credentials are printed
        assert "password:" not in again.output()
        assert again.stop(timeout=60) == 0
    finally:
        again.kill_group()
