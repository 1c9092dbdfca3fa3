# SPDX-License-Identifier: MIT
"""Helpers shared by test_svd.py (the SVD routes) and test_svd_faults.py
(dependencies failing, workers dying, production start-up)."""
import os
import secrets
import time


def new_user():
    return 'u_' + secrets.token_hex(6)


def stale_m(age_sec):
    ts = int(time.time()) - age_sec
    return (ts.to_bytes(8, 'big') + os.urandom(16)).hex()


def children_of(pid):
    with open(f'/proc/{pid}/task/{pid}/children') as f:
        return [int(p) for p in f.read().split()]
