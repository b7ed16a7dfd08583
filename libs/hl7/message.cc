#include "libs/hl7/message.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace hisbridge::hl7 {
namespace {

using charset::Encoding;

bool IsDelimiterChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7F && !std::isalnum(u);
}

// Always at least one element (absl::StrSplit yields none for a null view).
std::vector<absl::string_view> SplitOn(absl::string_view text, char delimiter) {
  if (delimiter == 0 || text.empty()) return {text};
  return absl::StrSplit(text, delimiter);
}

std::string Printable(absl::string_view text, size_t max = 24) {
  std::string out;
  for (size_t i = 0; i < text.size() && i < max; ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    if (u == '\r') {
      out += "\\r";
    } else if (u == '\n') {
      out += "\\n";
    } else if (u < 0x20 || u >= 0x7F) {
      absl::StrAppend(&out, "\\x", absl::Hex(u, absl::kZeroPad2));
    } else {
      out.push_back(static_cast<char>(u));
    }
  }
  if (text.size() > max) out += "...";
  return out;
}

Issue MakeIssue(absl::string_view segment, int field, ErrorCode code, std::string message) {
  Issue issue;
  issue.location.segment = std::string(segment);
  issue.location.sequence = 1;
  issue.location.field = field;
  issue.code = code;
  issue.message = std::move(message);
  return issue;
}

// Splits on CR, LF or CRLF; empty lines (blank separators) are dropped.
std::vector<absl::string_view> SplitSegments(absl::string_view text) {
  std::vector<absl::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '\r' || text[i] == '\n') {
      if (i > start) out.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

}  // namespace

std::string Location::ToString() const {
  std::string out = segment.empty() ? "message" : segment;
  if (sequence > 1) absl::StrAppend(&out, "[", sequence, "]");
  if (field > 0) {
    absl::StrAppend(&out, "-", field);
    if (repetition > 1) absl::StrAppend(&out, "[", repetition, "]");
    if (component > 0) absl::StrAppend(&out, ".", component);
    if (subcomponent > 0) absl::StrAppend(&out, ".", subcomponent);
  }
  return out;
}

absl::string_view ErrorCodeText(ErrorCode code) {
  switch (code) {
    case ErrorCode::kSegmentSequence: return "Segment sequence error";
    case ErrorCode::kRequiredFieldMissing: return "Required field missing";
    case ErrorCode::kDataType: return "Data type error";
    case ErrorCode::kTableValueNotFound: return "Table value not found";
    case ErrorCode::kUnsupportedMessageType: return "Unsupported message type";
    case ErrorCode::kUnsupportedEventCode: return "Unsupported event code";
    case ErrorCode::kUnsupportedProcessingId: return "Unsupported processing id";
    case ErrorCode::kUnsupportedVersionId: return "Unsupported version id";
    case ErrorCode::kUnknownKeyIdentifier: return "Unknown key identifier";
    case ErrorCode::kDuplicateKeyIdentifier: return "Duplicate key identifier";
    case ErrorCode::kApplicationRecordLocked: return "Application record locked";
    case ErrorCode::kApplicationInternalError: return "Application internal error";
  }
  return "Application internal error";
}

std::string Unescape(absl::string_view raw, const Delimiters& d, Encoding encoding) {
  if (d.escape == 0 || raw.find(d.escape) == absl::string_view::npos) return std::string(raw);
  std::string out;
  out.reserve(raw.size());
  size_t i = 0;
  while (i < raw.size()) {
    const char c = raw[i];
    if (c != d.escape) {
      out.push_back(c);
      ++i;
      continue;
    }
    const size_t end = raw.find(d.escape, i + 1);
    if (end == absl::string_view::npos) {
      absl::StrAppend(&out, raw.substr(i));  // unterminated: literal
      break;
    }
    const absl::string_view seq = raw.substr(i + 1, end - i - 1);
    bool known = true;
    if (seq == "F") {
      out.push_back(d.field);
    } else if (seq == "S") {
      out.push_back(d.component);
    } else if (seq == "T" && d.subcomponent != 0) {
      out.push_back(d.subcomponent);
    } else if (seq == "R" && d.repetition != 0) {
      out.push_back(d.repetition);
    } else if (seq == "E") {
      out.push_back(d.escape);
    } else if (seq == "P") {
      out.push_back('#');
    } else if (seq == ".br" || seq == ".sp") {
      out.push_back('\n');
    } else if (seq == "H" || seq == "N" || seq == ".fi" || seq == ".nf" || absl::StartsWith(seq, ".in") ||
               absl::StartsWith(seq, ".ti") || absl::StartsWith(seq, ".sk") || seq == ".ce" ||
               ((seq.size() == 5 && seq[0] == 'C') || (seq.size() == 7 && seq[0] == 'M'))) {
      // Highlighting, formatting and character-set switches carry no text.
    } else if (seq.size() >= 3 && seq[0] == 'X' && (seq.size() - 1) % 2 == 0) {
      std::string bytes;
      for (size_t k = 1; k + 1 < seq.size() + 1 && known; k += 2) {
        int value = 0;
        for (size_t h = k; h < k + 2; ++h) {
          const char x = seq[h];
          int digit = (x >= '0' && x <= '9') ? x - '0' : (x >= 'A' && x <= 'F') ? x - 'A' + 10
                                                      : (x >= 'a' && x <= 'f') ? x - 'a' + 10 : -1;
          if (digit < 0) {
            known = false;
            break;
          }
          value = value * 16 + digit;
        }
        bytes.push_back(static_cast<char>(value));
      }
      if (known) {
        if (charset::IsValidUtf8(bytes)) {
          out += bytes;
        } else {
          auto decoded = charset::ToUtf8(bytes, encoding);
          out += decoded.ok() ? *decoded : "\xEF\xBF\xBD";
        }
      }
    } else {
      known = false;
    }
    if (!known) {
      absl::StrAppend(&out, raw.substr(i, end - i + 1));
    }
    i = end + 1;
  }
  return out;
}

std::string Escape(absl::string_view text, const Delimiters& d) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == d.escape && d.escape != 0) {
      out += absl::StrCat(std::string(1, d.escape), "E", std::string(1, d.escape));
    } else if (c == d.field) {
      out += absl::StrCat(std::string(1, d.escape), "F", std::string(1, d.escape));
    } else if (c == d.component) {
      out += absl::StrCat(std::string(1, d.escape), "S", std::string(1, d.escape));
    } else if (c == d.repetition && d.repetition != 0) {
      out += absl::StrCat(std::string(1, d.escape), "R", std::string(1, d.escape));
    } else if (c == d.subcomponent && d.subcomponent != 0) {
      out += absl::StrCat(std::string(1, d.escape), "T", std::string(1, d.escape));
    } else if (c == '\r' || c == '\n') {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

int Segment::field_count() const {
  if (parts_.empty()) return 0;
  return is_msh_ ? static_cast<int>(parts_.size()) : static_cast<int>(parts_.size()) - 1;
}

absl::string_view Segment::Raw(int field) const {
  if (field <= 0) return {};
  if (is_msh_) {
    if (field == 1) return field_separator_;
    const size_t index = static_cast<size_t>(field - 1);
    return index < parts_.size() ? parts_[index] : absl::string_view();
  }
  const size_t index = static_cast<size_t>(field);
  return index < parts_.size() ? parts_[index] : absl::string_view();
}

std::vector<absl::string_view> Segment::Repetitions(int field) const {
  absl::string_view raw = Raw(field);
  if (raw.empty()) return {};
  // MSH-1 and MSH-2 hold the delimiters themselves.
  if (is_msh_ && field <= 2) return {raw};
  return SplitOn(raw, delimiters_.repetition);
}

std::vector<absl::string_view> Segment::RawComponents(absl::string_view repetition) const {
  return SplitOn(repetition, delimiters_.component);
}

std::vector<std::string> Segment::Components(absl::string_view repetition) const {
  std::vector<std::string> out;
  for (absl::string_view c : RawComponents(repetition)) out.push_back(UnescapeValue(c));
  return out;
}

std::vector<std::string> Segment::Subcomponents(absl::string_view component) const {
  std::vector<std::string> out;
  for (absl::string_view s : SplitOn(component, delimiters_.subcomponent)) out.push_back(UnescapeValue(s));
  return out;
}

std::string Segment::Component(int field, int component, int repetition) const {
  std::vector<absl::string_view> reps = Repetitions(field);
  if (repetition < 0 || static_cast<size_t>(repetition) >= reps.size() || component <= 0) return "";
  if (is_msh_ && field <= 2) return std::string(reps[0]);
  std::vector<absl::string_view> comps = RawComponents(reps[static_cast<size_t>(repetition)]);
  if (static_cast<size_t>(component) > comps.size()) return "";
  return UnescapeValue(comps[static_cast<size_t>(component - 1)]);
}

std::string Segment::Sub(int field, int component, int subcomponent, int repetition) const {
  std::vector<absl::string_view> reps = Repetitions(field);
  if (repetition < 0 || static_cast<size_t>(repetition) >= reps.size() || component <= 0 || subcomponent <= 0) {
    return "";
  }
  std::vector<absl::string_view> comps = RawComponents(reps[static_cast<size_t>(repetition)]);
  if (static_cast<size_t>(component) > comps.size()) return "";
  std::vector<absl::string_view> subs = SplitOn(comps[static_cast<size_t>(component - 1)], delimiters_.subcomponent);
  if (static_cast<size_t>(subcomponent) > subs.size()) return "";
  return UnescapeValue(subs[static_cast<size_t>(subcomponent - 1)]);
}

Location Segment::At(int field, int component, int repetition) const {
  Location l;
  l.segment = std::string(id_);
  l.sequence = sequence_;
  l.field = field;
  l.component = component;
  l.repetition = repetition;
  return l;
}

const Segment* Message::Find(absl::string_view id, int nth) const {
  for (const Segment& s : segments_) {
    if (s.id() == id && nth-- == 0) return &s;
  }
  return nullptr;
}

std::optional<Encoding> EncodingForCharacterSet(absl::string_view first, const std::vector<std::string>& others) {
  auto norm = [](absl::string_view v) {
    std::string n = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(v));
    n.erase(std::remove_if(n.begin(), n.end(), [](char c) { return c == ' ' || c == '_' || c == '-'; }), n.end());
    return n;
  };
  for (const std::string& other : others) {
    const std::string n = norm(other);
    if (n == "ISOIR87" || n == "ISOIR159" || n == "ISO20221994") return Encoding::kIso2022Jp;
  }
  const std::string n = norm(first);
  static const auto* const kNames = new std::map<std::string, Encoding>{
      {"ASCII", Encoding::kAscii},         {"ISOIR6", Encoding::kAscii},
      {"8859/1", Encoding::kLatin1},       {"ISOIR100", Encoding::kLatin1},
      {"UNICODEUTF8", Encoding::kUtf8},    {"UTF8", Encoding::kUtf8},
      {"GB180302000", Encoding::kGb18030}, {"GB18030", Encoding::kGb18030},
      {"GB180302005", Encoding::kGb18030}, {"GBK", Encoding::kGb18030},
      {"GB2312", Encoding::kGb18030},      {"CP936", Encoding::kGb18030},
      {"BIG5", Encoding::kBig5},           {"ISOIR87", Encoding::kIso2022Jp},
      {"ISO20221994", Encoding::kIso2022Jp},
  };
  auto it = kNames->find(n);
  if (it == kNames->end()) return std::nullopt;
  return it->second;
}

struct Parser {
  static ParseResult Run(absl::string_view bytes, const ParseOptions& options);
};

ParseResult Parser::Run(absl::string_view bytes, const ParseOptions& options) {
  ParseResult result;
  Header& header = result.header;
  auto fail = [&](Issue issue) {
    result.errors.push_back(std::move(issue));
    return std::move(result);
  };
  if (bytes.size() > options.max_bytes) {
    return fail(MakeIssue("", 0, ErrorCode::kApplicationInternalError,
                          absl::StrCat("the message has ", bytes.size(), " bytes; at most ", options.max_bytes,
                                       " are accepted")));
  }
  // Leading noise that is never content: a UTF-8 byte-order mark, MLLP
  // framing bytes left by a sender, blank lines.
  absl::string_view rest = bytes;
  absl::ConsumePrefix(&rest, "\xEF\xBB\xBF");
  while (!rest.empty() && (rest.front() == '\r' || rest.front() == '\n' || rest.front() == ' ' ||
                           rest.front() == '\t' || rest.front() == '\x0b')) {
    rest.remove_prefix(1);
  }
  while (!rest.empty() && (rest.back() == '\r' || rest.back() == '\n' || rest.back() == '\x1c' ||
                           rest.back() == ' ' || rest.back() == '\0')) {
    rest.remove_suffix(1);
  }
  if (rest.empty()) {
    return fail(MakeIssue("MSH", 0, ErrorCode::kSegmentSequence, "the message is empty"));
  }
  if (absl::StartsWith(rest, "FHS") || absl::StartsWith(rest, "BHS")) {
    return fail(MakeIssue(std::string(rest.substr(0, 3)), 0, ErrorCode::kUnsupportedMessageType,
                          "batch files (FHS/BHS) are not accepted over this channel; send one message per frame"));
  }
  if (!absl::StartsWith(rest, "MSH") || rest.size() < 5) {
    return fail(MakeIssue("MSH", 0, ErrorCode::kSegmentSequence,
                          absl::StrCat("the message must begin with an MSH segment; it begins with \"",
                                       Printable(rest), "\"")));
  }
  Delimiters& d = header.delimiters;
  d.field = rest[3];
  if (!IsDelimiterChar(d.field)) {
    return fail(MakeIssue("MSH", 1, ErrorCode::kDataType,
                          absl::StrCat("MSH-1: the field separator must be a printable ASCII symbol, got \"",
                                       Printable(rest.substr(3, 1)), "\"")));
  }
  // MSH-2 runs to the next field separator or the end of the segment.
  size_t msh2_end = 4;
  while (msh2_end < rest.size() && rest[msh2_end] != d.field && rest[msh2_end] != '\r' && rest[msh2_end] != '\n') {
    ++msh2_end;
  }
  const absl::string_view msh2 = rest.substr(4, msh2_end - 4);
  if (msh2.empty() || msh2.size() > 5) {
    return fail(MakeIssue("MSH", 2, ErrorCode::kDataType,
                          absl::StrCat("MSH-2: the encoding characters must be 1 to 5 symbols (usually \"^~\\&\"), "
                                       "got \"", Printable(msh2), "\"")));
  }
  std::string seen(1, d.field);
  for (char c : msh2) {
    if (!IsDelimiterChar(c)) {
      return fail(MakeIssue("MSH", 2, ErrorCode::kDataType,
                            absl::StrCat("MSH-2: encoding character \"", Printable(absl::string_view(&c, 1)),
                                         "\" is not a printable ASCII symbol (\"", Printable(msh2), "\")")));
    }
    if (seen.find(c) != std::string::npos) {
      return fail(MakeIssue("MSH", 2, ErrorCode::kDataType,
                            absl::StrCat("MSH-2: encoding characters \"", Printable(msh2), "\" repeat \"",
                                         std::string(1, c), "\" (MSH-1 is \"", std::string(1, d.field),
                                         "\"); each delimiter must be distinct")));
    }
    seen.push_back(c);
  }
  d.component = msh2[0];
  d.repetition = msh2.size() > 1 ? msh2[1] : 0;
  d.escape = msh2.size() > 2 ? msh2[2] : 0;
  d.subcomponent = msh2.size() > 3 ? msh2[3] : 0;

  // Read the raw MSH to find MSH-18 before decoding (see the header).
  size_t msh_end = rest.find_first_of("\r\n");
  if (msh_end == absl::string_view::npos) msh_end = rest.size();
  const std::vector<absl::string_view> raw_msh = absl::StrSplit(rest.substr(0, msh_end), d.field);
  auto raw_msh_field = [&](int n) -> absl::string_view {
    const size_t index = static_cast<size_t>(n - 1);
    return index < raw_msh.size() ? raw_msh[index] : absl::string_view();
  };
  // Best-effort header for the ACK even if decoding fails: ASCII fields.
  auto first_component = [&](absl::string_view raw) {
    absl::string_view rep = SplitOn(raw, d.repetition)[0];
    return std::string(SplitOn(rep, d.component)[0]);
  };
  header.control_id = Unescape(first_component(raw_msh_field(10)), d);
  header.version = first_component(raw_msh_field(12));
  header.processing_id = first_component(raw_msh_field(11));
  {
    std::vector<absl::string_view> type = SplitOn(SplitOn(raw_msh_field(9), d.repetition)[0], d.component);
    header.message_type = std::string(type[0]);
    if (type.size() > 1) header.trigger_event = std::string(type[1]);
    if (type.size() > 2) header.message_structure = std::string(type[2]);
  }
  std::vector<absl::string_view> charset_reps = SplitOn(raw_msh_field(18), d.repetition);
  header.character_set = std::string(absl::StripAsciiWhitespace(charset_reps[0]));
  std::vector<std::string> other_charsets;
  for (size_t i = 1; i < charset_reps.size(); ++i) other_charsets.emplace_back(charset_reps[i]);
  Encoding encoding;
  bool any_charset = !header.character_set.empty();
  for (const std::string& o : other_charsets) any_charset |= !absl::StripAsciiWhitespace(o).empty();
  if (!any_charset) {
    encoding = charset::IsValidUtf8(rest) ? Encoding::kUtf8 : options.default_encoding;
  } else {
    std::optional<Encoding> named = EncodingForCharacterSet(header.character_set, other_charsets);
    if (!named.has_value()) {
      return fail(MakeIssue("MSH", 18, ErrorCode::kTableValueNotFound,
                            absl::StrCat("MSH-18: character set \"", Printable(raw_msh_field(18), 40),
                                         "\" is not supported; use UNICODE UTF-8, GB 18030-2000, ASCII, 8859/1 "
                                         "or BIG-5")));
    }
    encoding = *named;
    // Many senders declare ASCII and send UTF-8; valid UTF-8 is unambiguous.
    if (encoding == Encoding::kAscii && charset::IsValidUtf8(rest)) encoding = Encoding::kUtf8;
  }
  auto decoded = charset::ToUtf8(rest, encoding);
  if (!decoded.ok()) {
    return fail(MakeIssue(
        "MSH", 18, ErrorCode::kDataType,
        any_charset ? absl::StrCat("MSH-18 says \"", Printable(raw_msh_field(18), 40), "\" but the message is not ",
                                   charset::EncodingName(encoding), ": ", decoded.status().message())
                    : absl::StrCat("MSH-18 is empty and the message is neither UTF-8 nor ",
                                   charset::EncodingName(encoding), ": ", decoded.status().message(),
                                   "; name the character set in MSH-18")));
  }
  header.encoding = encoding;
  header.encoding_known = true;

  Message message;
  message.text_ = std::make_unique<std::string>();
  std::string& text = *message.text_;
  // Re-join with CR so that text() is the canonical form; views point into it.
  std::vector<absl::string_view> lines = SplitSegments(*decoded);
  size_t total = 0;
  for (absl::string_view l : lines) total += l.size() + 1;
  text.reserve(total);
  std::vector<std::pair<size_t, size_t>> spans;
  for (absl::string_view l : lines) {
    spans.emplace_back(text.size(), l.size());
    text.append(l.data(), l.size());
    text.push_back('\r');
  }
  std::map<std::string, int, std::less<>> occurrences;
  const std::string field_separator(1, d.field);
  for (size_t i = 0; i < spans.size(); ++i) {
    absl::string_view line(text.data() + spans[i].first, spans[i].second);
    const size_t id_end = line.find(d.field);
    absl::string_view id = line.substr(0, id_end);
    bool valid_id = id.size() == 3;
    for (char c : id) valid_id &= (std::isupper(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)));
    if (!valid_id) {
      Issue issue = MakeIssue("", 0, ErrorCode::kSegmentSequence,
                              absl::StrCat("segment ", i + 1, " has no valid segment id (3 upper-case letters or "
                                           "digits followed by \"", field_separator, "\"): \"", Printable(line),
                                           "\""));
      return fail(std::move(issue));
    }
    if (i > 0 && id == "MSH") {
      return fail(MakeIssue("MSH", 0, ErrorCode::kSegmentSequence,
                            "a second MSH segment: send one message per MLLP frame"));
    }
    Segment segment;
    segment.id_ = id;
    segment.is_msh_ = (i == 0);
    segment.sequence_ = ++occurrences[std::string(id)];
    segment.delimiters_ = d;
    segment.encoding_ = encoding;
    segment.parts_ = absl::StrSplit(line, d.field);
    message.segments_.push_back(std::move(segment));
  }
  // field_separator_ must point into stable storage: the MSH text itself.
  Segment& msh = message.segments_.front();
  msh.field_separator_ = absl::string_view(text.data() + 3, 1);
  for (Segment& s : message.segments_) s.field_separator_ = msh.field_separator_;

  auto hd = [&](int field) {
    std::vector<absl::string_view> reps = msh.Repetitions(field);
    return reps.empty() ? std::vector<std::string>() : msh.Components(reps[0]);
  };
  header.sending_application = hd(3);
  header.sending_facility = hd(4);
  header.receiving_application = hd(5);
  header.receiving_facility = hd(6);
  header.message_time = msh.Component(7, 1);
  header.message_type = msh.Component(9, 1);
  header.trigger_event = msh.Component(9, 2);
  header.message_structure = msh.Component(9, 3);
  header.control_id = msh.Component(10, 1);
  header.processing_id = msh.Component(11, 1);
  header.version = msh.Component(12, 1);
  message.header_ = header;
  result.message = std::move(message);
  return result;
}

ParseResult Parse(absl::string_view bytes, const ParseOptions& options) { return Parser::Run(bytes, options); }

}  // namespace hisbridge::hl7
