#include "libs/security/key_ring.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <cstring>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/base/file_util.h"
#include "libs/security/hmac.h"

namespace hisbridge::security {
namespace {

constexpr absl::string_view kMagic = "HBE1";
constexpr size_t kIdBytes = 4;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr size_t kHeaderBytes = 4 + kIdBytes + kNonceBytes;

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    // The CSPRNG failing is not recoverable and must not yield a weak key.
    std::abort();
  }
  return out;
}

absl::StatusOr<std::string> DecodeKey(absl::string_view text, absl::string_view where) {
  std::string raw;
  if (!absl::Base64Unescape(text, &raw) || raw.size() != kKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": a key is the base64 of exactly 32 random bytes (e.g. `head -c 32 /dev/urandom | base64`)"));
  }
  return raw;
}

struct CipherCtx {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ~CipherCtx() { EVP_CIPHER_CTX_free(ctx); }
};

EVP_CIPHER_CTX* ThreadCipherCtx() {
  thread_local CipherCtx holder;
  return holder.ctx;
}

}  // namespace

std::string KeyRing::KeyId(absl::string_view key) {
  HmacSha256 h(key);
  auto d = h.Digest("hisbridge key id");
  return HexEncode(absl::string_view(reinterpret_cast<const char*>(d.data()), kIdBytes));
}

KeyRing KeyRing::Generate() {
  KeyRing ring;
  ring.token_key_ = RandomBytes(kKeyBytes);
  ring.AddKey();
  return ring;
}

std::string KeyRing::AddKey() {
  std::string key = RandomBytes(kKeyBytes);
  std::string id = KeyId(key);
  keys_[id] = std::move(key);
  active_ = id;
  return id;
}

absl::Status KeyRing::RemoveKey(const std::string& id) {
  if (id == active_) return absl::FailedPreconditionError(absl::StrCat("key ", id, " is the active key"));
  if (keys_.erase(id) == 0) return absl::NotFoundError(absl::StrCat("no key ", id));
  return absl::OkStatus();
}

absl::StatusOr<KeyRing> KeyRing::Parse(absl::string_view text, absl::string_view source) {
  KeyRing ring;
  int number = 0;
  bool have_token = false;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    const std::string where = absl::StrCat(source, " line ", number);
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": expected `token-key = ...`, `key ID = ...` or `active = ID`"));
    }
    const absl::string_view name = absl::StripAsciiWhitespace(line.substr(0, eq));
    const absl::string_view value = absl::StripAsciiWhitespace(line.substr(eq + 1));
    if (name == "token-key") {
      if (have_token) return absl::InvalidArgumentError(absl::StrCat(where, ": token-key given twice"));
      auto key = DecodeKey(value, where);
      if (!key.ok()) return key.status();
      ring.token_key_ = std::move(*key);
      have_token = true;
    } else if (name == "active") {
      if (!ring.active_.empty()) return absl::InvalidArgumentError(absl::StrCat(where, ": active given twice"));
      ring.active_ = std::string(value);
    } else if (absl::StartsWith(name, "key ") || absl::StartsWith(name, "key\t")) {
      const std::string id(absl::StripAsciiWhitespace(name.substr(4)));
      auto key = DecodeKey(value, where);
      if (!key.ok()) return key.status();
      const std::string expected = KeyId(*key);
      if (id != expected) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": key id ", id, " does not match its key (its id is ", expected, ")"));
      }
      if (!ring.keys_.emplace(id, std::move(*key)).second) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": key ", id, " given twice"));
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat(where, ": unknown entry \"", name,
                                                     "\"; use token-key, key ID or active"));
    }
  }
  if (!have_token) return absl::InvalidArgumentError(absl::StrCat(source, ": no token-key"));
  if (ring.keys_.empty()) return absl::InvalidArgumentError(absl::StrCat(source, ": no key"));
  if (ring.active_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": no `active = ID` line naming the key to write with"));
  }
  if (!ring.keys_.count(ring.active_)) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": active key ", ring.active_, " is not listed"));
  }
  return ring;
}

absl::StatusOr<KeyRing> KeyRing::Load(const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  return Parse(*text, path);
}

std::string KeyRing::Serialize() const {
  std::string out =
      "# hisbridge at-rest keys (docs/security.md). Secret: keep it in a Kubernetes Secret\n"
      "# and a copy in the county's key escrow; without it the data cannot be read.\n";
  absl::StrAppend(&out, "token-key = ", absl::Base64Escape(token_key_), "\n");
  for (const auto& [id, key] : keys_) absl::StrAppend(&out, "key ", id, " = ", absl::Base64Escape(key), "\n");
  absl::StrAppend(&out, "active = ", active_, "\n");
  return out;
}

absl::Status KeyRing::Save(const std::string& path) const {
  absl::Status s = WriteFileAtomically(path, Serialize());
  if (!s.ok()) return s;
  if (::chmod(path.c_str(), 0600) != 0) return absl::InternalError(absl::StrCat("chmod 0600 ", path));
  return absl::OkStatus();
}

bool AesGcmCipher::IsSealed(absl::string_view value) const {
  return value.size() >= kHeaderBytes + kTagBytes && value.substr(0, kMagic.size()) == kMagic;
}

std::string AesGcmCipher::SealedKeyId(absl::string_view value) {
  if (value.size() < kHeaderBytes + kTagBytes || value.substr(0, kMagic.size()) != kMagic) return "";
  return HexEncode(value.substr(kMagic.size(), kIdBytes));
}

bool AesGcmCipher::SealedWithActiveKey(absl::string_view sealed) const {
  return SealedKeyId(sealed) == ring_.active_id();
}

absl::StatusOr<std::string> AesGcmCipher::Seal(absl::string_view context, absl::string_view plaintext) const {
  const std::string& key = ring_.keys().at(ring_.active_id());
  const std::string raw_id = absl::HexStringToBytes(ring_.active_id());
  if (raw_id.size() != kIdBytes) return absl::InternalError("malformed active key id");
  std::string out;
  out.resize(kHeaderBytes + plaintext.size() + kTagBytes);
  std::memcpy(out.data(), kMagic.data(), kMagic.size());
  std::memcpy(out.data() + kMagic.size(), raw_id.data(), kIdBytes);
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  unsigned char* nonce = bytes + kMagic.size() + kIdBytes;
  if (RAND_bytes(nonce, kNonceBytes) != 1) return absl::InternalError("no random nonce (RAND_bytes failed)");
  EVP_CIPHER_CTX* ctx = ThreadCipherCtx();
  int len = 0;
  bool ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, reinterpret_cast<const unsigned char*>(key.data()),
                               nonce) == 1;
  // The header is authenticated too: a changed key id fails to open.
  ok = ok && EVP_EncryptUpdate(ctx, nullptr, &len, bytes, kHeaderBytes) == 1;
  ok = ok && EVP_EncryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(context.data()),
                               static_cast<int>(context.size())) == 1;
  ok = ok && EVP_EncryptUpdate(ctx, bytes + kHeaderBytes, &len,
                               reinterpret_cast<const unsigned char*>(plaintext.data()),
                               static_cast<int>(plaintext.size())) == 1;
  ok = ok && EVP_EncryptFinal_ex(ctx, bytes + kHeaderBytes + len, &len) == 1;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagBytes, bytes + kHeaderBytes + plaintext.size()) == 1;
  if (!ok) return absl::InternalError("AES-256-GCM encryption failed");
  return out;
}

absl::StatusOr<std::string> AesGcmCipher::Open(absl::string_view context, absl::string_view sealed) const {
  if (!IsSealed(sealed)) return absl::DataLossError("value is not sealed (no HBE1 header)");
  const std::string id = SealedKeyId(sealed);
  auto key = ring_.keys().find(id);
  if (key == ring_.keys().end()) {
    return absl::NotFoundError(absl::StrCat("value is sealed with key ", id,
                                            ", which is not in the key file; add it back to read this data"));
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(sealed.data());
  const size_t body = sealed.size() - kHeaderBytes - kTagBytes;
  std::string out(body, '\0');
  EVP_CIPHER_CTX* ctx = ThreadCipherCtx();
  int len = 0;
  bool ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr,
                               reinterpret_cast<const unsigned char*>(key->second.data()),
                               bytes + kMagic.size() + kIdBytes) == 1;
  ok = ok && EVP_DecryptUpdate(ctx, nullptr, &len, bytes, kHeaderBytes) == 1;
  ok = ok && EVP_DecryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(context.data()),
                               static_cast<int>(context.size())) == 1;
  ok = ok && EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &len, bytes + kHeaderBytes,
                               static_cast<int>(body)) == 1;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagBytes,
                                 const_cast<unsigned char*>(bytes + kHeaderBytes + body)) == 1;
  ok = ok && EVP_DecryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()) + len, &len) == 1;
  if (!ok) {
    return absl::DataLossError(absl::StrCat("value sealed with key ", id,
                                            " does not authenticate (corrupt, or moved from another key)"));
  }
  return out;
}

void InstallTokenKey(const KeyRing& ring) { SetProcessTokenKey(ring.token_key()); }

std::string KeyedToken(absl::string_view purpose, absl::string_view value) {
  std::string message;
  message.reserve(purpose.size() + 1 + value.size());
  message.append(purpose.data(), purpose.size());
  message.push_back('\0');
  message.append(value.data(), value.size());
  auto d = ProcessTokenHmac().Digest(message);
  return HexEncode(absl::string_view(reinterpret_cast<const char*>(d.data()), 16));
}

}  // namespace hisbridge::security
