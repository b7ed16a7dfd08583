// Status propagation macros.
//
// The abseil shipped with Debian 12 (20220623) has no RETURN_IF_ERROR or
// ASSIGN_OR_RETURN, so hisbridge defines them once, here. Every module uses
// these two and nothing else for early returns on error.
//
//   HB_RETURN_IF_ERROR(index.Write(batch));
//   HB_ASSIGN_OR_RETURN(Record record, ParseLine(line));
//   HB_ASSIGN_OR_RETURN(auto view, store.Get(id));
//
// Thread safety: macros only; no state.
#ifndef HISBRIDGE_LIBS_BASE_STATUS_MACROS_H_
#define HISBRIDGE_LIBS_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define HB_STATUS_MACROS_CONCAT_INNER_(a, b) a##b
#define HB_STATUS_MACROS_CONCAT_(a, b) HB_STATUS_MACROS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status) and returns it from the enclosing
// function when it is not OK.
#define HB_RETURN_IF_ERROR(expr)                                   \
  do {                                                             \
    ::absl::Status hb_status_macros_status_ = (expr);              \
    if (!hb_status_macros_status_.ok()) return hb_status_macros_status_; \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status from
// the enclosing function, otherwise moves the value into `lhs`, which may be
// a declaration ("auto x") or an existing lvalue.
#define HB_ASSIGN_OR_RETURN(lhs, rexpr) \
  HB_ASSIGN_OR_RETURN_IMPL_(HB_STATUS_MACROS_CONCAT_(hb_statusor_, __LINE__), lhs, rexpr)

#define HB_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                              \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // HISBRIDGE_LIBS_BASE_STATUS_MACROS_H_
