"""Start ``python -m harness ...`` as a real process without paying for its imports each time.

Most of the time of a test that runs the CLI in a subprocess goes on importing torch, transformers
and accelerate (about four seconds of a core each time, against a second or two of training on the
bundled samples). A *zygote* imports them once per test worker and forks a child for every command:
the child is an ordinary process of its own (its own pid, stdio, environment, working directory and
umask; signals, SIGKILL and exit codes behave as for any process) that runs exactly what
``python -m harness`` runs, with those libraries already imported.

What the children share, and so what tests that need fresh interpreters must not use this for: the
hash seed of one zygote, and whatever the preloaded libraries read from the environment when they
were imported. So a command whose environment differs from the zygote's in a variable those
libraries read (``HF_*``, ``TRANSFORMERS_*``, ``TORCH*``, thread counts ...) is started as a plain
subprocess instead, as is every command when ``XHARNESS_TEST_ZYGOTE=0``. Tests of the console
script itself, of import weight, of determinism across fresh processes and of torchrun keep
plain subprocesses.

Used as ``popen(args, ...)`` and ``run(args, ...)``: ``subprocess.Popen`` and ``subprocess.run``
for ``[sys.executable, "-m", "harness", ...]`` or ``[sys.executable, "SCRIPT.py", ...]``, with the same
arguments tests pass.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

#: Environment variables read at import by the libraries the zygote preloads (or by the interpreter):
#: a command that sets any of them differently runs as a plain subprocess.
IMPORT_TIME_ENV = ("HF_", "HUGGINGFACE", "TRANSFORMERS", "TORCH", "PYTORCH", "ACCELERATE", "OMP_", "MKL_",
                   "OPENBLAS_", "TOKENIZERS", "CUDA", "PYTHON", "XDG_CACHE_HOME", "HOME", "LD_", "SAFETENSORS",
                   "DATASETS", "TQDM", "NUMEXPR", "KMP_", "PATH")
PRELOAD = ("torch", "accelerate", "transformers", "transformers.models.xlm_roberta.modeling_xlm_roberta",
           "transformers.models.bert.modeling_bert", "safetensors.torch", "numpy")


# ---------------------------------------------------------------------------- the server --------

def _serve(path: str) -> None:
    import importlib

    for module in PRELOAD:
        importlib.import_module(module)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    print("ready", flush=True)
    children: dict[int, socket.socket] = {}
    parent = os.getppid()
    while True:
        ready, _, _ = select.select([listener], [], [], 0.02)
        if ready:
            conn, _ = listener.accept()
            pid = _fork_child(conn, listener, children)
            if pid is not None:
                children[pid] = conn
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            conn = children.pop(pid, None)
            if conn is not None:
                code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
                try:
                    conn.sendall(json.dumps({"status": code}).encode() + b"\n")
                except OSError:
                    pass
                conn.close()
        if os.getppid() != parent:  # the test worker is gone
            os._exit(0)


def _fork_child(conn: socket.socket, listener: socket.socket, children: dict) -> int | None:
    message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
    request = json.loads(message.decode())
    if threading.active_count() != 1:  # never fork a process with threads
        conn.sendall(json.dumps({"refused": "threads"}).encode() + b"\n")
        conn.close()
        return None
    pid = os.fork()
    if pid:
        for fd in fds:
            os.close(fd)
        conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        return pid
    # the child: an ordinary process from here on
    code = 1
    try:
        listener.close()
        for other in children.values():
            other.close()
        conn.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        if request.get("new_session"):  # as Popen(start_new_session=True)
            os.setsid()
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        os.umask(request["umask"])
        signal.signal(signal.SIGINT, signal.default_int_handler)
        unbuffered = bool(request["env"].get("PYTHONUNBUFFERED"))
        sys.stdout.reconfigure(line_buffering=os.isatty(1), write_through=unbuffered)
        sys.stderr.reconfigure(line_buffering=True, write_through=unbuffered)
        sys.stdin = open(0, closefd=False)
        import runpy

        argv = request["argv"]
        try:
            if argv[0] == "-m":  # python -m MODULE ...: the working directory first on the path
                sys.argv = [argv[1], *argv[2:]]
                sys.path.insert(0, request["cwd"])
                runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
            else:  # python SCRIPT ...: the script's folder first on the path
                sys.argv = list(argv)
                sys.path.insert(0, os.path.dirname(os.path.abspath(os.path.join(request["cwd"], argv[0]))))
                runpy.run_path(argv[0], run_name="__main__")
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
            if not isinstance(stop.code, (int, type(None))):
                print(stop.code, file=sys.stderr)
        except KeyboardInterrupt:
            code = 130
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        import atexit as _atexit

        _atexit._run_exitfuncs()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


# ---------------------------------------------------------------------------- the client --------

_server: dict = {}


def _start_server() -> tuple[str, dict[str, str]] | None:
    if "path" in _server:
        return _server["path"], _server["env"]
    if os.environ.get("XHARNESS_TEST_ZYGOTE", "1") == "0" or not hasattr(socket, "send_fds"):
        return None
    folder = tempfile.mkdtemp(prefix="xh-zygote-")
    path = os.path.join(folder, "socket")
    env = dict(os.environ)
    process = subprocess.Popen([sys.executable, __file__, path], stdout=subprocess.PIPE, text=True, env=env)
    if process.stdout.readline().strip() != "ready":
        process.kill()
        return None
    atexit.register(process.kill)
    _server.update(path=path, env=env, process=process)
    return path, env


def _differs(env: dict[str, str], base: dict[str, str]) -> bool:
    keys = {k for k in (*env, *base) if k.startswith(IMPORT_TIME_ENV) and k != "PYTHONUNBUFFERED"}
    return any(env.get(k) != base.get(k) for k in keys)


def _is_harness(args) -> bool:
    """``python -m harness ...``, or ``python SCRIPT.py ...`` (a test's own worker script)."""
    if len(args) < 2 or str(args[0]) != sys.executable:
        return False
    if len(args) >= 3 and list(map(str, args[1:3])) == ["-m", "harness"]:
        return True
    return str(args[1]).endswith(".py") and not str(args[1]).startswith("-")


class ZygoteProcess:
    """A child of the zygote, with the parts of ``subprocess.Popen`` tests use."""

    def __init__(self, args, stdin=None, stdout=None, stderr=None, text=False, env=None, cwd=None,
                 start_new_session=False, path=None):
        self.args = args
        self.returncode: int | None = None
        self.stdin = self.stdout = self.stderr = None
        child_fds, close_here = [], []

        def stream(spec, fd: int, mode: str):
            if spec is None:
                return fd, None
            if spec == subprocess.DEVNULL:
                null = os.open(os.devnull, os.O_RDWR)
                close_here.append(null)
                return null, None
            if spec == subprocess.PIPE:
                read, write = os.pipe()
                mine, theirs = (write, read) if mode == "w" else (read, write)
                close_here.append(theirs)
                return theirs, open(mine, mode + ("" if text else "b"), **({"encoding": "utf-8"} if text else {}))
            if spec == subprocess.STDOUT:
                return child_fds[1], None
            return (spec if isinstance(spec, int) else spec.fileno()), None

        for number, (spec, mode) in enumerate(((stdin, "w"), (stdout, "r"), (stderr, "r"))):
            fd, mine = stream(spec, number, mode)
            child_fds.append(fd)
            setattr(self, ("stdin", "stdout", "stderr")[number], mine)
        self._conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._conn.connect(path)
        request = {"argv": [str(a) for a in args[1:]], "env": dict(env if env is not None else os.environ),
                   "cwd": str(cwd if cwd is not None else os.getcwd()), "umask": _umask(),
                   "new_session": start_new_session}
        socket.send_fds(self._conn, [json.dumps(request).encode()], child_fds)
        for fd in close_here:
            os.close(fd)
        self._replies = self._conn.makefile("r", encoding="utf-8")
        reply = json.loads(self._replies.readline())
        if "pid" not in reply:
            raise OSError(f"the zygote refused: {reply}")
        self.pid = reply["pid"]

    def poll(self) -> int | None:
        if self.returncode is None:
            ready, _, _ = select.select([self._conn], [], [], 0)
            if ready:
                self._read_status()
        return self.returncode

    def _read_status(self) -> None:
        line = self._replies.readline()
        self.returncode = json.loads(line)["status"] if line else -signal.SIGKILL
        self._conn.close()

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            ready, _, _ = select.select([self._conn], [], [], timeout)
            if not ready:
                raise subprocess.TimeoutExpired(self.args, timeout)
            self._read_status()
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def communicate(self, input=None, timeout=None):
        found: dict[str, object] = {}

        def drain(name: str) -> None:
            handle = getattr(self, name)
            found[name] = handle.read()
            handle.close()

        readers = [threading.Thread(target=drain, args=(n,), daemon=True) for n in ("stdout", "stderr")
                   if getattr(self, n) is not None]
        for reader in readers:
            reader.start()
        if self.stdin is not None:
            if input:
                self.stdin.write(input)
            self.stdin.close()
        began = time.monotonic()
        self.wait(timeout)
        for reader in readers:
            reader.join(None if timeout is None else max(1.0, timeout - (time.monotonic() - began)))
        return found.get("stdout"), found.get("stderr")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for handle in (self.stdout, self.stderr, self.stdin):
            if handle is not None:
                handle.close()
        self.wait()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def popen(args, **kwargs):
    """``subprocess.Popen(args, **kwargs)``; for ``python -m harness`` a zygote's child where it may be."""
    env = kwargs.get("env")
    if _is_harness(args) and not kwargs.get("shell"):
        server = _start_server()
        if server is not None and not _differs(dict(env if env is not None else os.environ), server[1]):
            allowed = {k: kwargs[k] for k in ("stdin", "stdout", "stderr", "text", "env", "cwd", "start_new_session")
                       if k in kwargs}
            if set(kwargs) <= set(allowed) | {"universal_newlines"}:
                if kwargs.get("universal_newlines"):
                    allowed["text"] = True
                try:
                    return ZygoteProcess(args, path=server[0], **allowed)
                except OSError:  # the zygote refused (it had a thread) or is gone: a plain subprocess
                    pass
    return subprocess.Popen(args, **kwargs)


def run(args, *, capture_output=False, timeout=None, check=False, input=None, **kwargs):
    """``subprocess.run`` through :func:`popen`."""
    if capture_output:
        kwargs["stdout"] = kwargs["stderr"] = subprocess.PIPE
    if input is not None:
        kwargs["stdin"] = subprocess.PIPE
    process = popen(args, **kwargs)
    try:
        out, err = process.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise
    done = subprocess.CompletedProcess(args, process.returncode, out, err)
    if check:
        done.check_returncode()
    return done


if __name__ == "__main__":
    sys.path[:] = [p for p in sys.path if Path(p).resolve() != Path(__file__).resolve().parent]
    _serve(sys.argv[1])
