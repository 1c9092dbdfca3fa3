# SPDX-License-Identifier: MIT
"""KEY=VALUE env files (shell-sourceable, values shell-quoted) and private
files (mode 0600) for secrets. stack.py re-exports them, so assemble.py and
the tests keep importing them from there. Python 3.11 standard library only."""

import os
import shlex


def _write_private(path, text):
    """Write a file readable only by us (secrets, passwords)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    os.chmod(path, 0o600)  # O_CREAT's mode does not apply to an existing file


def load_env_file(path):
    """Read a KEY=VALUE file (as written by write_env_file); {} if missing."""
    out = {}
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith('#') or '=' not in line:
                    continue
                key, value = line.split('=', 1)
                parts = shlex.split(value) if value else ['']
                out[key.strip()] = parts[0] if parts else ''
    except FileNotFoundError:
        pass
    return out


def write_env_file(path, values, private=False, header=None):
    """Write a shell-sourceable KEY=VALUE file (values shell-quoted)."""
    lines = []
    if header:
        lines += ['# ' + h for h in header.splitlines()]
    lines += [f'{k}={shlex.quote(str(v))}' for k, v in values.items()]
    text = '\n'.join(lines) + '\n'
    if private:
        _write_private(path, text)
    else:
        with open(path, 'w') as f:
            f.write(text)
