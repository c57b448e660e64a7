"""The course on JupyterHub, end to end, on this machine: `./course hub-test` runs this.

A local hub on 127.0.0.1 (hub/jupyterhub_config.py plus dummy authentication, the local-process spawner
and the Python port of configurable-http-proxy; nothing beyond loopback), in a temporary folder:

1. two students, alice and bob, log in through the hub's login form, and their servers are spawned;
2. each finds their own copy of the course (lessons and homework) in ~/rnn-course/;
3. lesson 01 runs top to bottom in alice's `rnn-course` kernel, through the proxy's websocket;
4. bob's submission (the solved homework 01, saved through the hub) is collected through the hub and
   graded by `python -m recurrent_lib.homework grade` (in its sandbox): full marks.

Prints each step with its time; exit status 0 when every step passed.
"""
import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import nbformat
import requests
from tornado.websocket import websocket_connect

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STUDENTS = ("alice", "bob")
LESSON = "notebooks/01_rnn_equation.ipynb"
HOMEWORK = "exercises/01_rnn_equation.ipynb"
START_TIMEOUT = 120  # seconds for the hub, then for each server, to come up


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(state: Path, port: int, token: str) -> Path:
    """The local test's own settings, on top of the course's."""
    config = state / "jupyterhub_config.py"
    config.write_text(f"""
c = get_config()
load_subconfig({str(HERE / 'jupyterhub_config.py')!r})
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {free_port()}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.command = [{str(Path(sys.prefix) / 'bin' / 'configurable-http-proxy')!r}]
c.JupyterHub.db_url = "sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = {str(state / 'cookie_secret')!r}
c.JupyterHub.pid_file = {str(state / 'jupyterhub.pid')!r}
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = "course"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {str(state / 'home' / '{username}')!r}
c.Spawner.cmd = [{str(Path(sys.prefix) / 'bin' / 'jupyterhub-singleuser')!r}]
c.Spawner.args = ["--allow-root"] if {os.geteuid() == 0} else []
c.Spawner.start_timeout = {START_TIMEOUT}
c.Spawner.http_timeout = {START_TIMEOUT}
c.JupyterHub.services = [{{"name": "smoke-test", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{"name": "smoke-test", "services": ["smoke-test"],
                             "scopes": ["admin:users", "admin:servers", "access:servers", "read:users"]}}]
""")
    return config


def wait_for(what: str, ready, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise SystemExit(f"hub smoke test: {what} did not come up within {timeout} s")


def log_in(url: str, name: str) -> requests.Session:
    """Log in through the hub's login form, as a browser would (the _xsrf cookie and field included)."""
    session = requests.Session()
    session.get(f"{url}/hub/login").raise_for_status()
    response = session.post(f"{url}/hub/login", data={"username": name, "password": "course",
                                                         "_xsrf": session.cookies.get("_xsrf", "")})
    response.raise_for_status()
    assert "jupyterhub-hub-login" in session.cookies, f"{name} is not logged in: {response.url}"
    return session


def run_lesson(url: str, api: dict[str, str], name: str, notebook: nbformat.NotebookNode) -> int:
    """Run every code cell of ``notebook`` in a new `rnn-course` kernel of ``name``'s server; the cells run."""
    base = f"{url}/user/{name}/api/kernels"
    kernel = requests.post(base, headers=api, json={"name": "rnn-course"})
    kernel.raise_for_status()
    kernel_id = kernel.json()["id"]
    ws_url = base.replace("http", "ws", 1) + f"/{kernel_id}/channels"
    return asyncio.run(_execute_all(ws_url, api, [c.source for c in notebook.cells if c.cell_type == "code"]))


async def _execute_all(ws_url: str, headers: dict[str, str], sources: list[str]) -> int:
    from tornado.httpclient import HTTPRequest
    connection = await websocket_connect(HTTPRequest(ws_url, headers=headers), max_message_size=64 << 20)
    session = uuid.uuid4().hex
    for index, source in enumerate(sources):
        msg_id = uuid.uuid4().hex
        await connection.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": session, "username": "smoke",
                       "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": source, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        while True:
            message = await asyncio.wait_for(connection.read_message(), timeout=300)
            if message is None:
                raise SystemExit(f"hub smoke test: the kernel's websocket closed during cell {index + 1}")
            if isinstance(message, bytes):
                continue
            reply = json.loads(message)
            if reply.get("parent_header", {}).get("msg_id") == msg_id and reply["msg_type"] == "execute_reply":
                if reply["content"]["status"] != "ok":
                    raise SystemExit(f"hub smoke test: cell {index + 1} of the lesson raised "
                                     f"{reply['content'].get('ename')}: {reply['content'].get('evalue')}")
                break
    connection.close()
    return len(sources)


def main() -> int:
    start = time.perf_counter()

    def step(text: str) -> None:
        print(f"[{time.perf_counter() - start:5.1f} s] {text}", flush=True)

    with tempfile.TemporaryDirectory(prefix="hub-smoke-") as folder:
        state = Path(folder)
        port, token = free_port(), secrets.token_hex(32)
        url, api = f"http://127.0.0.1:{port}", {"Authorization": f"token {token}"}
        env = {**os.environ, "COURSE_ROOT": str(ROOT), "PATH": f"{Path(sys.prefix) / 'bin'}:{os.environ['PATH']}"}
        log = (state / "hub.log").open("w")
        config = write_config(state, port, token)
        hub = subprocess.Popen([str(Path(sys.prefix) / "bin" / "jupyterhub"), "-f", str(config)],
                               cwd=state, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for("the hub", lambda: requests.get(f"{url}/hub/api", timeout=2).ok)
            step(f"hub up on {url} (dummy authentication, local-process spawner, Python proxy)")
            sessions = {name: log_in(url, name) for name in STUDENTS}
            step(f"{' and '.join(STUDENTS)} logged in through the login form")
            for name in STUDENTS:
                response = requests.post(f"{url}/hub/api/users/{name}/server", headers=api)
                assert response.status_code in (201, 202), response.text
            for name in STUDENTS:
                wait_for(f"{name}'s server", lambda name=name: requests.get(
                    f"{url}/hub/api/users/{name}", headers=api).json()["servers"].get("", {}).get("ready"))
                listing = requests.get(f"{url}/user/{name}/api/contents/rnn-course/exercises", headers=api)
                listing.raise_for_status()
                assert "01_rnn_equation.ipynb" in {item["name"] for item in listing.json()["content"]}, listing.text
                page = sessions[name].get(f"{url}/user/{name}/lab")
                assert page.ok, f"{name} cannot open JupyterLab through the hub: {page.status_code}"
            step("both servers spawned; each student has ~/rnn-course/ (lessons, homework) and opens JupyterLab")
            specs = requests.get(f"{url}/user/alice/api/kernelspecs", headers=api).json()["kernelspecs"]
            assert "rnn-course" in specs, f"no rnn-course kernel on the students' servers: {sorted(specs)}"
            cells = run_lesson(url, api, "alice", nbformat.read(ROOT / LESSON, as_version=4))
            step(f"lesson 01 ran top to bottom in alice's rnn-course kernel through the hub ({cells} code cells)")
            solved = nbformat.writes(nbformat.read(ROOT / "solutions" / "01_rnn_equation.ipynb", as_version=4))
            saved = requests.put(f"{url}/user/bob/api/contents/rnn-course/{HOMEWORK}", headers=api,
                                 json={"type": "notebook", "format": "json", "content": json.loads(solved)})
            saved.raise_for_status()
            collected = requests.get(f"{url}/user/bob/api/contents/rnn-course/{HOMEWORK}", headers=api)
            collected.raise_for_status()
            submission = state / "collected" / "bob" / "01_rnn_equation.ipynb"
            submission.parent.mkdir(parents=True)
            nbformat.write(nbformat.from_dict(collected.json()["content"]), submission)
            graded = subprocess.run([sys.executable, "-m", "recurrent_lib.homework", "grade", str(state / "collected")],
                                    capture_output=True, text=True, cwd=ROOT)
            assert graded.returncode == 0, graded.stdout + graded.stderr
            step(f"bob's submission, collected through the hub, graded: {graded.stdout.split()[-1]}")
        except (AssertionError, requests.RequestException) as error:
            log.flush()
            tail = (state / "hub.log").read_text()[-3000:]
            print(f"hub smoke test FAILED: {error}\n--- the hub's log (end) ---\n{tail}", file=sys.stderr)
            return 1
        finally:
            for name in STUDENTS:
                try:
                    requests.delete(f"{url}/hub/api/users/{name}/server", headers=api, timeout=30)
                except requests.RequestException:
                    pass
            hub.terminate()
            try:
                hub.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(hub.pid, 9)
            log.close()
    step("hub stopped: the smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
