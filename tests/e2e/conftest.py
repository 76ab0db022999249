"""Fixtures for end-to-end tests: real vr-coordinator, vr-worker, ZeroMQ, shm.

Every cluster gets a unique name and its own run directory; teardown kills
whatever is left (coordinator and workers) and removes the cluster's
/dev/shm segments even when the test failed.
"""
import itertools
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

BIN = Path(os.environ.get("VR_BIN", Path(__file__).resolve().parents[2] / "build" / "bin"))
_counter = itertools.count()


def shm_segments(name):
    return sorted(p.name for p in Path("/dev/shm").glob(f"vr.{name}.*"))


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is not running: check /proc state
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:
        return False


def wait_until(pred, timeout=10.0, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


class Cluster:
    """A running vr-coordinator started for one test."""

    def __init__(self, tmp_path, name=None):
        self.name = name or f"e2e{os.getpid()}x{next(_counter)}"
        self.rundir = tmp_path
        self.proc = None
        self.worker_pids = []

    def env(self):
        return dict(os.environ, VR_RUNDIR=str(self.rundir))

    def start(self, *args, wait=True):
        cmd = [str(BIN / "vr-coordinator"), "--name", self.name, "--quiet", *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=self.env())
        if wait:
            def up():
                r = self.ctl("--json", "status", check=False)
                return (r.returncode == 0 and json.loads(r.stdout)["status"] != "starting") \
                    or self.proc.poll() is not None
            assert wait_until(up, 30), "cluster did not come up"
            assert self.proc.poll() is None, self.proc.communicate()
            self.worker_pids = [u["pid"] for u in self.status()["universes"]]
        return self

    def ctl(self, *args, check=True, timeout=30):
        r = subprocess.run([str(BIN / "vrctl"), "-n", self.name, *args], capture_output=True,
                           text=True, env=self.env(), timeout=timeout)
        if check:
            assert r.returncode == 0, r.stderr
        return r

    def status(self):
        return json.loads(self.ctl("--json", "status").stdout)

    def wait(self, timeout=60):
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            # say what is stuck: the coordinator, or a child holding the pipes
            ps = subprocess.run(["ps", "-eo", "pid,ppid,stat,wchan:24,cmd"], capture_output=True,
                                text=True).stdout
            mine = [l for l in ps.splitlines() if self.name in l or str(self.proc.pid) in l]
            raise AssertionError(f"cluster {self.name} did not exit within {timeout} s "
                                 f"(coordinator returncode {self.proc.poll()}):\n" + "\n".join(mine))
        return self.proc.returncode, out, err

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        for pid in self.worker_pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for seg in shm_segments(self.name):
            try:
                os.unlink(f"/dev/shm/{seg}")
            except FileNotFoundError:
                pass


@pytest.fixture
def cluster(tmp_path):
    made = []

    def make(**kw):
        c = Cluster(tmp_path, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.cleanup()


def run_to_end(tmp_path, *args, timeout=120):
    """Runs a cluster to its turn limit; returns (final line, hash log lines)."""
    c = Cluster(tmp_path)
    log = tmp_path / f"{c.name}.hashes"
    try:
        c.start("--hash-log", str(log), *args, wait=False)
        rc, out, err = c.wait(timeout)
        assert rc == 0, err
        return out.strip(), log.read_text().splitlines(), c
    finally:
        c.cleanup()
