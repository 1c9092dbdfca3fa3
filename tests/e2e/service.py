# SPDX-License-Identifier: MIT
"""The whole PatchProof service, for real, in a temp dir: MariaDB, memcached,
patchproof-kms (keys made by `patchproof kms keygen`, one scoped token per
role), one or more patchproof-fcgi pools and nginx with the production site in
front of them. Used by the e2e tests. The assembly itself is
scripts/assemble.py, the same code `make run` uses; this adds the test tuning
(short timeouts) and fresh secrets."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE, 'scripts'))
sys.path.insert(0, HERE)

import assemble  # noqa: E402
import stack as stackmod  # noqa: E402
import ppclient  # noqa: E402

BUILD = os.environ.get('PP_BUILD_DIR', os.path.join(SOURCE, 'build'))

# Short timeouts so that fault tests finish quickly.
TEST_TUNING = {'KMS_TIMEOUT_MS': '1500', 'KMS_RETRIES': '1', 'DEPLOY_SHA': 'e2e'}


def binary(name):
    path = os.path.join(BUILD, name)
    if not os.access(path, os.X_OK):
        raise RuntimeError(f'{name} is not built in {BUILD}')
    return path


def pinned_servers(ports_and_sockets):
    """nginx server blocks that each reach exactly one pool socket (on a port
    of its own), so a test picks the host: extra_servers of a stack."""
    return '\n'.join(f'''
    server {{
        listen 127.0.0.1:{port};
        include {stackmod.NGINX_DIR}/json-errors.conf;
        location / {{
            fastcgi_pass unix:{sock};
            include {stackmod.NGINX_DIR}/fastcgi_params.patchproof;
        }}
    }}''' for port, sock in ports_and_sockets)


class ServiceStack(assemble.Service):
    """start() brings everything up; stop() (or the context manager) ends it.
    env: settings for the API pools (on top of the test tuning)."""

    def __init__(self, base_dir, pools=1, workers=2, env=None, extra_servers='', chain=False,
                 job_workers=0, tuning=None, worker_env=None, **kw):
        super().__init__(base_dir, BUILD, SOURCE, assemble.new_secrets(), env_name='test',
                         pools=pools, fcgi_workers=workers, chain=chain, job_workers=job_workers,
                         env={**TEST_TUNING, **(tuning or {})}, api_env=env, worker_env=worker_env,
                         extra_servers=extra_servers, **kw)

    # Names the tests have always used.
    @property
    def api_key(self):
        return self.secrets['API_KEY']

    @property
    def jwt_secret(self):
        return self.secrets['JWT_SECRET']

    @property
    def kms_master_key(self):
        return self.secrets['KMS_MASTER_KEY']

    @property
    def content_master_key(self):
        return self.secrets['CONTENT_MASTER_KEY']

    @property
    def kms_api_key(self):
        """The API processes' KMS token."""
        return self.token('api')

    @property
    def kms_tokens(self):
        return {role: self.token(role) for role in assemble.KMS_SCOPES}

    def app_env(self):
        return self.api_env()

    def stop(self):
        """Stops everything; raises if any process logged a sanitizer report
        (the ASan+UBSan build runs these same tests)."""
        super().stop()
        reports = [name for name, text in self.all_logs().items()
                   if 'Sanitizer' in text or 'runtime error:' in text]
        if reports:
            raise AssertionError('sanitizer reports in the logs of: ' + ', '.join(reports))

    # -- helpers for tests
    def client(self, token=None):
        return ppclient.Client(self.base_url, api_key=self.api_key, token=token)

    def all_logs(self):
        return {name: self.st.logs(name) for name in self.st.names()}

    @property
    def svd_pub(self):
        return self.keys['svd']['keyIdentifier']
