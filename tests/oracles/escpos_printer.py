#!/usr/bin/env python3
"""A test ESC/POS printer: takes print jobs on a TCP port (like a network
printer's port 9100) or on a tty (one end of a pty pair, like a serial
printer), appends every byte it receives to --out, and answers DLE EOT 4
(roll paper sensor status) with the byte the ESC/POS command reference
defines: bits 1 and 4 always set; bits 2-3 set when the roll is near its
end; bits 5-6 set when there is no paper. The paper state is read from
--paper-file at each request (ok, low, out; missing: ok).

  escpos_printer.py --tcp 127.0.0.1:0 --out FILE [--paper-file F]   (prints "listening PORT")
  escpos_printer.py --pty --out FILE [--paper-file F]   (prints "pty /dev/pts/N": the serial port to print on)

With --pty the printer holds the master side of a new pty pair and keeps
the slave side open too, so a client that closes the port after each job
(posd does) does not end it.
"""
import argparse
import os
import socket
import sys
import threading
import tty

FIXED = 0b0001_0010
NEAR_END = 0b0000_1100
PAPER_END = 0b0110_0000
STATUS_REQUEST = b"\x10\x04\x04"


def status(paper_file):
    state = "ok"
    if paper_file and os.path.exists(paper_file):
        state = open(paper_file).read().strip() or "ok"
    return bytes([FIXED | {"ok": 0, "low": NEAR_END, "out": NEAR_END | PAPER_END}[state]])


def serve(read, write, out, paper_file):
    """Reads until EOF; answers each status request as it arrives."""
    tail = b""
    with open(out, "ab") as sink:
        while True:
            chunk = read()
            if not chunk:
                return
            sink.write(chunk)
            sink.flush()
            seen = tail + chunk
            for _ in range(seen.count(STATUS_REQUEST)):
                write(status(paper_file))
            tail = seen[-2:] if not seen.endswith(STATUS_REQUEST) else b""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tcp")
    ap.add_argument("--pty", action="store_true")
    ap.add_argument("--out", required=True)
    ap.add_argument("--paper-file")
    a = ap.parse_args()
    if a.tcp:
        host, port = a.tcp.rsplit(":", 1)
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((host, int(port)))
        srv.listen(4)
        print(f"listening {srv.getsockname()[1]}", flush=True)
        lock = threading.Lock()
        while True:
            conn, _ = srv.accept()

            def one(c=conn):
                with lock:  # one job at a time, as a printer takes them
                    serve(lambda: c.recv(4096), c.sendall, a.out, a.paper_file)
                c.close()

            threading.Thread(target=one, daemon=True).start()
    elif a.pty:
        master, slave = os.openpty()
        tty.setraw(slave)
        tty.setraw(master)
        print(f"pty {os.ttyname(slave)}", flush=True)
        serve(lambda: os.read(master, 4096), lambda b: os.write(master, b), a.out, a.paper_file)
    else:
        sys.exit("--tcp or --pty")


if __name__ == "__main__":
    main()
