#include "libs/security/key_ring.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "libs/base/file_util.h"
#include "libs/index/kv_store.h"
#include "libs/security/hmac.h"

namespace hisbridge::security {
namespace {

using ::testing::HasSubstr;
using namespace std::string_literals;

TEST(HmacSha256, MatchesRfc4231TestCase2) {
  HmacSha256 h("Jefe");
  auto d = h.Digest("what do ya want for nothing?");
  EXPECT_EQ(HexEncode(absl::string_view(reinterpret_cast<const char*>(d.data()), d.size())),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacSha256, LongKeysAreHashedFirst) {
  // RFC 4231 test case 6: a 131-byte key.
  HmacSha256 h(std::string(131, '\xaa'));
  auto d = h.Digest("Test Using Larger Than Block-Size Key - Hash Key First");
  EXPECT_EQ(HexEncode(absl::string_view(reinterpret_cast<const char*>(d.data()), d.size())),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(KeyRing, RoundTripsThroughItsFile) {
  KeyRing ring = KeyRing::Generate();
  const std::string first = ring.active_id();
  const std::string second = ring.AddKey();
  EXPECT_NE(first, second);
  auto parsed = KeyRing::Parse(ring.Serialize());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->active_id(), second);
  EXPECT_EQ(parsed->keys(), ring.keys());
  EXPECT_EQ(parsed->token_key(), ring.token_key());
}

TEST(KeyRing, ErrorsNameTheLineAndRule) {
  KeyRing ring = KeyRing::Generate();
  std::string text = ring.Serialize();
  auto bad_id = KeyRing::Parse(absl::StrCat(text, "key 00000000 = ", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"),
                               "keys.conf");
  ASSERT_FALSE(bad_id.ok());
  EXPECT_THAT(bad_id.status().message(), HasSubstr("keys.conf line 6: key id 00000000 does not match its key"));
  auto short_key = KeyRing::Parse("token-key = AAAA\n", "keys.conf");
  EXPECT_THAT(short_key.status().message(), HasSubstr("line 1: a key is the base64 of exactly 32 random bytes"));
  auto no_active = KeyRing::Parse(text.substr(0, text.find("active")), "keys.conf");
  EXPECT_THAT(no_active.status().message(), HasSubstr("no `active = ID` line"));
  auto unknown = KeyRing::Parse("colour = blue\n", "keys.conf");
  EXPECT_THAT(unknown.status().message(), HasSubstr("unknown entry \"colour\""));
}

TEST(AesGcmCipher, SealsAndOpensBoundToItsContext) {
  AesGcmCipher cipher(KeyRing::Generate());
  auto sealed = cipher.Seal("patients\0P1"s, "450321198503021232");
  ASSERT_TRUE(sealed.ok());
  EXPECT_TRUE(cipher.IsSealed(*sealed));
  EXPECT_EQ(sealed->find("450321198503021232"), std::string::npos);
  auto opened = cipher.Open("patients\0P1"s, *sealed);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "450321198503021232");
  // Another row key, or a flipped bit, does not open.
  EXPECT_EQ(cipher.Open("patients\0P2"s, *sealed).status().code(), absl::StatusCode::kDataLoss);
  std::string tampered = *sealed;
  tampered[tampered.size() - 20] ^= 1;
  EXPECT_EQ(cipher.Open("patients\0P1"s, tampered).status().code(), absl::StatusCode::kDataLoss);
  // Two seals of one value differ (random nonces).
  EXPECT_NE(*cipher.Seal("k", "v"), *cipher.Seal("k", "v"));
}

TEST(AesGcmCipher, OldKeysStayReadableAndMissingKeysAreNamed) {
  KeyRing ring = KeyRing::Generate();
  const std::string old_id = ring.active_id();
  AesGcmCipher old_cipher(ring);
  auto sealed = old_cipher.Seal("c", "secret");
  ring.AddKey();
  AesGcmCipher rotated(ring);
  EXPECT_FALSE(rotated.SealedWithActiveKey(*sealed));
  EXPECT_EQ(*rotated.Open("c", *sealed), "secret");
  ASSERT_TRUE(ring.RemoveKey(old_id).ok());
  AesGcmCipher without_old(ring);
  auto missing = without_old.Open("c", *sealed);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr(old_id));
}

TEST(KeyedToken, IsKeyedAndStable) {
  const std::string dev = KeyedToken("id", "450321198503021232");
  EXPECT_EQ(dev.size(), 32u);
  EXPECT_EQ(dev, KeyedToken("id", "450321198503021232"));
  EXPECT_NE(dev, KeyedToken("phone", "450321198503021232"));
  KeyRing ring = KeyRing::Generate();
  InstallTokenKey(ring);
  EXPECT_NE(dev, KeyedToken("id", "450321198503021232"));
}

TEST(EncryptedKvStore, ValuesAreSealedOnDiskAndRekeyKeepsThemReadable) {
  auto dir = MakeTempDirectory("hb-kv-crypt-");
  ASSERT_TRUE(dir.ok());
  KeyRing ring = KeyRing::Generate();
  index::KvStoreOptions options;
  options.families = {"patients", "offsets"};
  options.plaintext_families = {"offsets"};
  {
    // Written before encryption was on: read as is, rewritten by rekey.
    index::KvStoreOptions plain = options;
    auto store = index::KvStore::Open(*dir, plain);
    ASSERT_TRUE(store.ok());
    auto batch = (*store)->NewBatch();
    batch.Put((*store)->Family("patients"), "legacy", "13811112222");
    ASSERT_TRUE((*store)->Write(&batch).ok());
  }
  options.cipher = std::make_shared<AesGcmCipher>(ring);
  {
    auto store = index::KvStore::Open(*dir, options);
    ASSERT_TRUE(store.ok());
    auto batch = (*store)->NewBatch();
    batch.Put((*store)->Family("patients"), "P1", "450321198503021232");
    batch.Put((*store)->Family("offsets"), "p0", "offset-7");
    ASSERT_TRUE((*store)->Write(&batch).ok());
    EXPECT_EQ((*store)->Get((*store)->Family("patients"), "P1")->value_or(""), "450321198503021232");
    EXPECT_EQ((*store)->Get((*store)->Family("patients"), "legacy")->value_or(""), "13811112222");
  }
  ring.AddKey();
  options.cipher = std::make_shared<AesGcmCipher>(ring);
  auto store = index::KvStore::Open(*dir, options);
  ASSERT_TRUE(store.ok());
  auto stats = (*store)->Reencrypt();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->rewritten, 2);
  EXPECT_EQ(stats->was_plaintext, 1);
  EXPECT_EQ((*store)->Get((*store)->Family("patients"), "P1")->value_or(""), "450321198503021232");
  EXPECT_EQ((*store)->Get((*store)->Family("patients"), "legacy")->value_or(""), "13811112222");
  EXPECT_EQ((*store)->Get((*store)->Family("offsets"), "p0")->value_or(""), "offset-7");
  int scanned = 0;
  ASSERT_TRUE((*store)->Scan((*store)->Family("patients"), "", [&](absl::string_view, absl::string_view v) {
                  EXPECT_TRUE(v == "450321198503021232" || v == "13811112222");
                  ++scanned;
                  return true;
                }).ok());
  EXPECT_EQ(scanned, 2);
  auto again = (*store)->Reencrypt();
  EXPECT_EQ(again->rewritten, 0);
  store->reset();
  (void)RemoveRecursively(*dir);
}

}  // namespace
}  // namespace hisbridge::security
