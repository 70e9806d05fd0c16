internal import CCrypto
import FoundationEssentials
import JSON

/// The P-256 key `aws login` keeps in its cache (`dpopKey`, a PEM), signing the DPoP proofs (RFC 9449) that
/// bind a refresh to it. Owns one EVP_PKEY, freed in deinit; used by one refresh and then dropped.
final class DPoPKey {
    private let key: OpaquePointer

    /// Nil when the PEM does not hold a P-256 private key.
    init?(pem: String) {
        let bytes = Array(pem.utf8)
        let key = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) {
                CCrypto_private_key_from_pem($0.baseAddress, Int32($0.count))
            }
        }
        guard let key else { return nil }
        guard CCrypto_is_p256(key) == 1 else {
            EVP_PKEY_free(key)
            return nil
        }
        self.key = key
    }

    deinit { EVP_PKEY_free(key) }

    /// The public key as a JWK: `{kty: "EC", x, y, crv: "P-256"}` (botocore's member order).
    var publicJWK: JSONObject? {
        var x = [UInt8](repeating: 0, count: 32)
        var y = [UInt8](repeating: 0, count: 32)
        guard CCrypto_p256_public_xy(key, &x, &y) == 1 else { return nil }
        return [
            "kty": "EC", "x": .string(Self.base64URL(x)), "y": .string(Self.base64URL(y)), "crv": "P-256",
        ]
    }

    /// A DPoP proof for `POST url`: a JWT with header `{typ: "dpop+jwt", alg: "ES256", jwk}` and payload
    /// `{htm, htu, iat, jti}`, signed ES256 (raw r||s). Nil if libcrypto fails.
    func proof(method: String, url: String, at date: Date = Date(), id: String = UUID().uuidString.lowercased())
        -> String?
    {
        guard let jwk = publicJWK else { return nil }
        let header: JSONValue = ["typ": "dpop+jwt", "alg": "ES256", "jwk": .object(jwk)]
        let payload: JSONValue = [
            "htm": .string(method), "htu": .string(url), "iat": .int(Int64(date.timeIntervalSince1970)),
            "jti": .string(id),
        ]
        let signingInput = Self.base64URL(header.serialized()) + "." + Self.base64URL(payload.serialized())
        var signature = [UInt8](repeating: 0, count: 64)
        let signed = Array(signingInput.utf8).withUnsafeBufferPointer {
            CCrypto_es256_sign(key, $0.baseAddress, $0.count, &signature)
        }
        guard signed == 1 else { return nil }
        return signingInput + "." + Self.base64URL(signature)
    }

    /// Base64url without padding (RFC 7515).
    static func base64URL(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return text.replacing("+", with: "-").replacing("/", with: "_")
    }
}
