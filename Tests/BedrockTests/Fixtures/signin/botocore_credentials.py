"""The oracle: what botocore resolves for a profile. stdin: {"environment": {...}}, the whole environment
botocore runs in (HOME, AWS_CONFIG_FILE, AWS_PROFILE, endpoint variables, ...). stdout: {"accessKeyId",
"secretAccessKey", "sessionToken", "method"}, or {"error": <botocore exception class>, "message"}.
"""

import json
import os
import sys

request = json.load(sys.stdin)
os.environ.clear()
os.environ.update(request["environment"])

# botocore reads HOME for the SSO token cache when it is imported: import only now.
import botocore.session  # noqa: E402

try:
    credentials = botocore.session.Session().get_credentials()
    if credentials is None:
        print(json.dumps({"error": "NoCredentials", "message": "botocore found no credentials"}))
        sys.exit(0)
    frozen = credentials.get_frozen_credentials()
    print(json.dumps({"accessKeyId": frozen.access_key, "secretAccessKey": frozen.secret_key,
                      "sessionToken": frozen.token, "method": credentials.method}))
except Exception as error:  # the kind of failure is what the test compares
    print(json.dumps({"error": type(error).__name__, "message": str(error)}))
