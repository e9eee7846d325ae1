"""A throw-away single-node Slurm cluster on localhost, for tests.

`SlurmCluster(workdir).start()` writes a munge key and a `slurm.conf` into ``workdir``, starts
``munged``, ``slurmctld`` and ``slurmd`` in the foreground as the current user (root on CI),
each with its pid, log and state files in ``workdir``, and waits until the node is ``idle``.
`stop()` cancels leftover jobs and terminates exactly the three processes it started (by pid,
SIGTERM then SIGKILL). Nothing outside ``workdir`` is written: no systemd, no cgroups, no
accounting database, no ``/etc/slurm``.

Client commands reach the cluster through ``SLURM_CONF``; use `env()` for subprocesses. The
Slurm executor plugin's job step strips every ``SLURM_*`` variable (``SLURM_CONF`` included)
before it calls ``srun`` inside the job, so `env()` also puts a ``bin/srun`` wrapper first on
``PATH`` that sets ``SLURM_CONF`` again (real clusters keep their config in ``/etc/slurm`` or
run configless, and need no such wrapper).

`unavailable()` returns the reason the cluster cannot run here (missing binaries, not root),
or None; tests skip with that reason.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "sinfo", "scontrol", "scancel", "srun")
# What the binaries are called when they are not on PATH (Debian puts daemons in /usr/sbin).
SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin")


def which(name: str) -> str | None:
    """Path of a Slurm/munge binary: PATH first, then the usual sbin folders."""
    found = shutil.which(name)
    if found:
        return found
    for d in SBIN:
        p = Path(d) / name
        if p.is_file() and os.access(p, os.X_OK):
            return str(p)
    return None


def unavailable() -> str | None:
    """Why no test cluster can start here, or None when it can."""
    missing = [n for n in DAEMONS + CLIENTS if which(n) is None]
    if missing:
        return (f"Slurm/munge binaries not installed ({', '.join(missing)} missing); "
                "run .ci/install-system.sh (needs apt-get and root)")
    if os.geteuid() != 0:
        return "the test cluster runs slurmd as the current user, which must be root"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SlurmCluster:
    """Single-node Slurm (slurmctld + slurmd + munged) confined to ``workdir``."""

    def __init__(self, workdir: Path | None = None, cpus: int = 8, memory_mb: int = 32000,
                 gpus: int = 1, min_job_age: int = 300, gpu_model: str = "tgfake"):
        """``cpus``/``memory_mb``: what the node advertises (``config_overrides``: the hardware
        may have less; jobs then share cores). ``gpus``: GPU GRES of type ``gpu_model``
        advertised without devices, so rules declaring ``gpu`` (and ``gpu_model``, or a typed
        ``gres``) are scheduled. Partitions: ``debug`` (default) and ``gpu``, both the one node.
        ``min_job_age``: seconds a finished job stays
        visible to ``squeue`` (the plugin's squeue status check needs >= 3x its initial delay).
        """
        self.owns_dir = workdir is None
        # AF_UNIX socket paths must stay < 108 bytes: keep the folder short.
        short_tmp = "/tmp" if os.path.isdir("/tmp") else None
        self.dir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="tgslurm-",
                                                                        dir=short_tmp))
        self.cpus, self.memory_mb, self.gpus, self.gpu_model = cpus, memory_mb, gpus, gpu_model
        self.min_job_age = min_job_age
        self.node = socket.gethostname().split(".")[0]
        self.conf = self.dir / "slurm.conf"
        self.bin = self.dir / "bin"
        self.procs: dict[str, subprocess.Popen] = {}

    # ------------------------------------------------------------------ configuration
    def env(self, base: dict | None = None) -> dict:
        """Environment for client commands and Snakemake runs against this cluster."""
        env = dict(os.environ if base is None else base)
        env["SLURM_CONF"] = str(self.conf)
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        return env

    def _write_files(self) -> None:
        d = self.dir
        for sub in ("munge", "state", "spool", "log", "bin"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(d, 0o711)
        os.chmod(d / "munge", 0o711)
        key = d / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)
        self.munge_socket = d / "munge" / "munge.socket"
        ctld_port, slurmd_port = free_port(), free_port()
        self.conf.write_text(f"""\
# Single-node test cluster written by tests/slurm_cluster.py
ClusterName=tagsegtest
SlurmctldHost=localhost
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser={_user()}
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket}
StateSaveLocation={d / 'state'}
SlurmdSpoolDir={d / 'spool'}
SlurmctldPidFile={d / 'slurmctld.pid'}
SlurmdPidFile={d / 'slurmd.pid'}
SlurmctldLogFile={d / 'log' / 'slurmctld.log'}
SlurmdLogFile={d / 'log' / 'slurmd.log'}
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
MinJobAge={self.min_job_age}
ReturnToService=2
SlurmdParameters=config_overrides
SchedulerParameters=sched_interval=1
GresTypes=gpu
NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.memory_mb} Gres=gpu:{self.gpu_model}:{self.gpus} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=ALL MaxTime=INFINITE State=UP
""")
        # A GPU count without device files: lets jobs that declare gpu=N be scheduled (they
        # get no real device; CUDA code falls back to the CPU with device: auto).
        fakes = []
        for i in range(self.gpus):
            (d / f"fakegpu{i}").touch()
            fakes.append(str(d / f"fakegpu{i}"))
        (d / "gres.conf").write_text("".join(
            f"NodeName={self.node} Name=gpu Type={self.gpu_model} File={f}\n" for f in fakes))
        srun = self.bin / "srun"
        srun.write_text(f'#!/bin/sh\nSLURM_CONF="{self.conf}" exec "{which("srun")}" "$@"\n')
        os.chmod(srun, 0o755)

    # ------------------------------------------------------------------ life cycle
    def _spawn(self, name: str, args: list[str]) -> None:
        log = open(self.dir / "log" / f"{name}.out", "wb")
        self.procs[name] = subprocess.Popen(
            [which(name), *args], stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env=self.env(), start_new_session=True)
        log.close()

    def start(self, timeout: float = 30.0) -> "SlurmCluster":
        """Start munged, slurmctld, slurmd; return once the node is idle (else raise)."""
        reason = unavailable()
        if reason:
            raise RuntimeError(reason)
        self._write_files()
        d = self.dir
        try:
            self._spawn("munged", [
                "-F", "--force", f"--socket={self.munge_socket}",
                f"--key-file={d / 'munge' / 'munge.key'}",
                f"--pid-file={d / 'munge' / 'munged.pid'}",
                f"--log-file={d / 'log' / 'munged.log'}",
                f"--seed-file={d / 'munge' / 'munged.seed'}"])
            self._wait(lambda: self.munge_socket.exists(), timeout, "munged socket")
            self._spawn("slurmctld", ["-D", "-i", "-f", str(self.conf)])
            self._wait(lambda: self._run("scontrol", "ping").returncode == 0
                       and "UP" in self._run("scontrol", "ping").stdout, timeout, "slurmctld")
            self._spawn("slurmd", ["-D", "-N", self.node, "-f", str(self.conf)])
            self._wait(lambda: self.node_state().startswith("idle"), timeout, "node idle")
        except BaseException:
            self.stop()
            raise
        return self

    def _run(self, *cmd: str, timeout: float = 20) -> subprocess.CompletedProcess:
        return subprocess.run([which(cmd[0]), *cmd[1:]], capture_output=True, text=True,
                              env=self.env(), timeout=timeout)

    def node_state(self) -> str:
        r = self._run("sinfo", "-h", "-N", "-n", self.node, "-o", "%T")
        return r.stdout.strip() if r.returncode == 0 else ""

    def _wait(self, ready, timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise RuntimeError(f"{name} exited with {p.returncode} while waiting for "
                                       f"{what}; logs:\n{self.logs()}")
            try:
                if ready():
                    return
            except subprocess.TimeoutExpired:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"test Slurm cluster: no {what} after {timeout:.0f} s; logs:\n"
                           f"{self.logs()}")

    def jobs(self) -> list[dict]:
        """Jobs slurmctld still remembers (MinJobAge), as dicts id/name/state/exit/comment."""
        r = self._run("squeue", "-h", "--states=all", "-o", "%i|%j|%T|%k")
        if r.returncode != 0:
            raise RuntimeError(f"squeue failed: {r.stderr}")
        rows = []
        for line in r.stdout.splitlines():
            jid, name, state, comment = (line.split("|", 3) + [""] * 4)[:4]
            rows.append({"id": jid, "name": name, "state": state, "comment": comment})
        return rows

    def logs(self, tail: int = 40) -> str:
        out = []
        for f in sorted((self.dir / "log").glob("*")):
            lines = f.read_text(errors="replace").splitlines()[-tail:]
            out.append(f"--- {f.name}\n" + "\n".join(lines))
        return "\n".join(out)

    def stop(self) -> None:
        """Cancel leftover jobs, stop the daemons this object started (by pid), clean up."""
        if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
            try:
                self._run("scancel", "--user", _user(), timeout=10)
            except (subprocess.TimeoutExpired, OSError):
                pass
        for name in ("slurmd", "slurmctld", "munged"):
            p = self.procs.get(name)
            if p is None or p.poll() is not None:
                continue
            os.kill(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
        self.procs.clear()
        if self.owns_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "SlurmCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _user() -> str:
    import pwd
    return pwd.getpwuid(os.geteuid()).pw_name
