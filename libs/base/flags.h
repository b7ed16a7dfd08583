// Command-line flags for one `hisbridge` subcommand.
//
// Each subcommand declares its flags on a FlagSet bound to its own options
// struct, so `hisbridge <command> --help` lists exactly that command's flags
// with their defaults. Accepted spellings: `--name=value`, `--name value`,
// `--flag` / `--no-flag` for booleans, and `--` to end flags.
//
// A command may also read its options from a configuration file
// (ConfigFile()): `hisbridge serve --config /etc/hisbridge/hisbridge.conf`.
// The file uses the flags' own names, one `name = value` per line, `#` at
// the start of a line for comments; flags given on the command line
// override the file. EffectiveConfig() prints the options in that syntax,
// so a printed configuration can be read back unchanged.
//
//   FlagSet flags("link", "Link a JSON Lines file in batch.");
//   flags.String("input", &opts.input, "JSON Lines file to link", /*required=*/true);
//   flags.Int("threads", &opts.threads, "worker threads");
//   HB_RETURN_IF_ERROR(flags.Parse(argc, argv));
//   if (flags.help_requested()) { std::cout << flags.Usage(); return 0; }
//
// Ownership: targets are borrowed and must outlive Parse(). Not thread-safe.
#ifndef HISBRIDGE_LIBS_BASE_FLAGS_H_
#define HISBRIDGE_LIBS_BASE_FLAGS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace hisbridge {

class FlagSet {
 public:
  FlagSet(std::string command, std::string summary);

  void String(std::string name, std::string* target, std::string help, bool required = false);
  void Int(std::string name, int64_t* target, std::string help);
  void Int(std::string name, int* target, std::string help);
  void Double(std::string name, double* target, std::string help);
  void Bool(std::string name, bool* target, std::string help);
  // Accepts absl duration syntax: "250ms", "5s", "1m30s".
  void Duration(std::string name, absl::Duration* target, std::string help);
  // Comma-separated list; may also be repeated.
  void StringList(std::string name, std::vector<std::string>* target, std::string help);

  // Registers `--<name> FILE`: options are read from FILE before the
  // command line is applied, and command-line flags override them (a list
  // flag given on the command line replaces the file's items). File syntax:
  //   # a comment (only whole lines; values may contain '#')
  //   name = value          surrounding spaces are trimmed; "..." keeps them
  //   kafka-property = a=b  list flags: one line per item, or comma-separated
  //   verbose               a boolean without a value means true
  // An unknown name, a bad value or a non-list option given twice is
  // INVALID_ARGUMENT naming the file, the line and the option.
  void ConfigFile(std::string name, std::string help);

  // Marks a flag as command-line only: refused in a configuration file and
  // left out of EffectiveConfig() (e.g. --dry-run).
  void CommandLineOnly(absl::string_view name);

  // Applies configuration text as a --config file would; `source` names it
  // in errors ("source:line: ..."). Parse() calls it for the --config file.
  absl::Status ParseConfig(absl::string_view text, absl::string_view source);
  absl::Status ParseConfigFile(const std::string& path);

  // Every flag (except --help and the configuration-file flag) with its
  // current value, in configuration-file syntax, in declaration order.
  std::string EffectiveConfig() const;

  // Free text printed after the flag list in --help (examples, notes).
  void SetEpilog(std::string epilog) { epilog_ = std::move(epilog); }
  // Whether positional arguments are allowed and how they are described.
  void AllowPositional(std::string description) { positional_help_ = std::move(description); }

  // argv[0] is the subcommand name. Unknown flags, missing values, bad
  // numbers and missing required flags are INVALID_ARGUMENT naming the flag.
  // `--help`/`-h` sets help_requested() and skips required checks.
  absl::Status Parse(int argc, char** argv);
  absl::Status Parse(const std::vector<std::string>& args);

  bool help_requested() const { return help_requested_; }
  const std::vector<std::string>& positional() const { return positional_; }
  // True when the flag appeared on the command line or in the
  // configuration file.
  bool WasSet(absl::string_view name) const;
  // The configuration file given with the ConfigFile() flag ("" if none).
  const std::string& config_path() const { return config_path_; }
  std::string Usage() const;

 private:
  struct Flag {
    std::string name;
    std::string help;
    std::string default_text;
    bool is_bool = false;
    bool is_list = false;
    bool is_config_file = false;
    bool command_line_only = false;
    bool required = false;
    bool set = false;
    // Set from the configuration file; the command line may override.
    bool from_file = false;
    // Line of the file that set it (for "given twice" errors).
    int file_line = 0;
    std::function<absl::Status(absl::string_view)> assign;
    // The current value(s) as configuration-file values (one per line).
    std::function<std::vector<std::string>()> current;
    // Makes the next assign() replace the value instead of adding to it
    // (lists: the command line replaces what the file gave).
    std::function<void()> restart;
  };
  Flag* Find(absl::string_view name);
  void Add(Flag flag);

  std::string command_;
  std::string summary_;
  std::string epilog_;
  std::string positional_help_;
  std::vector<Flag> flags_;
  std::vector<std::string> positional_;
  std::string config_path_;
  bool help_requested_ = false;
};

}  // namespace hisbridge

#endif  // HISBRIDGE_LIBS_BASE_FLAGS_H_
