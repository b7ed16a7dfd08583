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
#include "libs/base/file_util.h"
#include "libs/base/status_macros.h"

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
  f.current = [target] { return std::vector<std::string>{*target}; };
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
  f.current = [target] { return std::vector<std::string>{absl::StrCat(*target)}; };
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
  f.current = [target] { return std::vector<std::string>{absl::StrCat(*target)}; };
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
  f.current = [target] { return std::vector<std::string>{absl::StrCat(*target)}; };
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
  f.current = [target] { return std::vector<std::string>{*target ? "true" : "false"}; };
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
  f.current = [target] { return std::vector<std::string>{absl::FormatDuration(*target)}; };
  Add(std::move(f));
}

void FlagSet::StringList(std::string name, std::vector<std::string>* target, std::string help) {
  Flag f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.default_text = absl::StrJoin(*target, ",");
  // The first occurrence replaces the default; later ones append.
  f.is_list = true;
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
  f.current = [target] { return *target; };
  f.restart = [replaced] { *replaced = false; };
  Add(std::move(f));
}

absl::Status FlagSet::Parse(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return Parse(args);
}

void FlagSet::ConfigFile(std::string name, std::string help) {
  Flag f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.is_config_file = true;
  // Parse() finds and reads the file before everything else (and records
  // its path); the flag's own assignment has nothing left to do. Nothing
  // here refers to the FlagSet, so a FlagSet stays safe to move.
  f.assign = [](absl::string_view) { return absl::OkStatus(); };
  f.current = [] { return std::vector<std::string>{}; };
  Add(std::move(f));
}

void FlagSet::CommandLineOnly(absl::string_view name) {
  if (Flag* f = Find(name)) f->command_line_only = true;
}

absl::Status FlagSet::ParseConfigFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read the configuration file: ", text.status().message()));
  }
  return ParseConfig(*text, path);
}

absl::Status FlagSet::ParseConfig(absl::string_view text, absl::string_view source) {
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);  // also drops the \r of CRLF files
    if (line.empty() || line[0] == '#') continue;
    auto error = [&](absl::string_view message) {
      return absl::InvalidArgumentError(absl::StrCat(source, ":", line_number, ": ", message));
    };
    absl::string_view name = line;
    absl::string_view value;
    const size_t eq = line.find('=');
    const bool has_value = eq != absl::string_view::npos;
    if (has_value) {
      name = absl::StripTrailingAsciiWhitespace(line.substr(0, eq));
      value = absl::StripLeadingAsciiWhitespace(line.substr(eq + 1));
      // Quotes keep surrounding spaces or a leading '#'.
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    }
    absl::ConsumePrefix(&name, "--");
    if (name.empty()) return error("expected `name = value`");
    Flag* flag = Find(name);
    if (flag == nullptr) {
      return error(absl::StrCat("unknown option \"", name, "\" for hisbridge ", command_, " (see hisbridge ",
                                command_, " --help)"));
    }
    if (flag->is_config_file || flag->command_line_only) {
      return error(absl::StrCat("\"", name, "\" cannot be set inside a configuration file, only on the command line"));
    }
    if (!has_value) {
      if (!flag->is_bool) return error(absl::StrCat("option \"", name, "\" needs a value: ", name, " = ..."));
      value = "true";
    }
    if (flag->from_file && !flag->is_list) {
      return error(absl::StrCat("option \"", name, "\" given twice (first at line ", flag->file_line, ")"));
    }
    absl::Status status = flag->assign(value);
    if (!status.ok()) return error(status.message());
    flag->set = true;
    flag->from_file = true;
    flag->file_line = line_number;
  }
  return absl::OkStatus();
}

std::string FlagSet::EffectiveConfig() const {
  std::string out;
  for (const Flag& f : flags_) {
    if (f.is_config_file || f.command_line_only) continue;
    std::vector<std::string> values = f.current();
    if (values.empty()) values.emplace_back();
    for (const std::string& v : values) {
      const bool quote = !v.empty() && (v != absl::StripAsciiWhitespace(v) || v[0] == '"' || v[0] == '#');
      absl::StrAppend(&out, f.name, " =", v.empty() ? "" : " ", quote ? "\"" : "", v, quote ? "\"" : "", "\n");
    }
  }
  return out;
}

absl::Status FlagSet::Parse(const std::vector<std::string>& args) {
  // The configuration file comes first so that the command line overrides
  // it; it is not read at all when help is asked for.
  std::string config_file;
  bool config_given = false;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--") break;
    if (arg == "-h" || arg == "--help") {
      config_given = false;
      break;
    }
    for (const Flag& f : flags_) {
      if (!f.is_config_file) continue;
      const std::string spelled = absl::StrCat("--", f.name);
      if (arg == spelled) {
        if (i + 1 >= args.size()) return absl::InvalidArgumentError(absl::StrCat("flag ", spelled, " needs a value"));
        config_file = args[i + 1];
        config_given = true;
      } else if (absl::StartsWith(arg, absl::StrCat(spelled, "="))) {
        config_file = std::string(arg.substr(spelled.size() + 1));
        config_given = true;
      }
    }
  }
  if (config_given) {
    if (config_file.empty()) return absl::InvalidArgumentError("the configuration file name is empty");
    config_path_ = config_file;
    HB_RETURN_IF_ERROR(ParseConfigFile(config_file));
  }

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
    if (flag->from_file) {
      // The command line overrides the file: a list starts over.
      if (flag->restart) flag->restart();
      flag->from_file = false;
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
