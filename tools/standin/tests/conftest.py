import os
import subprocess
import sys
import tempfile
import time

import boto3
import pytest
from botocore.config import Config

HERE = os.path.dirname(os.path.abspath(__file__))
STANDIN = os.path.join(HERE, "..", "standin.py")
KEYS = {"aws_access_key_id": "AKIASTANDINEXAMPLE", "aws_secret_access_key": "standinSecretKey/EXAMPLEKEY"}


@pytest.fixture(scope="session")
def standin():
    with tempfile.TemporaryDirectory() as tmp:
        port_file = os.path.join(tmp, "port")
        process = subprocess.Popen([sys.executable, STANDIN, "--port", "0", "--port-file", port_file])
        for _ in range(300):
            if os.path.exists(port_file):
                break
            time.sleep(0.02)
        else:
            process.kill()
            pytest.fail("stand-in did not start")
        yield f"http://127.0.0.1:{open(port_file).read().strip()}"
        process.kill()
        process.wait()


def make_client(url, service="bedrock-runtime", **keys):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1",
                        config=Config(retries={"total_max_attempts": 1}), **(keys or KEYS))


@pytest.fixture
def runtime(standin):
    return make_client(standin)
