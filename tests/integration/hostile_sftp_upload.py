#!/usr/bin/python3
# hostile_sftp_upload.py - a real SFTP server (paramiko) that misbehaves on purpose, for the tests of
# verified uploads (issue 16). It serves --root over SFTP on 127.0.0.1 with the fixture host key,
# accepts the fixture client key only, and answers every request truthfully except, by --mode:
#   halfwrite    keeps only the first half of each write's data, and reports the write done
#   lierename    reports a rename done and does nothing
#   changeafter  does the rename, then changes the file it renamed (one byte flipped, one appended)
# The chosen port is written to --port-file once the server listens (readiness for the test).
# Runs until killed. Usage:
#   hostile_sftp_upload.py --mode M --root DIR --host-key KEY --authorized PUB --port-file FILE
import argparse
import os
import socket
import threading

import paramiko
from paramiko import SFTPAttributes, SFTPHandle, SFTPServer, SFTPServerInterface
from paramiko.sftp import SFTP_FAILURE, SFTP_NO_SUCH_FILE, SFTP_OK, SFTP_PERMISSION_DENIED

ARGS = None


class Server(paramiko.ServerInterface):
    def __init__(self, allowed):
        self.allowed = allowed

    def check_auth_publickey(self, username, key):
        if key.get_base64() == self.allowed:
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def get_allowed_auths(self, username):
        return "publickey"

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_SUCCEEDED if kind == "session" else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


def errno_status(e):
    return SFTP_NO_SUCH_FILE if isinstance(e, FileNotFoundError) else SFTPServer.convert_errno(e.errno)


class Handle(SFTPHandle):
    def stat(self):
        try:
            return SFTPAttributes.from_stat(os.fstat(self.readfile.fileno()))
        except OSError as e:
            return errno_status(e)

    def write(self, offset, data):
        if ARGS.mode == "halfwrite":
            data = data[: len(data) // 2]       # keep half, report it all written
        return super().write(offset, data)


class Sftp(SFTPServerInterface):
    def _real(self, path):
        path = os.path.normpath("/" + path)
        return os.path.join(ARGS.root, path.lstrip("/"))

    def list_folder(self, path):
        out = []
        try:
            for name in sorted(os.listdir(self._real(path))):
                a = SFTPAttributes.from_stat(os.lstat(os.path.join(self._real(path), name)))
                a.filename = name
                out.append(a)
        except OSError as e:
            return errno_status(e)
        return out

    def stat(self, path):
        try:
            return SFTPAttributes.from_stat(os.stat(self._real(path)))
        except OSError as e:
            return errno_status(e)

    def lstat(self, path):
        try:
            return SFTPAttributes.from_stat(os.lstat(self._real(path)))
        except OSError as e:
            return errno_status(e)

    def open(self, path, flags, attr):
        real = self._real(path)
        try:
            fd = os.open(real, flags | getattr(os, "O_BINARY", 0), 0o640)
        except OSError as e:
            return errno_status(e)
        mode = "r+b" if flags & os.O_RDWR else ("wb" if flags & os.O_WRONLY else "rb")
        f = os.fdopen(fd, mode)
        h = Handle(flags)
        h.filename = real
        h.readfile = f
        h.writefile = f
        return h

    def remove(self, path):
        try:
            os.remove(self._real(path))
        except OSError as e:
            return errno_status(e)
        return SFTP_OK

    def rename(self, oldpath, newpath):
        if ARGS.mode == "lierename":
            return SFTP_OK                     # a lie: nothing renamed
        src, dst = self._real(oldpath), self._real(newpath)
        if os.path.exists(dst):
            return SFTP_FAILURE
        try:
            os.rename(src, dst)
        except OSError as e:
            return errno_status(e)
        if ARGS.mode == "changeafter":
            with open(dst, "r+b") as f:
                b = f.read(1)
                f.seek(0)
                f.write(bytes([(b[0] ^ 0x20) if b else 0x41]))
                f.seek(0, 2)
                f.write(b"<!-- changed by the server -->\n")
        return SFTP_OK

    def mkdir(self, path, attr):
        return SFTP_PERMISSION_DENIED

    def rmdir(self, path):
        return SFTP_PERMISSION_DENIED


def serve(conn, host_key, allowed):
    t = paramiko.Transport(conn)
    t.add_server_key(host_key)
    t.set_subsystem_handler("sftp", paramiko.SFTPServer, Sftp)
    try:
        t.start_server(server=Server(allowed))
        while t.is_active():
            t.join(1)
    except Exception:
        pass


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--mode", required=True, choices=["halfwrite", "lierename", "changeafter"])
    p.add_argument("--root", required=True)
    p.add_argument("--host-key", required=True)
    p.add_argument("--authorized", required=True)
    p.add_argument("--port-file", required=True)
    ARGS = p.parse_args()
    host_key = paramiko.Ed25519Key(filename=ARGS.host_key)
    allowed = open(ARGS.authorized).read().split()[1]
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(tmp, ARGS.port_file)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn, host_key, allowed), daemon=True).start()


if __name__ == "__main__":
    main()
