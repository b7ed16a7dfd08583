#include "libs/match/fs_model.h"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "libs/base/file_util.h"

namespace hisbridge::match {

namespace internal {
// libs/match/models/default_model.json, compiled in (generated source).
extern const char kDefaultModelJson[];
}  // namespace internal

namespace {

bool ParseField(absl::string_view name, Field* out) {
  for (size_t i = 0; i < kFieldCount; ++i) {
    if (FieldName(static_cast<Field>(i)) == name) {
      *out = static_cast<Field>(i);
      return true;
    }
  }
  return false;
}

std::string AllFieldNames() {
  std::vector<std::string> names;
  for (size_t i = 0; i < kFieldCount; ++i) names.emplace_back(FieldName(static_cast<Field>(i)));
  return absl::StrJoin(names, ", ");
}

}  // namespace

absl::StatusOr<FsModel> FsModel::FromProto(hisbridge::match::v1::Model model) {
  if (model.name().empty() || model.version().empty()) {
    return absl::InvalidArgumentError("model: name and version are required (they identify every decision)");
  }
  FsModel out;
  out.max_weight_ = model.max_weight() > 0 ? model.max_weight() : 30;
  std::set<Field> seen;
  for (const auto& comparison : model.comparisons()) {
    Field field;
    if (!ParseField(comparison.field(), &field)) {
      return absl::InvalidArgumentError(absl::StrCat("model: unknown comparison field \"", comparison.field(),
                                                     "\"; the fields are ", AllFieldNames()));
    }
    if (!seen.insert(field).second) {
      return absl::InvalidArgumentError(absl::StrCat("model: comparison \"", comparison.field(), "\" given twice"));
    }
    const auto names = LevelNames(field);
    std::vector<bool> have(names.size(), false);
    for (const auto& level : comparison.levels()) {
      const int index = FindLevel(field, level.name());
      if (index < 0) {
        return absl::InvalidArgumentError(absl::StrCat("model: comparison ", comparison.field(), " has no level \"",
                                                       level.name(), "\"; its levels are ",
                                                       absl::StrJoin(names, ", ")));
      }
      if (have[index]) {
        return absl::InvalidArgumentError(
            absl::StrCat("model: ", comparison.field(), ".", level.name(), " given twice"));
      }
      have[index] = true;
      for (const auto& [label, value] : {std::make_pair("m", level.m()), std::make_pair("u", level.u())}) {
        if (!(value > 0 && value <= 1)) {
          return absl::InvalidArgumentError(absl::StrCat("model: ", comparison.field(), ".", level.name(), ".",
                                                         label, " = ", value, " must be in (0, 1]"));
        }
      }
      const size_t f = Index(field);
      out.m_[f][index] = level.m();
      out.u_[f][index] = level.u();
      out.tf_[f][index] = level.term_frequency();
    }
    for (size_t i = 0; i < names.size(); ++i) {
      if (!have[i]) {
        return absl::InvalidArgumentError(
            absl::StrCat("model: comparison ", comparison.field(), " is missing level \"", names[i], "\""));
      }
    }
  }
  for (size_t i = 0; i < kFieldCount; ++i) {
    if (!seen.count(static_cast<Field>(i))) {
      return absl::InvalidArgumentError(
          absl::StrCat("model: comparison \"", FieldName(static_cast<Field>(i)), "\" is missing"));
    }
  }
  if (!(model.thresholds().upper() > model.thresholds().lower())) {
    return absl::InvalidArgumentError(absl::StrCat("model: thresholds.upper (", model.thresholds().upper(),
                                                   ") must be greater than thresholds.lower (",
                                                   model.thresholds().lower(), ")"));
  }
  out.thresholds_ = Thresholds{model.thresholds().upper(), model.thresholds().lower()};
  for (size_t f = 0; f < kFieldCount; ++f) {
    for (size_t l = 0; l < LevelCount(static_cast<Field>(f)); ++l) {
      out.weight_[f][l] = out.WeightFor(static_cast<Field>(f), static_cast<uint8_t>(l), out.u_[f][l]);
    }
  }
  out.id_ = absl::StrCat(model.name(), "/", model.version());
  out.proto_ = std::move(model);
  return out;
}

double FsModel::WeightFor(Field field, uint8_t level, double u) const {
  const double m = m_[Index(field)][level];
  if (!(u > 0)) return max_weight_;
  const double w = std::log2(m / u);
  return std::max(-max_weight_, std::min(max_weight_, w));
}

absl::StatusOr<FsModel> FsModel::FromJson(absl::string_view json) {
  hisbridge::match::v1::Model model;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(std::string(json), &model, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("model: not a valid model file: ", status.message().ToString()));
  }
  return FromProto(std::move(model));
}

absl::StatusOr<FsModel> FsModel::Load(const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  auto model = FromJson(*text);
  if (!model.ok()) return absl::Status(model.status().code(), absl::StrCat(path, ": ", model.status().message()));
  return model;
}

absl::string_view FsModel::DefaultJson() { return internal::kDefaultModelJson; }

const FsModel& FsModel::Default() {
  static const FsModel* model = [] {
    auto loaded = FromJson(DefaultJson());
    // The default model is part of the build and tested; failing here is a
    // build defect, not bad input.
    if (!loaded.ok()) {
      std::fprintf(stderr, "hisbridge: the compiled-in default model is invalid: %s\n",
                   std::string(loaded.status().message()).c_str());
      std::abort();
    }
    return new FsModel(std::move(*loaded));
  }();
  return *model;
}

std::string FsModel::ToJson() const {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(proto_, &json, options);
  return json;
}

absl::Status FsModel::Save(const std::string& path) const { return WriteFileAtomically(path, ToJson()); }

hisbridge::match::v1::Model MakeModelProto(const std::string& name, const std::string& version,
                                           const std::vector<std::vector<double>>& m,
                                           const std::vector<std::vector<double>>& u, Thresholds thresholds) {
  hisbridge::match::v1::Model model;
  model.set_name(name);
  model.set_version(version);
  model.set_max_weight(30);
  for (size_t f = 0; f < kFieldCount; ++f) {
    const Field field = static_cast<Field>(f);
    auto* comparison = model.add_comparisons();
    comparison->set_field(std::string(FieldName(field)));
    const auto names = LevelNames(field);
    for (size_t l = 0; l < names.size(); ++l) {
      auto* level = comparison->add_levels();
      level->set_name(std::string(names[l]));
      level->set_m(f < m.size() && l < m[f].size() ? m[f][l] : 1.0 / names.size());
      level->set_u(f < u.size() && l < u[f].size() ? u[f][l] : 1.0 / names.size());
      const bool tf = (field == Field::kName && l <= level::kNameDialect) ||
                      (field == Field::kPhone && l <= level::kPhoneSameLocal);
      level->set_term_frequency(tf);
    }
  }
  model.mutable_thresholds()->set_upper(thresholds.upper);
  model.mutable_thresholds()->set_lower(thresholds.lower);
  return model;
}

}  // namespace hisbridge::match
