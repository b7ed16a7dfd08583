#include "libs/base/status_macros.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace hisbridge {
namespace {

absl::Status Fails() { return absl::NotFoundError("nope"); }
absl::Status Succeeds() { return absl::OkStatus(); }
absl::StatusOr<std::unique_ptr<int>> MakeInt(bool ok) {
  if (!ok) return absl::InvalidArgumentError("bad");
  return std::make_unique<int>(7);
}

absl::Status ReturnIfError(bool fail, int* reached) {
  HB_RETURN_IF_ERROR(Succeeds());
  ++*reached;
  if (fail) HB_RETURN_IF_ERROR(Fails());
  ++*reached;
  return absl::OkStatus();
}

absl::StatusOr<int> AssignOrReturn(bool ok) {
  HB_ASSIGN_OR_RETURN(std::unique_ptr<int> value, MakeInt(ok));  // move-only
  int total = *value;
  HB_ASSIGN_OR_RETURN(auto second, MakeInt(true));
  return total + *second;
}

TEST(StatusMacros, ReturnIfErrorStopsOnFirstError) {
  int reached = 0;
  EXPECT_EQ(ReturnIfError(true, &reached).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(reached, 1);
  reached = 0;
  EXPECT_TRUE(ReturnIfError(false, &reached).ok());
  EXPECT_EQ(reached, 2);
}

TEST(StatusMacros, AssignOrReturnMovesValueOrPropagates) {
  EXPECT_EQ(AssignOrReturn(true).value(), 14);
  EXPECT_EQ(AssignOrReturn(false).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hisbridge
