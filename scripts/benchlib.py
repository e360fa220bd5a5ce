"""What every measuring script in scripts/ needs: a RESP client, servers on free ports, CPU and RSS readings.

Import it from a script in this directory with `from benchlib import ...` (Python puts the script's own
directory first on `sys.path`). Nothing here measures by itself.
"""
import os
import socket
import subprocess
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --------------------------------------------------------------------------------------------- RESP client


class Error(str):
    """An error reply (without its leading `-`)."""


def encode(args):
    """One command as a RESP2 array of bulk strings (str and int arguments are encoded as text)."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    """A blocking RESP2 connection: enough for INFO, DBSIZE, setup commands and pipelined blasts."""

    def __init__(self, port, timeout=30.0, host="127.0.0.1", unix=None):
        if unix:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(unix)
        else:
            self.sock = socket.create_connection((host, port), timeout=timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def _line(self):
        while True:
            end = self.buf.find(b"\r\n")
            if end >= 0:
                line, self.buf = self.buf[:end], self.buf[end + 2 :]
                return line
            self._fill()

    def reply(self):
        """The next reply: bytes, int, None, list, or an Error instance."""
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            return Error(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n + 2 :]
            return data
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise ValueError(f"unexpected reply line {line[:60]!r}")

    def call(self, *args):
        """Sends one command; returns its reply (an Error instance for an error reply)."""
        self.sock.sendall(encode(args))
        return self.reply()

    def ok(self, *args):
        """Like `call`, but an error reply raises RuntimeError."""
        r = self.call(*args)
        if isinstance(r, Error):
            raise RuntimeError(f"{args[0]}: {r}")
        return r

    def info(self, section=""):
        """INFO [section] as a dict of field -> text."""
        text = self.call("INFO", section) if section else self.call("INFO")
        fields = {}
        for line in text.decode().splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                fields[k] = v
        return fields

    def blast(self, payload, count):
        """Sends a pre-encoded pipeline of `count` commands whose replies are single lines (+OK, -ERR, :n);
        returns (replies, error replies, first error)."""
        sender = threading.Thread(target=self.sock.sendall, args=(payload,), daemon=True)
        sender.start()
        lines = errors = 0
        first_error = None
        while lines < count:
            self._fill()
            # Every complete line is one reply; keep the partial tail.
            cut = self.buf.rfind(b"\r\n") + 2
            if cut < 2:
                continue
            done, self.buf = self.buf[:cut], self.buf[cut:]
            lines += done.count(b"\r\n")
            if b"-" in done:
                for line in done.split(b"\r\n"):
                    if line.startswith(b"-"):
                        errors += 1
                        first_error = first_error or line.decode(errors="replace")
        sender.join()
        return lines, errors, first_error

    def blast_ok(self, commands, lines_per_reply=1):
        """Pipelines already-encoded commands whose replies are `lines_per_reply` lines each (1 for +OK or :n,
        2 for a bulk string such as XADD's id); an error reply raises RuntimeError."""
        _, errors, first = self.blast(b"".join(commands), len(commands) * lines_per_reply)
        if errors:
            raise RuntimeError(first)


def command(port, *args):
    """One command on a fresh connection; its reply, or RuntimeError for an error reply."""
    with Conn(port) as c:
        return c.ok(*args)


def info(port, section=""):
    """INFO [section] of the server on `port`, as a dict."""
    with Conn(port) as c:
        return c.info(section)


# --------------------------------------------------------------------------------------------- processes


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_cluster_port():
    """A free port whose cluster bus port (port + 10000) is free too and within range."""
    import random

    for _ in range(1000):
        port = random.randint(20000, 45000)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 10000))
                return port
        except OSError:
            continue
    raise RuntimeError("no free port pair")


def zedis_bin():
    """target/release/zedis-server (under CARGO_TARGET_DIR if set), or $ZEDIS_BIN."""
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.environ.get("ZEDIS_BIN", os.path.join(target, "release", "zedis-server"))


def spawn(argv, cwd=None, port=None, wait_s=30.0, subst=None):
    """Starts `argv` with every `{port}` replaced by `port` (a free one if None), and every `{name}` of
    `subst` by its value, and waits until PING answers. Returns (process, port); output goes to /dev/null."""
    port = port or free_port()
    subst = dict(subst or {}, port=port)
    for name, value in subst.items():
        argv = [a.replace("{%s}" % name, str(value)) for a in argv]
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            if command(port, "PING") == b"PONG":
                return proc, port
        except (OSError, RuntimeError):
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"{argv[0]} did not start")


def stop(proc):
    """Kills a server started by `spawn` and reaps it."""
    if proc and proc.poll() is None:
        proc.kill()
    if proc:
        proc.wait()


def cpu_ns(pid):
    """CPU time of every thread of `pid` so far, in ns (/proc/PID/task/*/schedstat)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def rss_bytes(pid):
    """Resident set size of `pid` in bytes (VmRSS)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def benchmark(pid, port, args, requests, pipeline, random_keys=100000, clients=50, extra=(), target=None):
    """redis-benchmark of one command (`args`, or `-t name` in `extra`) against the server `pid` on `port`
    (or through `target`, e.g. `["-s", socket_path]`). Returns (requests per wall second as redis-benchmark
    reports it, requests per second of server CPU, wall seconds)."""
    before = cpu_ns(pid)
    t0 = time.monotonic()
    out = subprocess.run(
        ["redis-benchmark"] + (target or ["-p", str(port)]) + ["-n", str(requests), "-c", str(clients),
                                                               "-P", str(pipeline),
         "-r", str(random_keys), "-q", "--csv"] + list(extra) + list(args),
        check=True, capture_output=True, text=True, timeout=600,
    ).stdout
    wall = time.monotonic() - t0
    cpu = (cpu_ns(pid) - before) / 1e9
    rows = [line for line in out.splitlines() if line and not line.startswith('"test"')]
    if not rows:
        raise RuntimeError(f"no result from redis-benchmark: {out}")
    rps = float(rows[-1].split(",")[1].strip('"'))
    return rps, requests / cpu if cpu > 0 else float("nan"), wall
