#include "libs/security/hmac.h"

// OpenSSL 3 deprecates the SHA256_* functions in favour of EVP, but EVP has
// no way to reuse a keyed state without a heap allocation per call
// (EVP_MD_CTX_copy_ex duplicates provider contexts). The low-level state is
// a plain struct that copies in a few nanoseconds, which is what a
// per-record hot path needs. The functions are still in OpenSSL 3.0.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <atomic>
#include <cstring>

namespace hisbridge::security {

struct HmacSha256::States {
  SHA256_CTX inner;
  SHA256_CTX outer;
};

HmacSha256::HmacSha256(absl::string_view key) : states_(std::make_unique<States>()) {
  unsigned char block[SHA256_CBLOCK] = {0};
  if (key.size() > SHA256_CBLOCK) {
    SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), block);
  } else {
    std::memcpy(block, key.data(), key.size());
  }
  unsigned char pad[SHA256_CBLOCK];
  for (size_t i = 0; i < SHA256_CBLOCK; ++i) pad[i] = block[i] ^ 0x36;
  SHA256_Init(&states_->inner);
  SHA256_Update(&states_->inner, pad, sizeof(pad));
  for (size_t i = 0; i < SHA256_CBLOCK; ++i) pad[i] = block[i] ^ 0x5c;
  SHA256_Init(&states_->outer);
  SHA256_Update(&states_->outer, pad, sizeof(pad));
  std::memset(block, 0, sizeof(block));
  std::memset(pad, 0, sizeof(pad));
}

HmacSha256::~HmacSha256() {
  // Best effort: the keyed states are key material.
  std::memset(states_.get(), 0, sizeof(States));
}

std::array<uint8_t, 32> HmacSha256::Digest(absl::string_view message) const {
  SHA256_CTX ctx = states_->inner;
  unsigned char inner[SHA256_DIGEST_LENGTH];
  SHA256_Update(&ctx, message.data(), message.size());
  SHA256_Final(inner, &ctx);
  ctx = states_->outer;
  SHA256_Update(&ctx, inner, sizeof(inner));
  std::array<uint8_t, 32> out;
  SHA256_Final(out.data(), &ctx);
  return out;
}

uint64_t HmacSha256::Prefix64(absl::string_view message) const {
  const std::array<uint8_t, 32> d = Digest(message);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | d[i];
  return v;
}

namespace {
constexpr absl::string_view kDevelopmentTokenKey = "hisbridge development token key: protects nothing";
std::atomic<const HmacSha256*> g_token_hmac{nullptr};
std::atomic<bool> g_token_key_set{false};
}  // namespace

const HmacSha256& ProcessTokenHmac() {
  const HmacSha256* h = g_token_hmac.load(std::memory_order_acquire);
  if (h != nullptr) return *h;
  static const HmacSha256* development = new HmacSha256(kDevelopmentTokenKey);
  const HmacSha256* expected = nullptr;
  g_token_hmac.compare_exchange_strong(expected, development, std::memory_order_acq_rel);
  return *g_token_hmac.load(std::memory_order_acquire);
}

void SetProcessTokenKey(absl::string_view key) {
  // Intentionally leaked: a thread may still hold the previous one.
  g_token_hmac.store(new HmacSha256(key), std::memory_order_release);
  g_token_key_set.store(true);
}

bool ProcessTokenKeyIsSet() { return g_token_key_set.load(); }

std::string HexEncode(absl::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

}  // namespace hisbridge::security
