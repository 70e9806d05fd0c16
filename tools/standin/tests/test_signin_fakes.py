"""The IAM Identity Center and sign-in fakes, driven by boto3's own sso, sso-oidc and signin clients."""

import base64
import hashlib
import json
import os
import urllib.parse
import urllib.request

import boto3
import botocore
import pytest
from botocore.config import Config

from conftest import make_client

KEY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "Tests", "BedrockTests",
                   "Fixtures", "signin", "dpop-key.pem")


def control(standin, path, **query):
    request = urllib.request.Request(f"{standin}{path}?{urllib.parse.urlencode(query)}", method="POST", data=b"")
    urllib.request.urlopen(request).read()


def counts(standin):
    return json.loads(urllib.request.urlopen(f"{standin}/_standin/counts").read())


def unsigned(standin, service):
    return boto3.client(service, endpoint_url=standin, region_name="us-east-1",
                        config=Config(signature_version=botocore.UNSIGNED, retries={"total_max_attempts": 1}))


def with_proof(signin):
    """Makes the client send botocore's own DPoP proof, signed with the test key, as botocore's LoginProvider does."""
    from awscrt.crypto import EC
    from botocore.credentials import _build_add_dpop_header_handler

    with open(KEY) as f:
        der = base64.b64decode("".join(line for line in f.read().splitlines() if not line.startswith("-----")))
    signin.meta.events.register("before-call.signin.CreateOAuth2Token",
                                _build_add_dpop_header_handler(EC.new_key_from_der_data(der)))
    return signin


def test_portal_keys_sign_bedrock_calls(standin):
    control(standin, "/_standin/sso/access-token", token="py-portal", expiresIn=60, roleTTL=600)
    sso = unsigned(standin, "sso")
    role = sso.get_role_credentials(roleName="Dev", accountId="123456789012", accessToken="py-portal")["roleCredentials"]
    again = sso.get_role_credentials(roleName="Dev", accountId="123456789012", accessToken="py-portal")["roleCredentials"]
    assert again["accessKeyId"] == role["accessKeyId"]
    runtime = make_client(standin, aws_access_key_id=role["accessKeyId"], aws_secret_access_key=role["secretAccessKey"],
                          aws_session_token=role["sessionToken"])
    answer = runtime.converse(modelId="amazon.nova-lite-v1:0", messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert answer["output"]["message"]["content"][0]["text"] == "Echo: hi"
    assert counts(standin)["portal:py-portal"] == 2


def test_portal_rejects_unknown_and_revoked_tokens(standin):
    sso = unsigned(standin, "sso")
    with pytest.raises(sso.exceptions.UnauthorizedException):
        sso.get_role_credentials(roleName="Dev", accountId="123456789012", accessToken="nobody")
    control(standin, "/_standin/sso/access-token", token="py-revoked")
    control(standin, "/_standin/sso/revoke", token="py-revoked")
    with pytest.raises(sso.exceptions.UnauthorizedException):
        sso.get_role_credentials(roleName="Dev", accountId="123456789012", accessToken="py-revoked")


def test_oidc_refresh_rotates(standin):
    control(standin, "/_standin/sso/refresh-token", token="py-refresh", clientId="py-client", clientSecret="py-secret")
    oidc = unsigned(standin, "sso-oidc")
    with pytest.raises(oidc.exceptions.InvalidClientException):
        oidc.create_token(clientId="py-client", clientSecret="wrong", grantType="refresh_token",
                          refreshToken="py-refresh")
    answer = oidc.create_token(clientId="py-client", clientSecret="py-secret", grantType="refresh_token",
                               refreshToken="py-refresh")
    assert answer["expiresIn"] == 3600 and answer["refreshToken"] != "py-refresh"
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        oidc.create_token(clientId="py-client", clientSecret="py-secret", grantType="refresh_token",
                          refreshToken="py-refresh")
    sso = unsigned(standin, "sso")
    sso.get_role_credentials(roleName="Dev", accountId="123456789012", accessToken=answer["accessToken"])


def test_signin_wants_a_dpop_proof_from_the_session_key(standin):
    control(standin, "/_standin/login/session", refreshToken="py-login", clientId="py-login-client", keyFile=KEY)
    signin = unsigned(standin, "signin")
    body = {"clientId": "py-login-client", "refreshToken": "py-login", "grantType": "refresh_token"}
    # No proof: refused.
    with pytest.raises(signin.exceptions.ValidationException):
        signin.create_o_auth2_token(tokenInput=body)
    # botocore's own proof, made with the session's key, is accepted.
    with_proof(signin)
    answer = signin.create_o_auth2_token(tokenInput=body)["tokenOutput"]
    assert answer["tokenType"] == "aws_sigv4" and answer["expiresIn"] == 900
    assert answer["accessToken"]["accessKeyId"].startswith("ASIA")
    assert counts(standin)["login:py-login-client"] == 1


@pytest.mark.parametrize("code,status", [("TOKEN_EXPIRED", 401), ("USER_CREDENTIALS_CHANGED", 403),
                                         ("INSUFFICIENT_PERMISSIONS", 403)])
def test_signin_errors(standin, code, status):
    token = "py-" + hashlib.sha1(code.encode()).hexdigest()
    control(standin, "/_standin/login/session", refreshToken=token, clientId="c", keyFile=KEY, error=code)
    signin = with_proof(unsigned(standin, "signin"))
    with pytest.raises(signin.exceptions.AccessDeniedException) as raised:
        signin.create_o_auth2_token(tokenInput={"clientId": "c", "refreshToken": token, "grantType": "refresh_token"})
    assert raised.value.response["error"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


@pytest.mark.parametrize("tamper", ["signature", "htu", "payload"])
def test_signin_rejects_a_tampered_proof(standin, tamper):
    token = "py-tamper-" + tamper
    control(standin, "/_standin/login/session", refreshToken=token, clientId="c", keyFile=KEY)
    signin = with_proof(unsigned(standin, "signin"))

    def spoil(**kwargs):
        header, payload, signature = kwargs["params"]["headers"]["DPoP"].split(".")
        decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        if tamper == "signature":
            raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
            raw[10] ^= 1
            signature = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
        elif tamper == "htu":
            # Re-signed properly, but for another URL: still refused.
            return
        else:
            decoded["jti"] = "other"
            payload = base64.urlsafe_b64encode(json.dumps(decoded).encode()).rstrip(b"=").decode()
        kwargs["params"]["headers"]["DPoP"] = ".".join([header, payload, signature])

    if tamper == "htu":
        from awscrt.crypto import EC
        from botocore.credentials import _build_dpop_header

        with open(KEY) as f:
            der = base64.b64decode("".join(line for line in f.read().splitlines() if not line.startswith("-----")))
        key = EC.new_key_from_der_data(der)
        signin.meta.events.register(
            "before-call.signin.CreateOAuth2Token",
            lambda **kwargs: kwargs["params"]["headers"].__setitem__(
                "DPoP", _build_dpop_header(key, "https://us-east-1.signin.aws.amazon.com/v1/token")))
    else:
        signin.meta.events.register("before-call.signin.CreateOAuth2Token", spoil)
    with pytest.raises(signin.exceptions.ValidationException) as raised:
        signin.create_o_auth2_token(tokenInput={"clientId": "c", "refreshToken": token, "grantType": "refresh_token"})
    reason = {"signature": "signature does not verify", "htu": "htm/htu", "payload": "signature does not verify"}
    assert reason[tamper] in raised.value.response["Error"]["Message"]
