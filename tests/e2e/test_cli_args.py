# SPDX-License-Identifier: MIT
"""Numeric command-line options of the three servers: a value that is not a
whole number in range (trailing garbage, spaces, a sign, out of range) is
refused with one line naming the option, and exit status 2, before anything
is started. std::atoi used to take "4x" as 4 and strtol " 4" as 4."""
import subprocess
import unittest

from service import binary

# program, option, highest value allowed
SERVERS = [('patchproof-fcgi', '--workers', 256),
           ('patchproof-kms', '--workers', 64),
           ('patchproof-devchain', '--workers', 64)]
BAD = ['4x', ' 4', '4 ', '+3', '-1', '0', 'abc', '', '0x10', '1e2']


def run(program, *args):
    # No environment: nothing the server could start with, so the only way
    # to exit 2 with our line is the option check.
    return subprocess.run([binary(program), *args], env={'PATH': '/usr/bin:/bin'},
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, timeout=60)


class NumericOptions(unittest.TestCase):
    def assert_refused(self, program, option, value, expect):
        p = run(program, option, value)
        self.assertEqual(p.returncode, 2, f'{program} {option} {value!r}: {p.stderr}')
        lines = p.stderr.splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertEqual(lines[0], f'{program}: {option} must be {expect}, not "{value}"')

    def test_bad_workers_are_refused(self):
        for program, option, top in SERVERS:
            for value in BAD + [str(top + 1), '99999999999999999999999']:
                with self.subTest(program=program, value=value):
                    self.assert_refused(program, option, value, f'a whole number from 1 to {top}')

    def test_bad_socket_mode_is_refused(self):
        for value in ['0689', '660x', '1000', '-1', ' 660', '']:
            with self.subTest(value=value):
                self.assert_refused('patchproof-fcgi', '--socket-mode', value, 'an octal number from 0 to 0777')

    def test_good_values_pass_the_check(self):
        # Accepted values go on to the next start-up step, which fails here
        # for want of configuration: what matters is that it is not ours.
        for program, option, top in SERVERS:
            for value in ['1', str(top)]:
                with self.subTest(program=program, value=value):
                    p = run(program, option, value)
                    self.assertNotIn('must be', p.stderr)
        p = run('patchproof-fcgi', '--socket-mode', '0660')
        self.assertNotIn('must be', p.stderr)


if __name__ == '__main__':
    unittest.main()
