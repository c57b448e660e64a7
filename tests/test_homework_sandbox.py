"""The grader's sandbox against hostile submissions (issue 22), and the sandbox on its own.

One class folder, class/<student>/<notebook>.ipynb, is graded by the CLI in one run: two honest students
and one student per attack, each a solved homework 01 plus one hostile cell (the monkeypatcher starts from
the unsolved one). A hostile cell catches the error that containment causes and raises ``ESCAPED`` when its
attack worked, so a note containing ESCAPED is an escape; the host side checks too: no file appears outside,
no submission or course file changes, the loopback listener receives nothing, the grader finishes.
On a machine that cannot sandbox (no user namespaces, not Linux) the battery is skipped, saying why.
"""
import hashlib
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from recurrent_lib.homework import __main__ as cli
from recurrent_lib.homework import sandbox
from recurrent_lib.homework.grade import RUNS_ID

ROOT = Path(__file__).resolve().parents[1]
SOLUTION_01 = ROOT / "solutions" / "01_rnn_equation.ipynb"
EXERCISE_01 = ROOT / "exercises" / "01_rnn_equation.ipynb"
CHECKS_FILE = ROOT / "recurrent_lib" / "homework" / "checks" / "rnn_equation.py"
TIMEOUT = 10  # seconds per cell: short, yet long enough for `import torch` on a busy machine


def can_sandbox() -> str | None:
    try:
        sandbox.check()
        return None
    except sandbox.Unavailable as reason:
        return str(reason)


pytestmark = pytest.mark.skipif(can_sandbox() is not None, reason=f"this machine cannot sandbox: {can_sandbox()}")

ATTACKS = {
    "writes outside": """
import os
for target in [{outside!r} + '/escaped.txt', {checks!r}, '/etc/escaped.txt', '/usr/escaped.txt']:
    try:
        with open(target, 'a') as f:
            f.write('escaped')
        raise RuntimeError('ESCAPED: wrote ' + target)
    except OSError:
        pass
""",
    "overwrites another submission": """
for target in [{alice!r}, {solution!r}]:
    try:
        open(target, 'w').write('{{}}')
        raise RuntimeError('ESCAPED: overwrote ' + target)
    except OSError:
        pass
""",
    "reads another submission": """
import os, sys
for target in [{alice!r}, {solution!r}]:
    try:
        open(target).read()
        raise RuntimeError('ESCAPED: read ' + target)
    except OSError:
        pass
skipped = ('/proc', '/sys', '/dev', '/usr', sys.prefix, sys.base_prefix)
seen = []
for folder, folders, files in os.walk('/'):
    folders[:] = [name for name in folders if not os.path.join(folder, name).startswith(skipped)]
    seen += [os.path.join(folder, name) for name in files if name.endswith('.ipynb')]
if seen != [os.path.abspath('01_rnn_equation.ipynb')]:
    raise RuntimeError(f'ESCAPED: sees {{seen}}')
""",
    "opens a socket to the host": """
import socket
for family, address in [(socket.AF_INET, ('127.0.0.1', {port})), (socket.AF_INET, ('1.1.1.1', 53))]:
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(3)
            s.connect(address)
            s.sendall(b'escaped')
        raise RuntimeError(f'ESCAPED: connected to {{address}}')
    except OSError:
        pass
""",
    "lists host processes": """
import os
commands = []
for pid in filter(str.isdigit, os.listdir('/proc')):
    try:
        commands.append(open(f'/proc/{{pid}}/cmdline', 'rb').read())
    except OSError:
        pass
if any(b'pytest' in c or b'recurrent_lib.homework' in c for c in commands) or len(commands) > 30:
    raise RuntimeError(f'ESCAPED: sees {{len(commands)}} processes')
""",
    "fork-bombs": """
import os, signal, subprocess, sys, time
bomb = subprocess.Popen([sys.executable, '-c', 'import os, time\\nwhile True:\\n    try:\\n        os.fork()\\n'
                         '    except OSError:\\n        time.sleep(0.05)'], start_new_session=True)
time.sleep(3)
count = sum(name.isdigit() for name in os.listdir('/proc'))
os.killpg(bomb.pid, signal.SIGKILL)
bomb.wait()
if count > {processes}:
    raise RuntimeError(f'ESCAPED: {{count}} processes')
""",
    "allocates past the limit": """
import torch
for allocate in (lambda: bytearray(6 << 30), lambda: torch.empty(2 ** 31)):
    try:
        allocate()
        raise RuntimeError('ESCAPED: allocated 6 GiB or more')
    except (MemoryError, RuntimeError) as error:
        if 'ESCAPED' in str(error):
            raise
""",
    "fills the disk": """
import os
written, index = 0, 0
try:
    with open('big', 'wb') as f:
        for _ in range(8):
            f.write(b'x' * (16 << 20))
    raise RuntimeError('ESCAPED: wrote a 128 MiB file')
except OSError:
    os.remove('big')
try:
    while written < (1 << 30):
        with open(f'fill{{index}}', 'wb') as f:
            f.write(b'x' * (32 << 20))
        written, index = written + (32 << 20), index + 1
    raise RuntimeError('ESCAPED: wrote 1 GiB')
except OSError:
    for i in range(index + 1):
        if os.path.exists(f'fill{{i}}'):
            os.remove(f'fill{{i}}')
""",
    "spins forever, deaf to interrupts": """
import signal
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    pass
""",
    "floods its output": """
import time
start = time.time()
while time.time() - start < 3:
    print('x' * 100_000)
""",
    "kills its own kernel": """
import os, signal
os.kill(os.getpid(), signal.SIGKILL)
""",
    "kills the grader's runner": """
import os, signal
os.kill(os.getppid(), signal.SIGKILL)
""",
    "monkeypatches the checks": """
import builtins, importlib.util, json, torch
import recurrent_lib.homework as hw
from recurrent_lib.homework import assignments, checks, exercise
try:
    open(checks.__path__[0] + '/rnn_equation.py', 'a').write('\\n# escaped')
    raise RuntimeError('ESCAPED: changed the checks on disk')
except OSError:
    pass
hw.check = assignments.check = lambda *args: print('✓ correct')
exercise.Exercise.verdict = lambda self, observations: (True, 'correct')
torch.allclose = lambda *args, **kwargs: True
for e in assignments.EXERCISES.values():
    object.__setattr__(e, 'judge', lambda results: None)
real_print = builtins.print
builtins.print = lambda *args, **kwargs: real_print(*args, '{{"1.1": {{"passed": true}}}}', **kwargs)
""",
}
# Expected (score, max score) of each graded student; the hostile cells that end without an error keep the
# "runs end to end" point; "kills the grader's runner" cannot be graded at all.
EXPECTED = {"alice (honest)": (6, 6), "bob (honest, unsolved)": (0, 6),
            **{attack: (6, 6) for attack in ATTACKS},
            "spins forever, deaf to interrupts": (5, 6), "kills its own kernel": (5, 6),
            "monkeypatches the checks": (0, 6), "kills the grader's runner": None}


def folder_name(student: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in student)


def insert_cell(source: Path, target: Path, code: str | None) -> None:
    """``source`` with ``code`` as a new cell after the check of exercise 1.1 (written to ``target``)."""
    notebook = nbformat.read(source, as_version=4)
    if code is not None:
        after = next(i for i, cell in enumerate(notebook.cells)
                     if cell.metadata.get("nbgrader", {}).get("grade_id") == "check_rnn_step")
        notebook.cells.insert(after + 1, nbformat.v4.new_code_cell(code))
    target.parent.mkdir(parents=True)
    nbformat.write(notebook, target)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def battery(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("battery")
    roster, outside = base / "class", base / "outside"
    outside.mkdir()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.5)
    received: list[bytes] = []
    stop = threading.Event()

    def listen() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
                received.append(connection.recv(100) or b"(connected)")
                connection.close()
            except OSError:
                pass

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    alice = roster / folder_name("alice (honest)") / "01_rnn_equation.ipynb"
    solution = base / "instructor" / "solutions" / "01_rnn_equation.ipynb"  # the instructor's files, outside
    insert_cell(SOLUTION_01, solution, None)
    values = {"outside": str(outside), "checks": str(CHECKS_FILE), "alice": str(alice), "solution": str(solution),
              "port": listener.getsockname()[1], "processes": sandbox.Limits().processes + 10}
    insert_cell(SOLUTION_01, alice, None)
    insert_cell(EXERCISE_01, roster / folder_name("bob (honest, unsolved)") / "01_rnn_equation.ipynb", None)
    for attack, code in ATTACKS.items():
        source = EXERCISE_01 if attack == "monkeypatches the checks" else SOLUTION_01
        insert_cell(source, roster / folder_name(attack) / "01_rnn_equation.ipynb", code.format(**values))
    submissions = sorted(roster.rglob("*.ipynb"))
    before = {path: digest(path) for path in [*submissions, solution]}
    start = time.perf_counter()
    process = subprocess.run([sys.executable, "-m", "recurrent_lib.homework", "grade", str(roster), "--jobs", "2",
                              "--timeout", str(TIMEOUT), "--json", str(base / "grades.json")],
                             capture_output=True, text=True, cwd=ROOT, timeout=900)
    seconds = time.perf_counter() - start
    time.sleep(1)
    stop.set()
    thread.join()
    listener.close()
    report = json.loads((base / "grades.json").read_text())
    print(f"\nthe battery: {len(submissions)} notebooks graded in {seconds:.1f} s (two at a time)")
    for notebook in report["notebooks"]:
        print(f"  {notebook['student']:<36} {notebook['score']}/{notebook['max_score']}  {notebook['seconds']:5.1f} s"
              f"  {notebook['error'] or ''}")
    return {"process": process, "report": report, "received": received, "outside": outside,
            "changed": [str(path) for path, value in before.items() if digest(path) != value]}


def graded(battery: dict) -> dict[str, dict]:
    return {notebook["student"]: notebook for notebook in battery["report"]["notebooks"]}


def test_the_grader_finishes_and_reports_its_sandbox(battery: dict) -> None:
    assert "Traceback" not in battery["process"].stdout + battery["process"].stderr
    assert battery["process"].returncode == 2  # one submission killed the grader's runner: it cannot be graded
    assert battery["report"]["sandbox"].startswith("bubblewrap")
    assert battery["report"]["totals"]["notebooks"] == len(EXPECTED)


def test_nothing_outside_the_scratch_folder_changes(battery: dict) -> None:
    assert battery["changed"] == []
    assert b"escaped" not in CHECKS_FILE.read_bytes()  # (other edits to the course's files are not the battery's)
    assert list(battery["outside"].iterdir()) == []
    assert not Path("/etc/escaped.txt").exists() and not Path("/usr/escaped.txt").exists()


def test_the_host_listener_receives_nothing(battery: dict) -> None:
    assert battery["received"] == []


def test_no_hostile_cell_escaped(battery: dict) -> None:
    for student, notebook in graded(battery).items():
        assert not any("ESCAPED" in note for note in notebook["notes"]), (student, notebook["notes"])


@pytest.mark.parametrize("student", list(EXPECTED))
def test_every_score_is_exact(battery: dict, student: str) -> None:
    notebook = graded(battery)[folder_name(student)]
    expected = EXPECTED[student]
    if expected is None:
        assert notebook["graded"] is False and notebook["error"].startswith("could not run the notebook")
        return
    assert (notebook["score"], notebook["max_score"]) == expected, notebook
    exercises = [e for e in notebook["exercises"] if e["id"] != RUNS_ID]
    assert all(e["passed"] for e in exercises) or not any(e["passed"] for e in exercises)


def test_a_deaf_endless_loop_is_skipped_like_a_kernel_killer(battery: dict) -> None:
    notebook = graded(battery)[folder_name("spins forever, deaf to interrupts")]
    assert any("import signal" in note and "ignored the interrupt" in note for note in notebook["notes"])


def test_the_wall_clock_limit_kills_the_whole_sandbox() -> None:
    start = time.perf_counter()
    finished = sandbox.run(["/bin/sh", "-c", "sleep 100 & sleep 100"], readable=[], env={},
                           limits=sandbox.Limits(wall_seconds=1))
    assert finished.killed and time.perf_counter() - start < 60  # long before the sleeps' 100 s, on any machine


def test_output_beyond_the_cap_is_cut_off() -> None:
    finished = sandbox.run(["/usr/bin/yes"], readable=[], env={}, limits=sandbox.Limits(wall_seconds=30),
                           max_output=1000)
    assert finished.overflow and len(finished.stdout) == 1000 and not finished.killed


@pytest.mark.parametrize("why, expected", [("no user namespaces", "sysctl"), ("macOS", "WSL2")])
def test_without_a_sandbox_grading_stops_and_says_how_to_fix_it(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, why: str, expected: str) -> None:
    sandbox.check.cache_clear()
    if why == "macOS":
        monkeypatch.setattr(sys, "platform", "darwin")
    else:
        monkeypatch.setattr(sandbox, "bwrap", lambda: "/bin/false")
    try:
        assert cli.main(["grade", str(SOLUTION_01)]) == 2
    finally:
        sandbox.check.cache_clear()
    error = capsys.readouterr().err
    assert error.startswith("grade: cannot grade safely: ") and expected in error and "--no-sandbox" in error
