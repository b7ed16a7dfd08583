// hisbridge rekey: creates and rotates the at-rest key file, and rewrites
// a data directory under the active key (docs/security.md, "Key rotation").
#include <iostream>

#include "absl/strings/str_cat.h"
#include "libs/base/file_util.h"
#include "libs/index/kv_store.h"
#include "libs/security/key_ring.h"
#include "tools/hisbridge/commands.h"
#include "tools/hisbridge/common_flags.h"

namespace hisbridge::cli {

int RekeyCommand(int argc, char** argv) {
  std::string keys_file;
  bool create = false;
  bool new_key = false;
  std::string remove_key;
  std::string data_dir;
  FlagSet flags("rekey",
                "Manage the at-rest key file and re-encrypt data. --create writes a new key file; --new-key adds a "
                "data key and makes it active (new writes use it, old keys stay readable); --data-dir DIR rewrites "
                "every stored value of DIR/linker, DIR/query and DIR/access-log under the active key and compacts, "
                "so the old key is no longer needed; --remove-key ID then drops it. Run --data-dir with the "
                "process that owns DIR stopped. The token key never changes (rotating it needs hisbridge rebuild).");
  flags.String("keys", &keys_file, "the key file", /*required=*/true);
  flags.Bool("create", &create, "write a new key file (refuses to overwrite one)");
  flags.Bool("new-key", &new_key, "add a data key and make it the active one");
  flags.String("remove-key", &remove_key, "remove this (inactive) key id; do it only after --data-dir everywhere");
  flags.String("data-dir", &data_dir, "re-encrypt this data directory under the active key");
  int exit_code = 0;
  if (!ParseOrExit(&flags, argc, argv, &exit_code)) return exit_code;
  if (!create && !new_key && remove_key.empty() && data_dir.empty()) {
    std::cerr << "hisbridge rekey: nothing to do: give --create, --new-key, --data-dir or --remove-key\n";
    return 2;
  }
  if (create) {
    if (PathExists(keys_file)) {
      std::cerr << "hisbridge rekey: " << keys_file << " exists; --create never overwrites a key file\n";
      return 1;
    }
    security::KeyRing ring = security::KeyRing::Generate();
    absl::Status s = ring.Save(keys_file);
    if (!s.ok()) {
      std::cerr << "hisbridge rekey: " << s.message() << "\n";
      return 1;
    }
    std::cout << "created " << keys_file << " (active key " << ring.active_id()
              << "); keep a copy in the county's key escrow\n";
  }
  auto ring = security::KeyRing::Load(keys_file);
  if (!ring.ok()) {
    std::cerr << "hisbridge rekey: " << ring.status().message() << "\n";
    return 1;
  }
  if (new_key || !remove_key.empty()) {
    if (new_key) std::cout << "added key " << ring->AddKey() << " (now active)\n";
    if (!remove_key.empty()) {
      absl::Status s = ring->RemoveKey(remove_key);
      if (!s.ok()) {
        std::cerr << "hisbridge rekey: --remove-key: " << s.message() << "\n";
        return 1;
      }
      std::cout << "removed key " << remove_key << "\n";
    }
    absl::Status s = ring->Save(keys_file);
    if (!s.ok()) {
      std::cerr << "hisbridge rekey: " << s.message() << "\n";
      return 1;
    }
  }
  if (data_dir.empty()) return 0;
  auto cipher = std::make_shared<security::AesGcmCipher>(*ring);
  int stores = 0;
  for (const char* name : {"linker", "query", "access-log"}) {
    const std::string path = absl::StrCat(data_dir, "/", name);
    if (!PathExists(path + "/CURRENT")) continue;
    ++stores;
    auto families = index::KvStore::ListFamilies(path);
    if (!families.ok()) {
      std::cerr << "hisbridge rekey: " << families.status().message() << "\n";
      return 1;
    }
    index::KvStoreOptions options;
    options.families = *families;
    options.create_if_missing = false;
    options.cipher = cipher;
    // The families each store leaves unsealed (values with nothing
    // personal; see services/node): kept as they are.
    options.plaintext_families = {"offsets", "blocking", "change_offsets", "watermarks", "search", "review_order"};
    auto store = index::KvStore::Open(path, options);
    if (!store.ok()) {
      std::cerr << "hisbridge rekey: " << store.status().message()
                << " (is a hisbridge process still running on it?)\n";
      return 1;
    }
    auto stats = (*store)->Reencrypt();
    if (!stats.ok()) {
      std::cerr << "hisbridge rekey: " << path << ": " << stats.status().message() << "\n";
      return 1;
    }
    std::cout << path << ": " << stats->values << " values, " << stats->rewritten << " re-encrypted under key "
              << ring->active_id() << " (" << stats->was_plaintext << " were not encrypted)\n";
  }
  if (stores == 0) {
    std::cerr << "hisbridge rekey: no linker, query or access-log store under " << data_dir << "\n";
    return 1;
  }
  return 0;
}

}  // namespace hisbridge::cli
