#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A real SMTP server for development and the tests (Debian's
python3-aiosmtpd): accepts every message on a loopback port and writes each
one, exactly as received, as one RFC 5322 file <time>-<n>.eml under a
directory. Written to a temporary name and renamed, so a reader never sees
half a message. Not for production: it relays nothing and authenticates
no one.

    smtp_sink.py --listen 127.0.0.1:2525 --dir var/mail
"""
import argparse
import itertools
import os
import signal
import sys
import time

from aiosmtpd.controller import Controller

LOOPBACK_PREFIXES = ('127.', '::1', 'localhost')


class MaildirHandler:
    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        name = f'{time.time_ns()}-{os.getpid()}-{next(self.counter)}.eml'
        tmp = os.path.join(self.directory, '.' + name + '.tmp')
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode('utf-8')
        with open(tmp, 'wb') as f:
            f.write(data)
        os.replace(tmp, os.path.join(self.directory, name))
        # The envelope, not the body: the body holds a login code.
        print(f'stored {name} from {envelope.mail_from} for {len(envelope.rcpt_tos)} recipient(s)', flush=True)
        return '250 Message accepted for delivery'


def parse_listen(text):
    host, _, port = text.rpartition(':')
    host = host.strip('[]')
    if not host.startswith(LOOPBACK_PREFIXES):
        raise argparse.ArgumentTypeError('the sink listens on loopback only')
    return host, int(port)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--listen', type=parse_listen, required=True, help='HOST:PORT on loopback')
    ap.add_argument('--dir', required=True, help='where the .eml files go')
    args = ap.parse_args(argv)
    os.makedirs(args.dir, mode=0o700, exist_ok=True)
    host, port = args.listen
    controller = Controller(MaildirHandler(args.dir), hostname=host, port=port)
    controller.start()
    print(f'smtp sink on {host}:{port} writing to {args.dir}', flush=True)

    done = []
    signal.signal(signal.SIGTERM, lambda *_: done.append(1))
    signal.signal(signal.SIGINT, lambda *_: done.append(1))
    try:
        while not done:
            time.sleep(0.2)
    finally:
        controller.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
