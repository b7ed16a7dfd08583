// At-rest keys: the data keys that encrypt RocksDB values (AES-256-GCM),
// and the token key that makes blocking tokens and secondary-index keys
// keyed HMAC-SHA256 tokens instead of plaintext identifiers.
//
// The key file (a Kubernetes Secret item, mode 0600 on disk) is text:
//
//   # hisbridge at-rest keys (docs/security.md)
//   token-key = <base64 of 32 bytes>
//   key 5d2c81f0 = <base64 of 32 bytes>
//   key 9a04e3b7 = <base64 of 32 bytes>
//   active = 9a04e3b7
//
// A key's id is the first 4 bytes of HMAC-SHA256(key, "hisbridge key id")
// in hex, checked on load, so a pasted key cannot carry the wrong id. New
// values are sealed with the active key; every listed key stays readable.
// Rotation: `hisbridge rekey --keys FILE --new-key` adds a key and makes it
// active; `hisbridge rekey --keys FILE --data-dir DIR` rewrites every value
// under it; then the old key can be removed. The token key cannot rotate
// without re-blocking the index (`hisbridge rebuild`).
//
// Sealed value: "HBE1" | key id (4 bytes) | nonce (12) | ciphertext | tag
// (16); the associated data is the column family and row key.
//
// Thread safety: KeyRing and AesGcmCipher are immutable after loading; safe
// from any thread.
#ifndef HISBRIDGE_LIBS_SECURITY_KEY_RING_H_
#define HISBRIDGE_LIBS_SECURITY_KEY_RING_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/index/kv_store.h"

namespace hisbridge::security {

inline constexpr size_t kKeyBytes = 32;

class KeyRing {
 public:
  // A new ring: one random data key (active) and a random token key.
  static KeyRing Generate();
  // Parses the key file format above; errors name the line and rule.
  static absl::StatusOr<KeyRing> Parse(absl::string_view text, absl::string_view source = "key file");
  static absl::StatusOr<KeyRing> Load(const std::string& path);

  // Adds a random data key and makes it active; returns its id.
  std::string AddKey();
  // Removes a data key that is not active.
  absl::Status RemoveKey(const std::string& id);

  // The key file text.
  std::string Serialize() const;
  // Writes the key file atomically with mode 0600.
  absl::Status Save(const std::string& path) const;

  const std::string& active_id() const { return active_; }
  const std::map<std::string, std::string>& keys() const { return keys_; }
  const std::string& token_key() const { return token_key_; }

  static std::string KeyId(absl::string_view key);

 private:
  std::map<std::string, std::string> keys_;  // id -> 32 raw bytes
  std::string active_;
  std::string token_key_;
};

// AES-256-GCM value cipher over a key ring (OpenSSL EVP).
class AesGcmCipher final : public index::ValueCipher {
 public:
  explicit AesGcmCipher(KeyRing ring) : ring_(std::move(ring)) {}

  absl::StatusOr<std::string> Seal(absl::string_view context, absl::string_view plaintext) const override;
  absl::StatusOr<std::string> Open(absl::string_view context, absl::string_view sealed) const override;
  bool IsSealed(absl::string_view value) const override;
  bool SealedWithActiveKey(absl::string_view sealed) const override;

  // The key id a sealed value names ("" when not sealed).
  static std::string SealedKeyId(absl::string_view value);

 private:
  KeyRing ring_;
};

// Makes the ring's token key the process-wide key of blocking tokens
// (match::Token) and of KeyedToken. Call once at start, before any record
// is prepared; without it both use a fixed development key that protects
// nothing.
void InstallTokenKey(const KeyRing& ring);

// A keyed token for a secondary-index key built from an identifier, e.g.
// KeyedToken("id", "450321198503021232"): 32 hex characters of
// HMAC-SHA256(token key, purpose "\0" value). Equal inputs give equal
// tokens within a deployment; without the key the identifier cannot be
// recovered or confirmed by guessing.
std::string KeyedToken(absl::string_view purpose, absl::string_view value);

}  // namespace hisbridge::security

#endif  // HISBRIDGE_LIBS_SECURITY_KEY_RING_H_
