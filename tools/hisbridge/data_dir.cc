#include "tools/hisbridge/data_dir.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/base/file_util.h"
#include "libs/base/status_macros.h"
#include "libs/security/key_ring.h"

namespace hisbridge::cli {

const std::vector<std::string>& StoreNames() {
  static const std::vector<std::string>* names = new std::vector<std::string>{"linker", "query", "access-log"};
  return *names;
}

bool IsStore(const std::string& path) { return PathExists(path + "/CURRENT"); }

absl::StatusOr<std::shared_ptr<const index::ValueCipher>> LoadCipher(const std::string& keys_file) {
  if (keys_file.empty()) return std::shared_ptr<const index::ValueCipher>();
  auto ring = security::KeyRing::Load(keys_file);
  if (!ring.ok()) return absl::Status(ring.status().code(), absl::StrCat("--keys: ", ring.status().message()));
  return std::shared_ptr<const index::ValueCipher>(std::make_shared<security::AesGcmCipher>(std::move(*ring)));
}

absl::StatusOr<std::unique_ptr<ScratchDirectory>> ScratchDirectory::Create(const std::string& prefix) {
  HB_ASSIGN_OR_RETURN(std::string path, MakeTempDirectory(prefix));
  return std::unique_ptr<ScratchDirectory>(new ScratchDirectory(std::move(path)));
}

ScratchDirectory::~ScratchDirectory() { (void)RemoveRecursively(path_); }

absl::StatusOr<SecondaryStore> OpenStoreAsSecondary(const std::string& path,
                                                    std::shared_ptr<const index::ValueCipher> cipher) {
  if (!IsStore(path)) return absl::NotFoundError(absl::StrCat(path, " is not a RocksDB store (no CURRENT file)"));
  SecondaryStore out;
  HB_ASSIGN_OR_RETURN(out.scratch, ScratchDirectory::Create("hisbridge-secondary-"));
  index::KvStoreOptions options;
  HB_ASSIGN_OR_RETURN(options.families, index::KvStore::ListFamilies(path));
  options.create_if_missing = false;
  options.secondary_path = out.scratch->path();
  options.cipher = std::move(cipher);
  options.block_cache_bytes = 64 << 20;
  HB_ASSIGN_OR_RETURN(out.store, index::KvStore::Open(path, options));
  return out;
}

absl::StatusOr<SecondaryIndex> OpenIndexAsSecondary(const std::string& path,
                                                    std::shared_ptr<const index::ValueCipher> cipher) {
  if (!IsStore(path)) return absl::NotFoundError(absl::StrCat(path, " is not a RocksDB store (no CURRENT file)"));
  SecondaryIndex out;
  HB_ASSIGN_OR_RETURN(out.scratch, ScratchDirectory::Create("hisbridge-secondary-"));
  index::KvStoreOptions options;
  options.create_if_missing = false;
  options.secondary_path = out.scratch->path();
  options.cipher = std::move(cipher);
  options.block_cache_bytes = 64 << 20;
  auto opened = index::PatientIndex::Open(path, options);
  if (!opened.ok()) {
    return absl::Status(opened.status().code(), absl::StrCat(path, " is not a patient index: ", opened.status().message()));
  }
  out.index = std::move(*opened);
  return out;
}

absl::StatusOr<std::string> FindLinkerStore(const std::string& dir) {
  if (IsStore(dir + "/linker")) return dir + "/linker";
  if (IsStore(dir)) return dir;
  return absl::NotFoundError(absl::StrCat("no linker index in ", dir, " (neither ", dir, "/linker nor ", dir,
                                          " itself is a RocksDB store)"));
}

absl::StatusOr<std::vector<std::string>> RestoreBackup(const std::string& backup_dir, const std::string& data_dir) {
  std::vector<std::string> stores;
  for (const std::string& name : StoreNames()) {
    if (IsStore(absl::StrCat(backup_dir, "/", name))) stores.push_back(name);
  }
  if (stores.empty()) {
    return absl::NotFoundError(absl::StrCat("--restore-from ", backup_dir,
                                            ": no backup there (no linker/, query/ or access-log/ store; make one "
                                            "with hisbridge backup --to)"));
  }
  for (const std::string& name : StoreNames()) {
    const std::string target = absl::StrCat(data_dir, "/", name);
    if (PathExists(target)) {
      return absl::FailedPreconditionError(
          absl::StrCat("--restore-from: ", target, " already exists; restore only into an empty data directory "
                                                   "(move the old one away first)"));
    }
  }
  HB_RETURN_IF_ERROR(MakeDirectories(data_dir));
  for (const std::string& name : stores) {
    const std::string source = absl::StrCat(backup_dir, "/", name);
    const std::string partial = absl::StrCat(data_dir, "/.restoring-", name);
    const std::string target = absl::StrCat(data_dir, "/", name);
    HB_RETURN_IF_ERROR(RemoveRecursively(partial));
    std::error_code error;
    // A real copy, not hard links: the restored store is written to, and
    // the backup must stay as it was.
    std::filesystem::copy(source, partial, std::filesystem::copy_options::recursive, error);
    if (error) {
      return absl::InternalError(absl::StrCat("copy ", source, " to ", partial, ": ", error.message()));
    }
    std::filesystem::rename(partial, target, error);
    if (error) return absl::InternalError(absl::StrCat("rename ", partial, " to ", target, ": ", error.message()));
  }
  return stores;
}

}  // namespace hisbridge::cli
