#ifndef CCRYPTO_SHIM_H
#define CCRYPTO_SHIM_H
#include <string.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/rand.h>

/// The private key in a PEM text ("BEGIN EC PRIVATE KEY" or "BEGIN PRIVATE KEY"), or NULL. The caller owns
/// the key and frees it with EVP_PKEY_free.
static inline EVP_PKEY *CCrypto_private_key_from_pem(const char *pem, int length) {
    BIO *bio = BIO_new_mem_buf(pem, length);
    if (bio == NULL) return NULL;
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    return key;
}

/// 1 when `key` is an EC key on P-256, else 0.
static inline int CCrypto_is_p256(const EVP_PKEY *key) {
    char group[64];
    size_t length = 0;
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &length) != 1) return 0;
    return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

/// The public point of a P-256 key as two 32-byte big-endian coordinates. 1 on success.
static inline int CCrypto_p256_public_xy(const EVP_PKEY *key, unsigned char x[32], unsigned char y[32]) {
    BIGNUM *bx = NULL, *by = NULL;
    int ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &bx) == 1
        && EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &by) == 1
        && BN_bn2binpad(bx, x, 32) == 32 && BN_bn2binpad(by, y, 32) == 32;
    BN_free(bx);
    BN_free(by);
    return ok;
}

/// ES256: ECDSA over SHA-256 of `message`, written as raw r || s (32 bytes each) as JWS wants. 1 on success.
static inline int CCrypto_es256_sign(EVP_PKEY *key, const unsigned char *message, size_t length,
                                     unsigned char signature[64]) {
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    unsigned char der[128];
    size_t der_length = sizeof der;
    int ok = context != NULL && EVP_DigestSignInit(context, NULL, EVP_sha256(), NULL, key) == 1
        && EVP_DigestSign(context, der, &der_length, message, length) == 1;
    EVP_MD_CTX_free(context);
    if (!ok) return 0;
    const unsigned char *cursor = der;
    ECDSA_SIG *parsed = d2i_ECDSA_SIG(NULL, &cursor, (long)der_length);
    if (parsed == NULL) return 0;
    const BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG_get0(parsed, &r, &s);
    ok = BN_bn2binpad(r, signature, 32) == 32 && BN_bn2binpad(s, signature + 32, 32) == 32;
    ECDSA_SIG_free(parsed);
    return ok;
}

#endif
