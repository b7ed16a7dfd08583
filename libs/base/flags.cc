#include "libs/base/flags.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace hisbridge {

FlagSet::FlagSet(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

void FlagSet::Add(Flag flag) { flags_.push_back(std::move(flag)); }

FlagSet::Flag* FlagSet::Find(absl::string_view name) {
  for (Flag& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool FlagSet::WasSet(absl::string_view name) const {
  for (const Flag& f : flags_) {
    if (f.name == name) return f.set;
  }
  return false;
}

void FlagSet::String(std::string name, std::string* target, std::string help, bool required) {
  Flag f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.required = required;
  f.default_text = target->empty() ? "" : absl::StrCat("\"", *target, "\"");
  f.assign = [target](absl::string_view v) {
    *target = std::string(v);
    return absl::OkStatus();
  };
  Add(std::move(f));
}

void FlagSet::Int(std::string name, int64_t* target, std::string help) {
  Flag f;
  f.name = name;
  f.help = std::move(help);
  f.default_text = absl::StrCat(*target);
  f.assign = [target, name](absl::string_view v) {
    int64_t parsed;
    if (!absl::SimpleAtoi(v, &parsed)) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " must be an integer; got \"", v, "\""));
    }
    *target = parsed;
    return absl::OkStatus();
  };
  Add(std::move(f));
}

void FlagSet::Int(std::string name, int* target, std::string help) {
  Flag f;
  f.name = name;
  f.help = std::move(help);
  f.default_text = absl::StrCat(*target);
  f.assign = [target, name](absl::string_view v) {
    int parsed;
    if (!absl::SimpleAtoi(v, &parsed)) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " must be an integer; got \"", v, "\""));
    }
    *target = parsed;
    return absl::OkStatus();
  };
  Add(std::move(f));
}

void FlagSet::Double(std::string name, double* target, std::string help) {
  Flag f;
  f.name = name;
  f.help = std::move(help);
  f.default_text = absl::StrCat(*target);
  f.assign = [target, name](absl::string_view v) {
    double parsed;
    if (!absl::SimpleAtod(v, &parsed)) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " must be a number; got \"", v, "\""));
    }
    *target = parsed;
    return absl::OkStatus();
  };
  Add(std::move(f));
}

void FlagSet::Bool(std::string name, bool* target, std::string help) {
  Flag f;
  f.name = name;
  f.help = std::move(help);
  f.is_bool = true;
  f.default_text = *target ? "true" : "false";
  f.assign = [target, name](absl::string_view v) {
    bool parsed;
    if (!absl::SimpleAtob(v, &parsed)) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " must be true or false; got \"", v, "\""));
    }
    *target = parsed;
    return absl::OkStatus();
  };
  Add(std::move(f));
}

void FlagSet::Duration(std::string name, absl::Duration* target, std::string help) {
  Flag f;
  f.name = name;
  f.help = std::move(help);
  f.default_text = absl::FormatDuration(*target);
  f.assign = [target, name](absl::string_view v) {
    absl::Duration parsed;
    if (!absl::ParseDuration(v, &parsed)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, " must be a duration such as 500ms, 5s or 2m; got \"", v, "\""));
    }
    *target = parsed;
    return absl::OkStatus();
  };
  Add(std::move(f));
}

void FlagSet::StringList(std::string name, std::vector<std::string>* target, std::string help) {
  Flag f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.default_text = absl::StrJoin(*target, ",");
  // The first occurrence replaces the default; later ones append.
  auto replaced = std::make_shared<bool>(false);
  f.assign = [target, replaced](absl::string_view v) {
    if (!*replaced) {
      target->clear();
      *replaced = true;
    }
    for (absl::string_view part : absl::StrSplit(v, ',', absl::SkipWhitespace())) {
      target->emplace_back(absl::StripAsciiWhitespace(part));
    }
    return absl::OkStatus();
  };
  Add(std::move(f));
}

absl::Status FlagSet::Parse(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return Parse(args);
}

absl::Status FlagSet::Parse(const std::vector<std::string>& args) {
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-') {
      if (positional_help_.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("hisbridge ", command_, " takes no positional arguments; got \"", arg,
                         "\" (see --help)"));
      }
      positional_.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      help_requested_ = true;
      return absl::OkStatus();
    }
    absl::string_view body = arg.substr(arg[1] == '-' ? 2 : 1);
    absl::string_view name = body;
    absl::string_view value;
    bool has_value = false;
    if (size_t eq = body.find('='); eq != absl::string_view::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      has_value = true;
    }
    Flag* flag = Find(name);
    bool negated = false;
    if (flag == nullptr && absl::StartsWith(name, "no-")) {
      flag = Find(name.substr(3));
      negated = flag != nullptr && flag->is_bool && !has_value;
      if (!negated) flag = nullptr;
    }
    if (flag == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, " for hisbridge ", command_, " (see --help)"));
    }
    if (negated) {
      value = "false";
    } else if (!has_value) {
      if (flag->is_bool) {
        value = "true";
      } else {
        if (i + 1 >= args.size()) {
          return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
        }
        value = args[++i];
      }
    }
    absl::Status status = flag->assign(value);
    if (!status.ok()) return status;
    flag->set = true;
  }
  for (const Flag& f : flags_) {
    if (f.required && !f.set) {
      return absl::InvalidArgumentError(
          absl::StrCat("hisbridge ", command_, " needs --", f.name, " (", f.help, ")"));
    }
  }
  return absl::OkStatus();
}

std::string FlagSet::Usage() const {
  std::string out = absl::StrCat("Usage: hisbridge ", command_, " [flags]",
                                 positional_help_.empty() ? "" : absl::StrCat(" ", positional_help_),
                                 "\n\n", summary_, "\n\nFlags:\n");
  size_t width = 0;
  for (const Flag& f : flags_) width = std::max(width, f.name.size());
  for (const Flag& f : flags_) {
    std::string line = absl::StrCat("  --", f.name, std::string(width - f.name.size() + 2, ' '), f.help);
    if (f.required) {
      absl::StrAppend(&line, " (required)");
    } else if (!f.default_text.empty()) {
      absl::StrAppend(&line, " (default ", f.default_text, ")");
    }
    absl::StrAppend(&out, line, "\n");
  }
  absl::StrAppend(&out, "  --help", std::string(width > 4 ? width - 4 + 2 : 2, ' '), "show this help\n");
  if (!epilog_.empty()) absl::StrAppend(&out, "\n", epilog_, "\n");
  return out;
}

}  // namespace hisbridge
