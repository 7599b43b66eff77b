#!/usr/bin/env python3
"""Capture real 9P sessions and turn them into fuzz/corpus/9p/ seed files.

  capture9p.py proxy LISTEN_PORT TARGET_PORT RAWDIR
      A TCP proxy on 127.0.0.1:LISTEN_PORT in front of a 9P server on
      127.0.0.1:TARGET_PORT. Each connection's two byte streams are saved
      verbatim as RAWDIR/conn-N.c2s and RAWDIR/conn-N.s2c. Runs until killed.

  capture9p.py split [-per-type K] [-max-size BYTES] RAWDIR... OUTDIR
      Cuts the saved streams into frames and writes each chosen frame to OUTDIR
      as one file: a dialect byte (0 = 9P2000, 1 = 9P2000.u, 2 = 9P2000.L, from
      the connection's Rversion) followed by the frame, as fuzz/fuzz_9p.c
      expects. Frames identical but for the tag are kept once; at most K
      (default 8) per dialect and message type, spread over their sizes.
"""
import hashlib
import os
import socket
import struct
import sys
import threading

NAMES = {
    7: "Rlerror", 8: "Tstatfs", 9: "Rstatfs", 12: "Tlopen", 13: "Rlopen",
    14: "Tlcreate", 15: "Rlcreate", 16: "Tsymlink", 17: "Rsymlink", 18: "Tmknod",
    19: "Rmknod", 20: "Trename", 21: "Rrename", 22: "Treadlink", 23: "Rreadlink",
    24: "Tgetattr", 25: "Rgetattr", 26: "Tsetattr", 27: "Rsetattr", 30: "Txattrwalk",
    31: "Rxattrwalk", 32: "Txattrcreate", 33: "Rxattrcreate", 40: "Treaddir",
    41: "Rreaddir", 50: "Tfsync", 51: "Rfsync", 52: "Tlock", 53: "Rlock",
    54: "Tgetlock", 55: "Rgetlock", 70: "Tlink", 71: "Rlink", 72: "Tmkdir",
    73: "Rmkdir", 74: "Trenameat", 75: "Rrenameat", 76: "Tunlinkat", 77: "Runlinkat",
    100: "Tversion", 101: "Rversion", 102: "Tauth", 103: "Rauth", 104: "Tattach",
    105: "Rattach", 107: "Rerror", 108: "Tflush", 109: "Rflush", 110: "Twalk",
    111: "Rwalk", 112: "Topen", 113: "Ropen", 114: "Tcreate", 115: "Rcreate",
    116: "Tread", 117: "Rread", 118: "Twrite", 119: "Rwrite", 120: "Tclunk",
    121: "Rclunk", 122: "Tremove", 123: "Rremove", 124: "Tstat", 125: "Rstat",
    126: "Twstat", 127: "Rwstat",
}


def proxy(listen_port, target_port, rawdir):
    os.makedirs(rawdir, exist_ok=True)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", listen_port))
    ls.listen(16)
    n = 0
    while True:
        c, _ = ls.accept()
        n += 1
        s = socket.create_connection(("127.0.0.1", target_port))
        base = os.path.join(rawdir, "conn-%d" % n)
        for src, dst, ext in ((c, s, "c2s"), (s, c, "s2c")):
            threading.Thread(target=pump, args=(src, dst, base + "." + ext), daemon=True).start()


def pump(src, dst, path):
    with open(path, "ab") as log:
        while True:
            try:
                b = src.recv(65536)
            except OSError:
                b = b""
            if not b:
                break
            log.write(b)
            log.flush()
            try:
                dst.sendall(b)
            except OSError:
                break
    for sock in (src, dst):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def frames(data):
    out, pos = [], 0
    while pos + 4 <= len(data):
        size = struct.unpack_from("<I", data, pos)[0]
        if size < 7 or pos + size > len(data):
            break
        out.append(data[pos:pos + size])
        pos += size
    return out


def dialect_of(server_frames):
    for f in server_frames:
        if f[4] == 101 and len(f) >= 13:
            n = struct.unpack_from("<H", f, 11)[0]
            v = f[13:13 + n]
            if v == b"9P2000.L":
                return 2
            if v == b"9P2000.u":
                return 1
            if v.startswith(b"9P2000"):
                return 0
            return None
    return None


def split(rawdirs, outdir, per_type, max_size):
    groups = {}
    for rawdir in rawdirs:
        for name in sorted(os.listdir(rawdir)):
            if not name.endswith(".c2s"):
                continue
            base = os.path.join(rawdir, name[:-4])
            with open(base + ".c2s", "rb") as f:
                c2s = frames(f.read())
            try:
                with open(base + ".s2c", "rb") as f:
                    s2c = frames(f.read())
            except FileNotFoundError:
                s2c = []
            d = dialect_of(s2c)
            if d is None:
                continue
            for fr in c2s + s2c:
                if len(fr) > max_size:
                    continue
                key = bytes([d]) + fr[:5] + b"\0\0" + fr[7:]    # tag ignored
                groups.setdefault((d, fr[4]), {}).setdefault(key, bytes([d]) + fr)
    os.makedirs(outdir, exist_ok=True)
    total = 0
    for (d, t), uniq in sorted(groups.items()):
        items = sorted(uniq.values(), key=lambda b: (len(b), b))
        if len(items) > per_type:   # spread the picks over the sizes
            step = (len(items) - 1) / (per_type - 1)
            items = [items[round(i * step)] for i in range(per_type)]
        for b in items:
            h = hashlib.sha1(b).hexdigest()[:10]
            name = "%s-%s-%s" % ("0uL"[d], NAMES.get(t, "type%d" % t), h)
            with open(os.path.join(outdir, name), "wb") as f:
                f.write(b)
            total += 1
    print("%d frames written to %s" % (total, outdir))


def main(argv):
    if len(argv) == 5 and argv[1] == "proxy":
        proxy(int(argv[2]), int(argv[3]), argv[4])
        return 0
    if len(argv) >= 4 and argv[1] == "split":
        args, per_type, max_size = argv[2:], 8, 16384
        while args and args[0].startswith("-"):
            if args[0] == "-per-type":
                per_type = int(args[1])
            elif args[0] == "-max-size":
                max_size = int(args[1])
            else:
                break
            args = args[2:]
        if len(args) >= 2:
            split(args[:-1], args[-1], per_type, max_size)
            return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
