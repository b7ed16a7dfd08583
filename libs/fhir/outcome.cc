#include "libs/fhir/outcome.h"

#include "absl/strings/str_cat.h"

namespace hisbridge::fhir {

absl::string_view SeverityCode(Severity severity) {
  switch (severity) {
    case Severity::kFatal: return "fatal";
    case Severity::kError: return "error";
    case Severity::kWarning: return "warning";
    case Severity::kInformation: return "information";
  }
  return "error";
}

absl::string_view IssueTypeCode(IssueType type) {
  switch (type) {
    case IssueType::kInvalid: return "invalid";
    case IssueType::kStructure: return "structure";
    case IssueType::kRequired: return "required";
    case IssueType::kValue: return "value";
    case IssueType::kInvariant: return "invariant";
    case IssueType::kCodeInvalid: return "code-invalid";
    case IssueType::kNotSupported: return "not-supported";
    case IssueType::kDuplicate: return "duplicate";
    case IssueType::kNotFound: return "not-found";
    case IssueType::kProcessing: return "processing";
    case IssueType::kTooCostly: return "too-costly";
    case IssueType::kTransient: return "transient";
    case IssueType::kTimeout: return "timeout";
    case IssueType::kForbidden: return "forbidden";
    case IssueType::kException: return "exception";
    case IssueType::kInformational: return "informational";
  }
  return "invalid";
}

Issue MakeError(IssueType type, std::string expression, std::string diagnostics) {
  return Issue{Severity::kError, type, std::move(expression), std::move(diagnostics)};
}

Issue MakeWarning(IssueType type, std::string expression, std::string diagnostics) {
  return Issue{Severity::kWarning, type, std::move(expression), std::move(diagnostics)};
}

Issue MakeInformation(std::string expression, std::string diagnostics) {
  return Issue{Severity::kInformation, IssueType::kInformational, std::move(expression), std::move(diagnostics)};
}

bool HasErrors(const std::vector<Issue>& issues) {
  for (const Issue& i : issues) {
    if (i.is_error()) return true;
  }
  return false;
}

Json OperationOutcomeJson(const std::vector<Issue>& issues) {
  Json outcome = Json::Object();
  outcome.Set("resourceType", Json::String("OperationOutcome"));
  Json& list = outcome.Set("issue", Json::Array());
  for (const Issue& i : issues) {
    Json issue = Json::Object();
    issue.Set("severity", Json::String(std::string(SeverityCode(i.severity))));
    issue.Set("code", Json::String(std::string(IssueTypeCode(i.type))));
    if (!i.diagnostics.empty()) issue.Set("diagnostics", Json::String(i.diagnostics));
    if (!i.expression.empty()) issue.Set("expression", Json::Array()).Append(Json::String(i.expression));
    list.Append(std::move(issue));
  }
  if (issues.empty()) {
    Json issue = Json::Object();
    issue.Set("severity", Json::String("information"));
    issue.Set("code", Json::String("informational"));
    issue.Set("diagnostics", Json::String("OK"));
    list.Append(std::move(issue));
  }
  return outcome;
}

std::string DescribeIssues(const std::vector<Issue>& issues) {
  std::string out;
  for (const Issue& i : issues) {
    if (!out.empty()) out.append("; ");
    absl::StrAppend(&out, SeverityCode(i.severity), " ", IssueTypeCode(i.type), i.expression.empty() ? "" : " ",
                    i.expression, ": ", i.diagnostics);
  }
  return out;
}

}  // namespace hisbridge::fhir
