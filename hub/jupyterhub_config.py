"""JupyterHub settings that serve the course to a class (hub/README.md says how to deploy them).

Every student's server runs this repository's environment (the `rnn-course` kernel the notebooks ask
for) and, at the first start, receives its own copy of the course under ~/rnn-course/: the lessons
(notebooks/), the homework (exercises/) and the glossary. A copy that exists is never overwritten, so a
student's work survives restarts and course updates. Authentication and spawner are the deployment's
(The Littlest JupyterHub's, Kubernetes', or, in hub/smoke_test.py, dummy ones for a local test);
load this file from theirs with ``load_subconfig``.

Environment: COURSE_ROOT, the repository (default: the folder above this file).
"""
import os
import pwd
import shutil
from pathlib import Path

COURSE_ROOT = Path(os.environ.get("COURSE_ROOT", Path(__file__).resolve().parents[1]))
COPIED = ("notebooks", "exercises", "GLOSSARY.md")  # what each student gets a copy of
FOLDER = "rnn-course"  # where, in the student's home


def system_user(spawner) -> pwd.struct_passwd | None:
    """The student's system account: the hub name, or TLJH's ``jupyter-<name>``; None before it exists
    (TLJH creates it when the server starts, from /etc/skel: hub/README.md puts the course there too)."""
    for name in (spawner.user.name, f"jupyter-{spawner.user.name}"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    return None


def copy_course(spawner) -> None:
    """Copy what COPIED names into ~/rnn-course/ where it is not there yet (pre_spawn_hook)."""
    own_home = getattr(spawner, "home_dir", None)  # SimpleLocalProcessSpawner's, in the smoke test
    user = None if own_home else system_user(spawner)
    if not own_home and user is None:
        return
    target = Path(own_home or user.pw_dir) / FOLDER
    target.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        source, copy = COURSE_ROOT / name, target / name
        if copy.exists():
            continue
        if source.is_dir():
            shutil.copytree(source, copy, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        else:
            shutil.copy2(source, copy)
    if user is not None and os.geteuid() == 0:  # a system user's home: hand the copy over
        for path in [target, *target.rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid)


c = get_config()  # noqa: F821 (JupyterHub provides get_config)
c.Spawner.pre_spawn_hook = copy_course
c.Spawner.default_url = f"/lab/tree/{FOLDER}/notebooks/01_rnn_equation.ipynb"
c.Spawner.mem_limit = "4G"  # honoured by spawners that can (systemd in TLJH, Kubernetes)
c.Spawner.cpu_limit = 2.0
