"""Fakes of the endpoints that turn an IAM Identity Center (SSO) or `aws login` session into AWS keys.

Mixed into the stand-in's handler, so that the keys they issue are the stand-in's own temporary keys and
sign Bedrock requests to it. Shapes are botocore 1.43's (sso, sso-oidc, signin service models):

- portal GetRoleCredentials: GET /federation/credentials?account_id=&role_name=, header
  x-amz-sso_bearer_token; 401 UnauthorizedException for a token it does not know or that has expired.
- SSO OIDC CreateToken: POST /token, JSON {clientId, clientSecret, grantType: refresh_token, refreshToken};
  rotates the refresh token (the old one stops working) and issues a new access token.
- sign-in CreateOAuth2Token: POST /v1/token, JSON {clientId, grantType: refresh_token, refreshToken} with a
  DPoP header whose ES256 signature must verify against the P-256 key registered for the session (the one
  in the `aws login` cache) and whose htu must be the URL requested; 401/403 AccessDeniedException with
  `error` TOKEN_EXPIRED, USER_CREDENTIALS_CHANGED or INSUFFICIENT_PERMISSIONS when told to.

Tests arrange sessions through POST /_standin/... with query parameters (no body):
- /_standin/sso/access-token?token=T&expiresIn=S[&roleTTL=N]   a token the portal accepts for S seconds
- /_standin/sso/refresh-token?token=R&clientId=C&clientSecret=S[&tokenTTL=N][&roleTTL=N]
- /_standin/sso/revoke?token=T                                 an access or refresh token stops working
- /_standin/login/session?refreshToken=R&clientId=C&keyFile=PEM[&ttl=N][&error=CODE]
and read GET /_standin/counts: {"portal:<token>": n, "oidc:<clientId>": n, "login:<clientId>": n}.
"""

import base64
import hashlib
import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit


class SigninFakesState:
    def __init__(self):
        self.sso_access = {}  # access token -> (expiry, role ttl seconds)
        self.sso_refresh = {}  # refresh token -> (client id, client secret, token ttl, role ttl)
        self.login_sessions = {}  # refresh token -> {clientId, coords, key, ttl, error}
        self.role_keys = {}  # (access token, account, role) -> keys issued, as State.issue answers
        self.counts = {}

    def count(self, key):
        self.counts[key] = self.counts.get(key, 0) + 1


def _b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _load_key(pem_path):
    from awscrt.crypto import EC  # only the login fake needs it (pip install awscrt)

    with open(pem_path) as f:
        lines = [line for line in f.read().splitlines() if line and not line.startswith("-----")]
    key = EC.new_key_from_der_data(base64.b64decode("".join(lines)))
    x, y = key.get_public_coords()
    return key, (_b64url(x), _b64url(y))


class SigninFakesMixin:
    """Methods of the stand-in's Handler; `self.state.fakes` is a SigninFakesState under `self.state.lock`."""

    def fakes_control(self, path):
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        fakes = self.state.fakes
        now = datetime.now(timezone.utc)
        if path == "/_standin/counts":
            with self.state.lock:
                return self.send_json(200, dict(fakes.counts))
        if path == "/_standin/sso/access-token":
            expiry = now + timedelta(seconds=int(query.get("expiresIn", "3600")))
            with self.state.lock:
                fakes.sso_access[query["token"]] = (expiry, int(query.get("roleTTL", self.state.temp_ttl)))
            return self.send_json(200, {})
        if path == "/_standin/sso/refresh-token":
            with self.state.lock:
                fakes.sso_refresh[query["token"]] = (
                    query["clientId"], query["clientSecret"], int(query.get("tokenTTL", "3600")),
                    int(query.get("roleTTL", self.state.temp_ttl)))
            return self.send_json(200, {})
        if path == "/_standin/sso/revoke":
            with self.state.lock:
                fakes.sso_access.pop(query["token"], None)
                fakes.sso_refresh.pop(query["token"], None)
            return self.send_json(200, {})
        if path == "/_standin/login/session":
            key, coords = _load_key(query["keyFile"])
            with self.state.lock:
                fakes.login_sessions[query["refreshToken"]] = {
                    "clientId": query["clientId"], "key": key, "coords": coords,
                    "ttl": int(query.get("ttl", "900")), "error": query.get("error")}
            return self.send_json(200, {})
        return self.send_json(404, {"message": f"no control endpoint {path}"})

    def fake_error(self, status, error_type, body):
        self.send_body(status, json.dumps(body).encode(), extra=[("x-amzn-ErrorType", error_type)])

    # -- IAM Identity Center portal

    def sso_portal(self):
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        token = self.headers.get("x-amz-sso_bearer_token", "")
        fakes = self.state.fakes
        with self.state.lock:
            found = fakes.sso_access.get(token)
        if found is None or found[0] <= datetime.now(timezone.utc):
            return self.fake_error(401, "UnauthorizedException", {"message": "Session token not found or invalid"})
        if not query.get("account_id") or not query.get("role_name"):
            return self.fake_error(400, "InvalidRequestException", {"message": "account_id and role_name required"})
        if query["role_name"] == "NotAssigned":
            return self.fake_error(403, "ForbiddenException", {"message": "No access"})
        # One set of keys per token and role while they last, so that two clients asking with one token
        # (contenox and botocore, in the oracle tests) get the same keys.
        role = (token, query["account_id"], query["role_name"])
        with self.state.lock:
            issued = fakes.role_keys.get(role)
        if issued is None or issued[3] <= datetime.now(timezone.utc):
            issued = self.state.issue(ttl=found[1])
        access, secret, session_token, expiry = issued
        with self.state.lock:
            fakes.role_keys[role] = issued
            fakes.count("portal:" + token)
        self.send_json(200, {"roleCredentials": {
            "accessKeyId": access, "secretAccessKey": secret, "sessionToken": session_token,
            "expiration": int(expiry.timestamp() * 1000)}})

    # -- SSO OIDC

    def sso_oidc_token(self, body):
        try:
            request = json.loads(body)
        except ValueError:
            return self.fake_error(400, "InvalidRequestException", {"error": "invalid_request"})
        if request.get("grantType") != "refresh_token":
            return self.fake_error(400, "UnsupportedGrantTypeException", {"error": "unsupported_grant_type"})
        fakes = self.state.fakes
        with self.state.lock:
            registration = fakes.sso_refresh.get(request.get("refreshToken"))
            if registration is None:
                return self.fake_error(400, "InvalidGrantException", {
                    "error": "invalid_grant", "error_description": "Invalid refresh token provided"})
            client_id, client_secret, token_ttl, role_ttl = registration
            if request.get("clientId") != client_id or request.get("clientSecret") != client_secret:
                return self.fake_error(401, "InvalidClientException", {"error": "invalid_client"})
            del fakes.sso_refresh[request["refreshToken"]]
            access = "standin-sso-access-" + uuid.uuid4().hex
            refresh = "standin-sso-refresh-" + uuid.uuid4().hex
            fakes.sso_access[access] = (datetime.now(timezone.utc) + timedelta(seconds=token_ttl), role_ttl)
            fakes.sso_refresh[refresh] = registration
            fakes.count("oidc:" + client_id)
        self.send_json(200, {"accessToken": access, "tokenType": "Bearer", "expiresIn": token_ttl,
                             "refreshToken": refresh})

    # -- sign-in (aws login)

    def signin_token(self, body):
        def denied(status, error_type, code, message):
            return self.fake_error(status, error_type, {"error": code, "message": message})

        try:
            request = json.loads(body)
        except ValueError:
            return denied(400, "ValidationException", "INVALID_REQUEST", "body is not JSON")
        fakes = self.state.fakes
        with self.state.lock:
            session = fakes.login_sessions.get(request.get("refreshToken"))
        if request.get("grantType") != "refresh_token" or session is None:
            return denied(400, "ValidationException", "INVALID_REQUEST", "unknown refresh token or grant")
        if request.get("clientId") != session["clientId"]:
            return denied(400, "ValidationException", "INVALID_REQUEST", "clientId does not match")
        problem = self.dpop_problem(session)
        if problem:
            return denied(400, "ValidationException", "INVALID_REQUEST", "DPoP proof rejected: " + problem)
        if session["error"]:
            status = 401 if session["error"] in ("TOKEN_EXPIRED", "AUTHCODE_EXPIRED") else 403
            return denied(status, "AccessDeniedException", session["error"], "refresh refused: " + session["error"])
        access, secret, session_token, _ = self.state.issue(ttl=session["ttl"])
        refresh = "standin-login-refresh-" + uuid.uuid4().hex
        with self.state.lock:
            del fakes.login_sessions[request["refreshToken"]]
            fakes.login_sessions[refresh] = session
            fakes.count("login:" + session["clientId"])
        self.send_json(200, {
            "accessToken": {"accessKeyId": access, "secretAccessKey": secret, "sessionToken": session_token},
            "tokenType": "aws_sigv4", "expiresIn": session["ttl"], "refreshToken": refresh})

    def dpop_problem(self, session):
        """None when the DPoP header is a fresh ES256 proof for this request made with the session's key."""
        from awscrt.crypto import EC, ECRawSignature

        parts = self.headers.get("DPoP", "").split(".")
        if len(parts) != 3:
            return "not a JWT"
        try:
            header = json.loads(_b64url_decode(parts[0]))
            payload = json.loads(_b64url_decode(parts[1]))
            signature = _b64url_decode(parts[2])
        except ValueError:
            return "undecodable"
        jwk = header.get("jwk", {})
        if header.get("typ") != "dpop+jwt" or header.get("alg") != "ES256":
            return "typ/alg"
        if (jwk.get("kty"), jwk.get("crv")) != ("EC", "P-256") or (jwk.get("x"), jwk.get("y")) != session["coords"]:
            return "jwk is not the session's key"
        url = f"http://{self.headers.get('Host')}{urlsplit(self.path).path}"
        if payload.get("htm") != "POST" or payload.get("htu") != url:
            return f"htm/htu {payload.get('htm')} {payload.get('htu')} (expected POST {url})"
        if abs(time.time() - payload.get("iat", 0)) > 300 or not payload.get("jti"):
            return "iat/jti"
        if len(signature) != 64:
            return "signature is not r||s"
        digest = hashlib.sha256(f"{parts[0]}.{parts[1]}".encode()).digest()
        if not session["key"].verify(digest, EC.encode_raw_signature(ECRawSignature(signature[:32], signature[32:]))):
            return "signature does not verify"
        return None
