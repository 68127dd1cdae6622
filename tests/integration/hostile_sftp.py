#!/usr/bin/python3
# hostile_sftp.py - a deliberately broken SFTP server for the fetch tests (python3-paramiko), a real
# server on 127.0.0.1 that speaks SSH and SFTP correctly except for the one misbehaviour asked for.
#
#   hostile_sftp.py MODE ROOT PORTFILE
#
# Serves the files under ROOT (read only) to user "dabs" with fixtures/ssh/client_ed25519, host key
# fixtures/ssh/ssh_host_ed25519_key. Writes the port it listens on to PORTFILE (atomically, after
# bind) so the test waits for readiness rather than sleeping. MODE:
#   honest    behaves
#   onebyte   answers every READ with at most 1 byte
#   lines     answers every READ only up to the end of the line the offset is in
#   endless   a directory listing that never ends (16 fresh names per READDIR, forever)
#   emptyname the listing holds an entry with a zero-length name before the real files
#   grow      every stat/fstat reports the file one line longer (as if it were being written)
#   overrun   reports the true size and sends 100 bytes more than that
#   drip      answers every READ with 1 byte after 0.2 s
import os
import socket
import sys
import threading
import time

import paramiko
from paramiko import SFTPAttributes, SFTPHandle, SFTPServer, SFTPServerInterface, SFTP_OK
from paramiko.sftp import SFTP_NO_SUCH_FILE, SFTP_PERMISSION_DENIED

MODE, ROOT, PORTFILE = sys.argv[1], sys.argv[2], sys.argv[3]
FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures", "ssh")
HOST_KEY = paramiko.Ed25519Key.from_private_key_file(os.path.join(FIX, "ssh_host_ed25519_key"))
with open(os.path.join(FIX, "client_ed25519.pub")) as f:
    CLIENT_KEY = f.read().split()[1]
EXTRA = 100          # overrun: bytes sent beyond the true size
grow_lock = threading.Lock()
grow_count = {}      # grow: how many times each file has been looked at


def real(path):
    p = os.path.normpath(os.path.join(ROOT, path.lstrip("/")))
    if not (p == ROOT or p.startswith(ROOT + "/")):
        raise PermissionError(path)
    return p


def grown(p):
    """grow: the file's content as it is 'now', one line longer on each look."""
    with grow_lock:
        grow_count[p] = grow_count.get(p, 0) + 1
        n = grow_count[p]
    with open(p, "rb") as f:
        data = f.read()
    return data + b"".join(b"late line %d\n" % i for i in range(n))


def attrs_of(p, name=None):
    a = SFTPAttributes.from_stat(os.stat(p), name)
    if MODE == "grow" and os.path.isfile(p):
        a.st_size = len(grown(p))
    return a


class Handle(SFTPHandle):
    def __init__(self, p):
        super().__init__(0)
        self.p = p
        with open(p, "rb") as f:
            self.data = f.read()

    def stat(self):
        return attrs_of(self.p)

    def read(self, offset, length):
        data = self.data
        if MODE == "grow":
            data = grown(self.p)
        if MODE == "overrun":
            data = data + b"X" * EXTRA
        if offset >= len(data):
            return b""
        if MODE in ("onebyte", "drip"):
            if MODE == "drip":
                time.sleep(0.2)
            length = 1
        elif MODE == "lines":
            nl = data.find(b"\n", offset)
            if nl >= 0:
                length = min(length, nl + 1 - offset)
        return data[offset:offset + length]


class Endless(list):
    """A listing that never ends: paramiko slices [:16] then [16:] of it on every READDIR."""
    def __init__(self, start=0):
        super().__init__()
        self.start = start

    def __getitem__(self, s):
        if isinstance(s, slice) and s.start is None:
            out = []
            for i in range(self.start, self.start + (s.stop or 16)):
                a = SFTPAttributes()
                a.filename = "endless-%09d-%s.txt" % (i, "x" * 40)
                a.st_size, a.st_mode, a.st_mtime = 10, 0o100644, 0
                out.append(a)
            return out
        return Endless(self.start + (s.start or 0))

    def __len__(self):
        return 16


class Server(SFTPServerInterface):
    def list_folder(self, path):
        try:
            p = real(path)
            if MODE == "endless":
                return Endless()
            out = [attrs_of(os.path.join(p, n), n) for n in sorted(os.listdir(p))]
            if MODE == "emptyname":
                empty = SFTPAttributes()
                empty.filename, empty.st_size, empty.st_mode, empty.st_mtime = "", 0, 0o100644, 0
                out.insert(0, empty)
            return out
        except OSError as e:
            return SFTPServer.convert_errno(e.errno)
        except PermissionError:
            return SFTP_PERMISSION_DENIED

    def stat(self, path):
        try:
            return attrs_of(real(path))
        except OSError as e:
            return SFTPServer.convert_errno(e.errno)

    lstat = stat

    def open(self, path, flags, attr):
        try:
            p = real(path)
            if not os.path.isfile(p):
                return SFTP_NO_SUCH_FILE
            return Handle(p)
        except OSError as e:
            return SFTPServer.convert_errno(e.errno)


class Auth(paramiko.ServerInterface):
    def get_allowed_auths(self, username):
        return "publickey"

    def check_auth_publickey(self, username, key):
        if username == "dabs" and key.get_base64() == CLIENT_KEY:
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_SUCCEEDED if kind == "session" else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


def serve(conn):
    t = paramiko.Transport(conn)
    t.add_server_key(HOST_KEY)
    t.set_subsystem_handler("sftp", SFTPServer, Server)
    try:
        t.start_server(server=Auth())
        while t.is_active():
            t.join(1)
    except Exception:
        pass


def main():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    with open(PORTFILE + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(PORTFILE + ".tmp", PORTFILE)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


main()
