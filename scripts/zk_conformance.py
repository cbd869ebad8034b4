#!/usr/bin/env python3
"""Run zabsim `zk-script` scripts against a REAL Apache ZooKeeper server.

Produces crates/cli/tests/zk_conformance/NN-name.expected.jsonl from
NN-name.jsonl: one JSON line per script line, built only from the answers of
the real server (and, for path validation, of the real ZooKeeper Java client
library, see below). Nothing in an expected file is written by hand.

Recorded with: Debian bookworm package `zookeeper` 3.8.0-11+deb12u2
(server reports "Zookeeper version: 3.8.0"), OpenJDK 17.0.15, Python 3.11,
kazoo 2.11.0.

How to regenerate
-----------------
    apt-get update
    apt-get install -y zookeeper          # 3.8.0 jars in /usr/share/java
    pip install kazoo==2.11.0             # Python client

    # Either let the harness start (and afterwards stop) a throwaway
    # standalone server (config + dataDir under a fresh /tmp directory,
    # 127.0.0.1:21810, tickTime 2000, admin server off):
    python3 scripts/zk_conformance.py --start-server --write

    # or start one yourself, e.g.
    #   mkdir -p /tmp/zkconf && cat > /tmp/zkconf/zk.cfg <<EOF
    #   tickTime=2000
    #   dataDir=/tmp/zkconf/data
    #   clientPort=21810
    #   clientPortAddress=127.0.0.1
    #   maxClientCnxns=0
    #   admin.enableServer=false
    #   EOF
    #   java -cp /usr/share/java/zookeeper.jar \
    #       org.apache.zookeeper.server.quorum.QuorumPeerMain /tmp/zkconf/zk.cfg &
    # and run
    python3 scripts/zk_conformance.py --write          # (re)write expected files
    python3 scripts/zk_conformance.py --check          # compare with expected files
    python3 scripts/zk_conformance.py FILE.jsonl       # print one script's output

Every script is run twice (each time under its own fresh chroot node) and the
two outputs must be identical; if they are not, that case's expected file is
not written and the harness exits 1. --start-server stops the server it
started before exiting; a server you started yourself is left running (stop
it with `kill <its pid>`).

How it works
------------
* Isolation: each run creates a fresh node `/conf-<case>-<nonce>-<run>` (empty
  data) and runs every session of the script under that node as chroot, so
  the script sees an empty root (a real root also holds `/zookeeper`). The
  chroot node is deleted afterwards.
* Client semantics are those of the Java client (org.apache.zookeeper.ZooKeeper
  3.8), not kazoo's: kazoo is only the transport. Its sessions connect
  without a chroot and the harness sends the raw protocol requests (create
  opcode 1 with OPEN_ACL_UNSAFE, delete, setData, getData, exists,
  getChildren) with the path mapped like the Java client's prependChroot
  ("/" -> the chroot node, "/x" -> chroot + "/x") and the created path
  stripped of the chroot. kazoo's own path handling is bypassed because it
  normalises paths the Java client rejects.
  Two places where the Java chroot client does not behave like a real root
  and the harness does what the server does on a real root instead:
    - delete "/": the Java client sends "/" itself (not chroot-prefixed), so
      this goes to the real root; the server answers BadArguments.
    - create "/" sequential: the server appends the suffix to "/", making a
      child of the root; the harness sends chroot + "/" (the Java client with
      a chroot would send the bare chroot path and create a sibling of it).
  Refused (the harness stops with an error): set on "/" (it would change the
  chroot node, unlike a real root) and any path under /zookeeper.
  What "/" answers under a chroot (exists, get, children, create "/" ->
  NodeExists) is the answer of a fresh empty root: version 0, empty data,
  cversion/num_children counting only the script's own children.
* Sessions: a script's session index maps to one kazoo client (one ZooKeeper
  session); it connects on first use; `close_session` stops and closes it
  (kazoo sends closeSession and waits for the server's answer, by which time
  the session's ephemerals are deleted); the same index used again connects a
  new session.
* Path validation: the ZooKeeper Java client validates every path locally
  (`PathUtils.validatePath(path, createMode.isSequential())` for create,
  `PathUtils.validatePath(path)` for delete/setData/getData/exists/
  getChildren) and throws IllegalArgumentException before sending anything.
  The harness asks the real `org.apache.zookeeper.common.PathUtils` from
  /usr/share/java/zookeeper.jar (a tiny Java program, run once per harness
  run for all paths of all scripts) and, when it rejects the path, prints
  {"ok":false,"error":"BadArguments"} without sending the operation. These
  are the only lines not answered by the server; they are the lines mapped
  by hand (IllegalArgumentException -> BadArguments), see the README.
* Errors: kazoo's exceptions carry ZooKeeper's error codes; the name printed
  is the Java KeeperException code name (NoNode, NodeExists, BadVersion,
  NotEmpty, NoChildrenForEphemerals, BadArguments). Any other error (e.g.
  ConnectionLoss) aborts the harness.
"""

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from kazoo.client import KazooClient
from kazoo import exceptions as kex
from kazoo.protocol.serialization import Create, Delete, Exists, GetChildren, GetData, SetData
from kazoo.security import OPEN_ACL_UNSAFE

ZK_JAR = "/usr/share/java/zookeeper.jar"
HERE = os.path.dirname(os.path.abspath(__file__))
CASE_DIR = os.path.join(HERE, "..", "crates", "cli", "tests", "zk_conformance")

# ZooKeeper error codes -> Java KeeperException.Code names printed by zabsim.
ERROR_NAMES = {
    kex.NoNodeError: "NoNode",
    kex.NodeExistsError: "NodeExists",
    kex.BadVersionError: "BadVersion",
    kex.NotEmptyError: "NotEmpty",
    kex.NoChildrenForEphemeralsError: "NoChildrenForEphemerals",
    kex.BadArgumentsError: "BadArguments",
}

MODES = {
    # mode -> (ephemeral, sequence)
    "persistent": (False, False),
    "ephemeral": (True, False),
    "persistent_sequential": (False, True),
    "ephemeral_sequential": (True, True),
}

PATH_CHECK_JAVA = r"""
import java.io.*;
import java.nio.charset.StandardCharsets;
import org.apache.zookeeper.common.PathUtils;
public class PathCheck {
  public static void main(String[] a) throws Exception {
    BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
    String line;
    while ((line = r.readLine()) != null) {
      boolean seq = line.charAt(0) == '1';
      String hex = line.substring(2);
      byte[] b = new byte[hex.length() / 2];
      for (int i = 0; i < b.length; i++) b[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
      String p = new String(b, StandardCharsets.UTF_8);
      try { PathUtils.validatePath(p, seq); System.out.println("ok"); }
      catch (IllegalArgumentException e) { System.out.println("bad"); }
    }
  }
}
"""


class PathValidator:
    """Answers from the real ZooKeeper client's PathUtils.validatePath."""

    def __init__(self):
        self.cache = {}

    def prefetch(self, pairs):
        todo = sorted({p for p in pairs if p not in self.cache})
        if not todo:
            return
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "PathCheck.java")
            with open(src, "w") as f:
                f.write(PATH_CHECK_JAVA)
            stdin = "".join(
                "%d %s\n" % (1 if seq else 0, path.encode("utf-8").hex())
                for path, seq in todo
            )
            out = subprocess.run(
                ["java", "-cp", ZK_JAR, src],
                input=stdin, capture_output=True, text=True, check=True,
            ).stdout.split("\n")[:-1]
        if len(out) != len(todo):
            raise RuntimeError("PathCheck answered %d lines for %d paths" % (len(out), len(todo)))
        for key, ans in zip(todo, out):
            self.cache[key] = ans == "ok"

    def valid(self, path, seq):
        return self.cache[(path, seq)]


def stat_json(st):
    return {
        "version": st.version,
        "cversion": st.cversion,
        "aversion": st.aversion,
        "num_children": st.numChildren,
        "data_length": st.dataLength,
        "ephemeral": st.ephemeralOwner != 0,
    }


def parse_script(path):
    ops = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            op = json.loads(line)
            if op.get("op") not in ("create", "delete", "set", "get", "exists", "children", "close_session"):
                raise ValueError("%s:%d: unknown op %r" % (path, n, op.get("op")))
            if op["op"] == "create" and op.get("mode", "persistent") not in MODES:
                raise ValueError("%s:%d: unknown mode %r" % (path, n, op.get("mode")))
            check_supported(op)
            ops.append(op)
    return ops


def path_checks(ops):
    for op in ops:
        if op["op"] == "close_session":
            continue
        seq = op["op"] == "create" and MODES[op.get("mode", "persistent")][1]
        yield (op["path"], seq)


def server_path(chroot, client_path):
    """The Java client's ZooKeeper.prependChroot."""
    if len(client_path) == 1:
        return chroot
    return chroot + client_path


def call(client, request):
    """Send one request on a session and wait for its answer (kazoo raises
    the ZooKeeper error of a failed answer; Exists on a missing node -> None)."""
    result = client.handler.async_result()
    client._call(request, result)
    return result.get(timeout=60)


def check_supported(op):
    """Refuse ops whose chroot emulation would not behave like a real root."""
    if op["op"] == "close_session":
        return
    path = op["path"]
    if op["op"] == "set" and path == "/":
        raise ValueError("set on / is not supported (it would set the chroot node): %r" % op)
    if path == "/zookeeper" or path.startswith("/zookeeper/"):
        raise ValueError("/zookeeper is special on a real root, not under a chroot: %r" % op)


def run_script(ops, server, case, run, validator):
    nonce = secrets.token_hex(4)
    chroot = "/conf-%s-%s-%d" % (case, nonce, run)
    admin = KazooClient(hosts=server, timeout=30)
    admin.start(timeout=30)
    admin.create(chroot, b"")
    sessions = {}
    out = []
    try:
        for op in ops:
            idx = op["session"]
            if idx not in sessions:
                # Opens a new ZooKeeper session (kazoo is used without a
                # chroot: the chroot is applied here as the Java client does).
                c = KazooClient(hosts=server, timeout=30)
                c.start(timeout=30)
                sessions[idx] = c
            c = sessions[idx]
            kind = op["op"]
            if kind == "close_session":
                c.stop()  # sends closeSession and waits for the server's answer
                c.close()
                del sessions[idx]
                out.append({"ok": True})
                continue
            path = op["path"]
            seq = kind == "create" and MODES[op.get("mode", "persistent")][1]
            if not validator.valid(path, seq):
                # The Java client throws IllegalArgumentException locally.
                out.append({"ok": False, "error": "BadArguments"})
                continue
            spath = server_path(chroot, path)
            try:
                if kind == "create":
                    eph, sq = MODES[op.get("mode", "persistent")]
                    data = op.get("data", "").encode("utf-8")
                    flags = (1 if eph else 0) | (2 if sq else 0)
                    if sq and path == "/":
                        # On a real root the server makes "/" + suffix, a
                        # child of the root. The Java client would send the
                        # bare chroot path (a sibling of the chroot), so the
                        # root's behaviour is reproduced by sending chroot + "/".
                        spath = chroot + "/"
                    created = call(c, Create(spath, data, OPEN_ACL_UNSAFE, flags))
                    assert created.startswith(chroot + "/"), created
                    # ZooKeeper.create strips the chroot from the answer.
                    out.append({"ok": True, "path": created[len(chroot):]})
                elif kind == "delete":
                    # ZooKeeper.delete sends "/" as is (not chroot-prefixed).
                    call(c, Delete("/" if path == "/" else spath, op.get("version", -1)))
                    out.append({"ok": True})
                elif kind == "set":
                    st = call(c, SetData(spath, op.get("data", "").encode("utf-8"), op.get("version", -1)))
                    out.append({"ok": True, "stat": stat_json(st)})
                elif kind == "get":
                    data, st = call(c, GetData(spath, None))
                    out.append({"ok": True, "data": (data or b"").decode("utf-8"), "stat": stat_json(st)})
                elif kind == "exists":
                    st = call(c, Exists(spath, None))
                    out.append({"ok": True, "stat": stat_json(st) if st is not None else None})
                elif kind == "children":
                    out.append({"ok": True, "children": sorted(call(c, GetChildren(spath, None)))})
            except tuple(ERROR_NAMES) as e:
                out.append({"ok": False, "error": ERROR_NAMES[type(e)]})
    finally:
        for c in sessions.values():
            c.stop()
            c.close()
        try:
            admin.delete(chroot, recursive=True)
        finally:
            admin.stop()
            admin.close()
    return out


def dump(lines):
    return "".join(json.dumps(l, ensure_ascii=False, separators=(",", ":")) + "\n" for l in lines)


def wait_serving(port, deadline):
    """Wait until the server answers `srvr` with its version (`ruok` says
    imok before the server is serving requests)."""
    while time.time() < deadline:
        try:
            if server_version(port).startswith("Zookeeper version:"):
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def start_server(port):
    d = tempfile.mkdtemp(prefix="zkconf-")
    cfg = os.path.join(d, "zk.cfg")
    with open(cfg, "w") as f:
        f.write(
            "tickTime=2000\n"
            "dataDir=%s\n"
            "clientPort=%d\n"
            "clientPortAddress=127.0.0.1\n"
            "maxClientCnxns=0\n"
            "admin.enableServer=false\n"
            "4lw.commands.whitelist=srvr\n" % (os.path.join(d, "data"), port)
        )
    log = open(os.path.join(d, "server.log"), "w")
    proc = subprocess.Popen(
        ["java", "-cp", ZK_JAR, "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg],
        stdout=log, stderr=subprocess.STDOUT,
    )
    if not wait_serving(port, time.time() + 60):
        proc.kill()
        raise RuntimeError("ZooKeeper did not start; see %s/server.log" % d)
    return proc, d


def server_version(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"srvr")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    lines = data.decode().splitlines()
    return lines[0] if lines else ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", help="scripts (default: every NN-*.jsonl case)")
    ap.add_argument("--port", type=int, default=21810)
    ap.add_argument("--start-server", action="store_true", help="start a throwaway server, stop it at the end")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--write", action="store_true", help="write NN-name.expected.jsonl next to each script")
    g.add_argument("--check", action="store_true", help="compare with existing expected files")
    args = ap.parse_args()

    files = args.files or sorted(
        os.path.join(CASE_DIR, f) for f in os.listdir(CASE_DIR)
        if f.endswith(".jsonl") and not f.endswith(".expected.jsonl")
    )
    scripts = [(f, parse_script(f)) for f in files]
    validator = PathValidator()
    validator.prefetch(p for _, ops in scripts for p in path_checks(ops))

    proc = tmpdir = None
    if args.start_server:
        proc, tmpdir = start_server(args.port)
    try:
        print("server: " + server_version(args.port), file=sys.stderr)
        server = "127.0.0.1:%d" % args.port
        failed = False
        for f, ops in scripts:
            case = os.path.basename(f)[: -len(".jsonl")]
            a = dump(run_script(ops, server, case, 1, validator))
            b = dump(run_script(ops, server, case, 2, validator))
            if a != b:
                print("NONDETERMINISTIC %s:\n--- run 1\n%s--- run 2\n%s" % (case, a, b), file=sys.stderr)
                failed = True
                continue
            if len(a.splitlines()) != len(ops):
                raise RuntimeError("%s: %d outputs for %d ops" % (case, len(a.splitlines()), len(ops)))
            exp = f[: -len(".jsonl")] + ".expected.jsonl"
            if args.write:
                with open(exp, "w", encoding="utf-8") as out:
                    out.write(a)
                print("wrote %s (%d lines, identical in 2 runs)" % (os.path.basename(exp), len(ops)), file=sys.stderr)
            elif args.check:
                with open(exp, encoding="utf-8") as e:
                    want = [json.loads(l) for l in e if l.strip()]
                got = [json.loads(l) for l in a.splitlines()]
                if want != got:
                    print("MISMATCH %s" % case, file=sys.stderr)
                    failed = True
                else:
                    print("ok %s" % case, file=sys.stderr)
            else:
                sys.stdout.write(a)
        return 1 if failed else 0
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
