// HMAC-SHA256 with the key schedule done once.
//
// Blocking tokens are computed ~10 times per record for millions of
// records, so the keyed inner and outer SHA-256 states are computed when
// the key is set and copied (a plain struct copy) for every message: one
// call costs two SHA-256 compressions for short texts, no allocation.
//
// Thread safety: immutable after construction; safe from any thread.
#ifndef HISBRIDGE_LIBS_SECURITY_HMAC_H_
#define HISBRIDGE_LIBS_SECURITY_HMAC_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"

namespace hisbridge::security {

class HmacSha256 {
 public:
  explicit HmacSha256(absl::string_view key);
  ~HmacSha256();
  HmacSha256(const HmacSha256&) = delete;
  HmacSha256& operator=(const HmacSha256&) = delete;

  std::array<uint8_t, 32> Digest(absl::string_view message) const;
  // The first 8 bytes of the digest, big-endian.
  uint64_t Prefix64(absl::string_view message) const;

 private:
  struct States;
  std::unique_ptr<States> states_;
};

// The process-wide token key: blocking tokens (match::Token) and keyed
// secondary-index tokens (KeyedToken) use it. Until SetProcessTokenKey is
// called it is a fixed development key, public in this source, so tokens
// are then merely unkeyed hashes. Set it once at start, before any token is
// computed; the previous key object stays valid (it is never freed), so a
// concurrent caller never sees a dangling state.
const HmacSha256& ProcessTokenHmac();
void SetProcessTokenKey(absl::string_view key);
// True once SetProcessTokenKey has been called.
bool ProcessTokenKeyIsSet();

// Lower-case hex of bytes.
std::string HexEncode(absl::string_view bytes);

}  // namespace hisbridge::security

#endif  // HISBRIDGE_LIBS_SECURITY_HMAC_H_
