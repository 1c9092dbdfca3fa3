// SPDX-License-Identifier: MIT
#include "crypto/svd.h"

#include "crypto/encoding.h"

namespace pp::crypto {

Result<PublicKey> svd_v2c(const PublicKey &pmc, const Hash256 &h) noexcept
{
    PublicKey v2c = pmc;
    if (!secp256k1_ec_pubkey_tweak_add(secp_ctx(), &v2c.key, h.data()))
        return Errc::bad_key;
    return v2c;
}

Result<Secret<32>> svd_tweak_secret(const Secret<32> &k, const Hash256 &h) noexcept
{
    Secret<32> out(k.span());
    if (!secp256k1_ec_seckey_tweak_add(secp_ctx(), out.data(), h.data()))
        return Errc::bad_key;
    return out;
}

Secret<32> svd_session_key(std::span<const uint8_t, 33> pms_pub33, std::span<const uint8_t, 33> pmc33,
                           std::span<const uint8_t> m, const Secret<32> &x) noexcept
{
    Sha256 ctx;
    ctx.update(pms_pub33).update(pmc33).update(m);
    Hash256 salt = ctx.finish();
    Secret<32> s;
    hk(s.span(), salt, x.span(), "SVD-Session");
    return s;
}

Result<Secret<32>> svd_shared_secret_with_v2c(const Secret<32> &pms, std::span<const uint8_t, 33> pms_pub33,
                                              std::span<const uint8_t, 33> pmc33, const PublicKey &v2c,
                                              const Hash256 &h, std::span<const uint8_t> m) noexcept
{
    if (m.size() != kSvdMessageBytes)
        return Errc::invalid_argument;
    auto p2s = svd_tweak_secret(pms, h);
    if (!p2s)
        return p2s.error();
    auto x = ecdh_x(*p2s, v2c);
    if (!x)
        return x.error();
    return svd_session_key(pms_pub33, pmc33, m, *x);
}

Result<Secret<32>> svd_shared_secret_server(const Secret<32> &pms, std::span<const uint8_t, 33> pms_pub33,
                                            const PublicKey &pmc, std::span<const uint8_t> m) noexcept
{
    if (m.size() != kSvdMessageBytes)
        return Errc::invalid_argument;
    const Hash256 h = sha256(m);
    auto v2c = svd_v2c(pmc, h);
    if (!v2c)
        return v2c.error();
    return svd_shared_secret_with_v2c(pms, pms_pub33, serialize_pubkey(pmc), *v2c, h, m);
}

Result<Secret<32>> svd_ecdh_x_client(const Secret<32> &pmc_priv, const PublicKey &pms_pub,
                                     const Hash256 &h) noexcept
{
    auto k = svd_tweak_secret(pmc_priv, h);
    if (!k)
        return k.error();
    auto p2s_pub = svd_v2c(pms_pub, h);  // PMSpub + h·G
    if (!p2s_pub)
        return p2s_pub.error();
    return ecdh_x(*k, *p2s_pub);
}

Hash256 svd_proof(std::string_view user_id, std::span<const uint8_t, 32> jti, const Secret<32> &s) noexcept
{
    Sha256 ctx;
    ctx.update(as_bytes(user_id)).update(jti);
    const Hash256 key = ctx.finish();
    Hash256 out;
    hk(out, key, s.span(), "JWT-Token");
    return out;
}

}  // namespace pp::crypto
