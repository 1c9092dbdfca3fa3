# SPDX-License-Identifier: MIT
"""StackCase: one real stack for every test of a class, in a temp dir of its
own, started before the first test and stopped (and removed) after the last;
PP_E2E_KEEP=1 keeps the directory and its logs."""
import os
import sys
import tempfile
import unittest


class StackCase(unittest.TestCase):
    """Subclasses define make_stack(base_dir) -> an unstarted ServiceStack or
    ChainStack; after it started, cls.svc is the stack, cls.c an API-key
    client, and stack_ready() may set up what else the class shares."""

    prefix = 'pp-e2e-'

    @classmethod
    def make_stack(cls, base_dir):
        raise NotImplementedError

    @classmethod
    def stack_ready(cls):
        pass

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix=cls.prefix)
        cls.svc = None
        try:
            cls.svc = cls.make_stack(cls.tmp.name)
            cls.svc.start()
            cls.c = cls.svc.client()
            cls.stack_ready()
        except BaseException:
            cls.tearDownClass()  # unittest does not call it when setUpClass fails
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.svc is not None:
                cls.svc.stop()
        finally:
            if os.environ.get('PP_E2E_KEEP') == '1':  # for a post-mortem of the logs
                print(f'stack kept in {cls.tmp.name}', file=sys.stderr)
                cls.tmp._finalizer.detach()
            else:
                cls.tmp.cleanup()
