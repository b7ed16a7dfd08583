// A Fellegi-Sunter model: for every field comparison level, the
// probability m of that level among pairs of records of the same person and
// u among pairs of different people, the thresholds of the decisions, and
// the model's identity (every decision records "<name>/<version>").
//
// Models are JSON files (the protobuf JSON mapping of
// hisbridge.match.v1.Model, proto/hisbridge/match/v1/model.proto), written
// by `hisbridge train` and loaded by every role. A default model is compiled
// into the library (libs/match/models/default_model.json).
//
// Loading validates strictly: every field of libs/match/comparison.h must be
// present with exactly its levels, m and u in (0, 1], upper > lower; an error
// names the field, the level and the rule.
//
// Thread safety: immutable after construction; safe to share.
#ifndef HISBRIDGE_LIBS_MATCH_FS_MODEL_H_
#define HISBRIDGE_LIBS_MATCH_FS_MODEL_H_

#include <array>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hisbridge/match/v1/model.pb.h"
#include "libs/match/comparison.h"
#include "libs/match/matcher.h"

namespace hisbridge::match {

class FsModel {
 public:
  // Validates `model` and precomputes its weights.
  static absl::StatusOr<FsModel> FromProto(hisbridge::match::v1::Model model);
  static absl::StatusOr<FsModel> FromJson(absl::string_view json);
  static absl::StatusOr<FsModel> Load(const std::string& path);
  // The model compiled into the binary.
  static const FsModel& Default();
  // The JSON text of the compiled-in default model.
  static absl::string_view DefaultJson();

  std::string ToJson() const;
  absl::Status Save(const std::string& path) const;

  const hisbridge::match::v1::Model& proto() const { return proto_; }
  // "<name>/<version>", e.g. "fs-county/2026.12.1".
  const std::string& id() const { return id_; }
  Thresholds thresholds() const { return thresholds_; }
  double max_weight() const { return max_weight_; }

  double m(Field field, uint8_t level) const { return m_[Index(field)][level]; }
  double u(Field field, uint8_t level) const { return u_[Index(field)][level]; }
  // log2(m/u), clamped to +-max_weight.
  double weight(Field field, uint8_t level) const { return weight_[Index(field)][level]; }
  bool term_frequency(Field field, uint8_t level) const { return tf_[Index(field)][level]; }

  // Clamped log2(m / u) for a given u (used for term-frequency adjustment).
  double WeightFor(Field field, uint8_t level, double u) const;

 private:
  static constexpr size_t kMaxLevels = 12;
  static size_t Index(Field f) { return static_cast<size_t>(f); }
  FsModel() = default;

  hisbridge::match::v1::Model proto_;
  std::string id_;
  Thresholds thresholds_;
  double max_weight_ = 30;
  std::array<std::array<double, kMaxLevels>, kFieldCount> m_{}, u_{}, weight_{};
  std::array<std::array<bool, kMaxLevels>, kFieldCount> tf_{};
};

// The level structure of every comparison with the given m and u values
// (row per field in Field order, column per level), for training and tests.
hisbridge::match::v1::Model MakeModelProto(const std::string& name, const std::string& version,
                                           const std::vector<std::vector<double>>& m,
                                           const std::vector<std::vector<double>>& u, Thresholds thresholds);

}  // namespace hisbridge::match

#endif  // HISBRIDGE_LIBS_MATCH_FS_MODEL_H_
