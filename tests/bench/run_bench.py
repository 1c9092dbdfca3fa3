#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""make bench: the real stack on this machine, measured through nginx.
Prints requests/s and latency for /health (wrk), SVD begin+complete pairs
(the project's own signing load client) and the fcgi workers' RSS.
A script, not a test: it asserts nothing about speed."""
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'e2e'))

from service import ServiceStack, binary  # noqa: E402
from chainstack import ChainStack  # noqa: E402
import ppclient as pc  # noqa: E402

DURATION = int(os.environ.get('BENCH_SECONDS', '10'))
CONNECTIONS = int(os.environ.get('BENCH_CONNECTIONS', '64'))


def wrk(url, connections, seconds, script_args=None):
    extra = []
    if script_args:
        extra = ['-s', os.path.join(HERE, 'register.lua'), url, '--'] + script_args
        url_args = []
    else:
        url_args = [url]
    out = subprocess.run(['wrk', '-t2', f'-c{connections}', f'-d{seconds}s', '--latency'] + url_args + extra,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
    rps = re.search(r'Requests/sec:\s+([\d.]+)', out)
    p50 = re.search(r'^\s+50%\s+(\S+)', out, re.M)
    p99 = re.search(r'^\s+99%\s+(\S+)', out, re.M)
    non2xx = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
    return (float(rps.group(1)) if rps else 0.0, p50.group(1) if p50 else '?', p99.group(1) if p99 else '?',
            int(non2xx.group(1)) if non2xx else 0)


def worker_rss_kib(master_pid):
    with open(f'/proc/{master_pid}/task/{master_pid}/children') as f:
        pids = [int(p) for p in f.read().split()]
    sizes = []
    for pid in pids:
        with open(f'/proc/{pid}/status') as f:
            m = re.search(r'VmRSS:\s+(\d+) kB', f.read())
            sizes.append(int(m.group(1)))
    return sizes


def main():
    workers = int(os.environ.get('BENCH_WORKERS', str(2 * os.cpu_count())))
    limits = {'SVD_BEGIN_MAX': '1000000', 'SVD_COMPLETE_MAX': '1000000', 'PUBLIC_API_MAX': '100000000'}
    with tempfile.TemporaryDirectory(prefix='pp-bench-') as tmp:
        with ServiceStack(tmp, pools=1, workers=workers, env=limits) as svc:
            print(f'stack: nginx {svc.base_url}, patchproof-fcgi x{workers} workers, '
                  f'{os.cpu_count()} cores, {DURATION}s per run')
            rps, p50, p99, bad = wrk(svc.base_url + '/health', CONNECTIONS, DURATION)
            print(f'GET /health            {rps:10.0f} req/s  p50 {p50}  p99 {p99}  '
                  f'({CONNECTIONS} connections, {bad} non-2xx)')
            c = svc.client()
            keys = []
            for i in range(16):
                priv = pc.random_privkey()
                st, _, body = c.svd_register(f'bench{i}', pc.pubkey_hex(priv))
                if st not in (200, 201):
                    raise SystemExit(f'register failed: {st} {body}')
                keys.append(priv.to_bytes(32, 'big').hex() if isinstance(priv, int) else priv)
            port = svc.st.nginx_port
            out = subprocess.run([binary('svd_load'), '127.0.0.1', str(port), str(DURATION), '32', 'bench'] + keys,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
            print(out.strip())
            sizes = worker_rss_kib(svc.st.pid('fcgi0'))
            print(f'fcgi worker RSS: max {max(sizes) / 1024:.1f} MiB, '
                  f'mean {sum(sizes) / len(sizes) / 1024:.1f} MiB over {len(sizes)} workers')


def bench_registry():
    """Verify through nginx, registrations accepted per second, and worker
    throughput in confirmed transactions per second against the devchain."""
    with tempfile.TemporaryDirectory(prefix='pp-bench-chain-') as tmp:
        fcgi_workers = int(os.environ.get('BENCH_WORKERS', str(2 * os.cpu_count())))
        job_workers = int(os.environ.get('BENCH_JOB_WORKERS', '4'))
        svc = ChainStack(tmp, job_workers=job_workers, genesis_outputs=400, genesis_sats=10_000_000,
                         workers=fcgi_workers, env={'PUBLIC_API_MAX': '100000000'})
        with svc:
            owner = pc.address_from_priv(pc.random_privkey(), 'test')
            c = svc.client()
            st, _, body = c.call('POST', '/v1/patches', {'product': {'uid_tag_id': 'BENCH-VERIFY-1'},
                                                         'metadata': {'notes': 'bench'}, 'auth': {'owner': owner}})
            if st != 202:
                raise SystemExit(f'register failed: {st} {body}')
            svc.wait_pending('registration', body['pendingId'])
            rps, p50, p99, bad = wrk(svc.base_url + '/v1/patches/verify/BENCH-VERIFY-1', CONNECTIONS, DURATION)
            print(f'GET /v1/patches/verify {rps:10.0f} req/s  p50 {p50}  p99 {p99}  '
                  f'({CONNECTIONS} connections, {bad} non-2xx)')

            # Registrations with the workers stopped, so only the API is measured.
            for i in range(svc.worker_count):
                svc.st.stop(svc.worker_name(i))
            rps, p50, p99, bad = wrk(svc.base_url, 32, DURATION, [svc.api_key, owner])
            queued = int(svc.st.sql("SELECT COUNT(*) FROM jobs WHERE step='queued'", database='patchproof'))
            print(f'POST /v1/patches        {rps:10.0f} req/s  p50 {p50}  p99 {p99}  '
                  f'(32 connections, {bad} non-2xx, {queued} queued)')

            # Worker throughput: the workers work the backlog for a fixed time.
            def finished():
                return int(svc.st.sql("SELECT COUNT(*) FROM jobs WHERE step IN ('done','failed')",
                                      database='patchproof'))
            before = finished()
            t0 = time.time()
            for i in range(svc.worker_count):
                svc.start_worker(i)
            time.sleep(DURATION * 2)
            done = finished() - before
            elapsed = time.time() - t0
            failed = int(svc.st.sql("SELECT COUNT(*) FROM jobs WHERE step='failed'", database='patchproof'))
            print(f'worker throughput       {done / elapsed:10.1f} confirmed tx/s  '
                  f'({done} jobs in {elapsed:.1f} s, {svc.worker_count} workers, {failed} failed)')


if __name__ == '__main__':
    main()
    bench_registry()
