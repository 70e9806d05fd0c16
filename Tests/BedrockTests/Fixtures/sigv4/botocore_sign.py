#!/usr/bin/env python3
"""Signs requests with botocore's SigV4Auth: the independent oracle for contenox's signer.

stdin: a JSON list of {method, host, path, query, headers: [[name, value]], body (text), accessKeyID,
secretAccessKey, sessionToken?, region, service, amzDate}; stdout: a JSON list of Authorization values.
"""
import datetime
import json
import sys
from unittest import mock

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def sign(spec):
    url = f"https://{spec['host']}{spec['path']}"
    if spec["query"]:
        url += "?" + spec["query"]
    request = AWSRequest(method=spec["method"], url=url, data=spec["body"].encode(),
                         headers=dict(spec["headers"]))
    credentials = Credentials(spec["accessKeyID"], spec["secretAccessKey"], spec.get("sessionToken"))
    moment = datetime.datetime.strptime(spec["amzDate"], "%Y%m%dT%H%M%SZ")
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=moment):
        botocore.auth.SigV4Auth(credentials, spec["service"], spec["region"]).add_auth(request)
    return request.headers["Authorization"]


print(json.dumps([sign(spec) for spec in json.load(sys.stdin)]))
