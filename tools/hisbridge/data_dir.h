// The stores of a `hisbridge serve` data directory, for the commands that
// work on one from outside the serving process: export, backup, rebuild
// and `serve --restore-from`.
//
// A data directory holds up to three RocksDB stores: linker/ (the patient
// index, libs/index/patient_index.h), query/ (the query role's views,
// libs/view/view_store.h) and access-log/. They are read as RocksDB
// secondary instances, which is safe and consistent while the serving
// process writes them (whole batches only) and works just as well on a
// stopped directory.
#ifndef HISBRIDGE_TOOLS_HISBRIDGE_DATA_DIR_H_
#define HISBRIDGE_TOOLS_HISBRIDGE_DATA_DIR_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/index/kv_store.h"
#include "libs/index/patient_index.h"

namespace hisbridge::cli {

// The store directories a data directory may hold, in this order.
const std::vector<std::string>& StoreNames();

// True when `path` is a RocksDB database (has a CURRENT file).
bool IsStore(const std::string& path);

// The at-rest cipher of a key file (--keys); null for "".
absl::StatusOr<std::shared_ptr<const index::ValueCipher>> LoadCipher(const std::string& keys_file);

// A scratch directory removed (with its contents) on destruction: the info
// log of a secondary instance.
class ScratchDirectory {
 public:
  static absl::StatusOr<std::unique_ptr<ScratchDirectory>> Create(const std::string& prefix);
  ~ScratchDirectory();
  const std::string& path() const { return path_; }

 private:
  explicit ScratchDirectory(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// A store opened read-only as a secondary instance, with every family it
// has. Values of sealed families are opened with `cipher` when given.
struct SecondaryStore {
  std::unique_ptr<ScratchDirectory> scratch;
  std::unique_ptr<index::KvStore> store;
};
absl::StatusOr<SecondaryStore> OpenStoreAsSecondary(const std::string& path,
                                                    std::shared_ptr<const index::ValueCipher> cipher);

// The patient index at `path` as a secondary instance.
struct SecondaryIndex {
  std::unique_ptr<ScratchDirectory> scratch;
  std::unique_ptr<index::PatientIndex> index;
};
absl::StatusOr<SecondaryIndex> OpenIndexAsSecondary(const std::string& path,
                                                    std::shared_ptr<const index::ValueCipher> cipher);

// The linker index of `dir`: dir/linker of a data directory, or `dir`
// itself when it is a store. NOT_FOUND otherwise.
absl::StatusOr<std::string> FindLinkerStore(const std::string& dir);

// Copies the stores of a backup (`hisbridge backup --to`) into
// `data_dir`, which must hold none of them. Each store is copied under a
// temporary name and renamed into place, so an interrupted restore never
// leaves a store that looks complete. Returns the stores restored.
absl::StatusOr<std::vector<std::string>> RestoreBackup(const std::string& backup_dir, const std::string& data_dir);

}  // namespace hisbridge::cli

#endif  // HISBRIDGE_TOOLS_HISBRIDGE_DATA_DIR_H_
