/* Shared by the files of the DKIM module (sim/proto/dkim*.c):
 *
 *   dkim_tags.c    tag-lists (RFC 6376 3.2), the DKIM-Signature field
 *                  (3.5) and key records (3.6.1) parsed into structs
 *   dkim_canon.c   canonicalisation (3.4), header fields of a message,
 *                  header selection (5.4.2), body hashes
 *   dkim_key.c     public keys (import of p=) and signing keys
 *                  (generation, PEM/DER, export); nettle, hogweed, GnuTLS
 *   dkim.c         signing (5) and the verifier (6), result names */
#pragma once

#include "mailsim/dkim.h"

#include <gmp.h>
#include <nettle/rsa.h>
#include <nettle/sha2.h>

/* A header field of a message: offsets into the message's text, the
 * field without its final CRLF. */
typedef struct {
    gsize start;    /* first octet of the name */
    gsize name_len; /* up to the colon, white space before it excluded */
    gsize len;      /* whole field, folding included, final CRLF excluded */
} MsDkimField;

/* A message split for DKIM: its text in CRLF form (bare LFs made CRLF),
 * the header fields top first, and the body's offset. */
typedef struct {
    char *text;
    gsize len;
    GArray *fields; /* of MsDkimField */
    gsize body;     /* offset of the body (== len when there is none) */
} MsDkimMessage;

struct _MsDkimKey {
    MsDkimKeyType type;
    gboolean testing;  /* t=y */
    gboolean strict_i; /* t=s */
    guint bits;
    struct rsa_public_key rsa; /* for MS_DKIM_KEY_RSA */
    guint8 ed25519[32];        /* for MS_DKIM_KEY_ED25519 */
};

struct _MsDkimSigningKey {
    MsDkimAlg alg;
    guint bits;
    struct rsa_public_key rsa_pub;
    struct rsa_private_key rsa_priv;
    guint8 ed25519_seed[32];
    guint8 ed25519_pub[32];
    char *public_b64; /* the p= value, made once */
};

/* Splits `text` (copied, bare LFs made CRLF) into header fields and body. */
void ms__dkim_message_init(MsDkimMessage *msg, const char *text, gsize len);
void ms__dkim_message_clear(MsDkimMessage *msg);

/* Whether field f's name equals `name` (ASCII case-insensitive). */
gboolean ms__dkim_field_is(const MsDkimMessage *msg, const MsDkimField *f, const char *name);

/* Feeds the canonical header fields h= selects (RFC 6376 5.4.2: for each
 * name, the lowest instance not yet used; a name with no instance left
 * contributes nothing) into ctx. */
void ms__dkim_hash_headers(const MsDkimMessage *msg, MsDkimCanon canon, const char *const *names,
                           struct sha256_ctx *ctx);

/* Feeds the DKIM-Signature field `field` (len octets, no final CRLF) with
 * its b= value removed, canonicalised, without a final CRLF (RFC 6376
 * 3.7) into ctx. */
void ms__dkim_hash_signature_field(MsDkimCanon canon, const char *field, gsize len,
                                   struct sha256_ctx *ctx);

/* Strict base64 (RFC 6376 2.4: white space ignored, nothing else but the
 * alphabet and final padding). Returns NULL when invalid. */
GBytes *ms__dkim_base64_decode(const char *text, gsize len);

/* Imports a key record's decoded p= of the given type (RFC 6376 3.6.1,
 * RFC 8463 4.2); NULL with MS_DKIM_ERROR_KEY and the reason. */
MsDkimKey *ms__dkim_key_import(MsDkimKeyType type, GBytes *der, GError **error);

/* Folding white space and white space (RFC 6376 2.8, RFC 5322). */
static inline gboolean
ms__dkim_is_wsp(char c)
{
    return c == ' ' || c == '\t';
}
static inline gboolean
ms__dkim_is_fws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
