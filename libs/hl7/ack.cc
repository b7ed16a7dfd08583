#include "libs/hl7/ack.h"

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace hisbridge::hl7 {
namespace {

const Delimiters kStandard;

// Header values of a message that could not be decoded may hold any bytes;
// the ACK must still be valid text.
std::string Clean(absl::string_view value) {
  std::string out;
  size_t i = 0;
  while (i < value.size() && out.size() < 200) {
    const size_t bad = charset::FirstInvalidUtf8(value.substr(i));
    absl::StrAppend(&out, value.substr(i, bad));
    i += bad;
    if (i < value.size()) {
      out.push_back('?');
      ++i;
    }
  }
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  }
  return out;
}

std::string Field(absl::string_view value) { return Escape(Clean(value), kStandard); }

std::string Hd(const std::vector<std::string>& components) {
  std::vector<std::string> escaped;
  for (const std::string& c : components) escaped.push_back(Field(c));
  while (!escaped.empty() && escaped.back().empty()) escaped.pop_back();
  return absl::StrJoin(escaped, "^");
}

// MSH-18 of the ACK: the table 0211 name of the encoding the ACK is written
// in (not an echo: the sender's value may be a spelling only we accept).
std::string CharsetField(const Header& original) {
  if (!original.encoding_known) return "";
  switch (original.encoding) {
    case charset::Encoding::kUtf8: return original.character_set.empty() ? "" : "UNICODE UTF-8";
    case charset::Encoding::kGb18030: return "GB 18030-2000";
    case charset::Encoding::kAscii: return "ASCII";
    case charset::Encoding::kLatin1: return "8859/1";
    case charset::Encoding::kBig5: return "BIG-5";
    case charset::Encoding::kIso2022Jp: return "~ISO IR87";
  }
  return "";
}

bool BeforeV25(absl::string_view version) {
  return version == "2.1" || version == "2.2" || version == "2.3" || version == "2.3.1" || version == "2.4";
}

}  // namespace

absl::string_view AckCodeName(AckCode code) {
  switch (code) {
    case AckCode::kAccept: return "AA";
    case AckCode::kError: return "AE";
    case AckCode::kReject: return "AR";
  }
  return "AR";
}

namespace {

// How many bytes of `bytes` are HL7 delimiters (the ACK's own: | ^ ~ \ &
// and the segment terminator).
size_t DelimiterBytes(absl::string_view bytes) {
  size_t n = 0;
  for (const char c : bytes) n += (c == '|' || c == '^' || c == '~' || c == '\\' || c == '&' || c == '\r') ? 1 : 0;
  return n;
}

std::string BuildAckIn(const Header& original, const std::string& charset, AckCode code,
                       const std::vector<Issue>& issues, absl::string_view control_id, absl::Time now,
                       const AckOptions& options) {
  const std::string version = original.version.empty() ? "2.5" : Clean(original.version);
  std::string sending_app = Hd(original.receiving_application);
  if (sending_app.empty()) sending_app = Field(options.application);
  std::string sending_facility = Hd(original.receiving_facility);
  if (sending_facility.empty()) sending_facility = Field(options.facility);
  std::string ack = absl::StrCat(
      "MSH|^~\\&|", sending_app, "|", sending_facility, "|", Hd(original.sending_application), "|",
      Hd(original.sending_facility), "|", absl::FormatTime("%Y%m%d%H%M%S%z", now, options.zone), "||ACK^",
      Field(original.trigger_event), "^ACK|", Field(control_id), "|",
      original.processing_id.empty() ? "P" : Field(original.processing_id), "|", Escape(version, kStandard));
  if (!charset.empty()) absl::StrAppend(&ack, "||||||", charset);
  absl::StrAppend(&ack, "\rMSA|", AckCodeName(code), "|", Field(original.control_id));
  if (!issues.empty()) absl::StrAppend(&ack, "|", Field(issues.front().message));
  for (const Issue& issue : issues) {
    const Location& l = issue.location;
    std::string erl;
    if (!l.segment.empty()) {
      erl = absl::StrCat(Field(l.segment), "^", l.sequence > 0 ? l.sequence : 1);
      if (l.field > 0) {
        absl::StrAppend(&erl, "^", l.field, "^", l.repetition > 0 ? l.repetition : 1);
        if (l.component > 0) absl::StrAppend(&erl, "^", l.component);
        if (l.subcomponent > 0) absl::StrAppend(&erl, "^", l.subcomponent);
      }
    }
    const int numeric = static_cast<int>(issue.code);
    const std::string text = std::string(ErrorCodeText(issue.code));
    std::string err1;
    if (BeforeV25(version) && !l.segment.empty()) {
      err1 = absl::StrCat(Field(l.segment), "^", l.sequence > 0 ? l.sequence : 1, "^", l.field, "^", numeric, "&", text,
                          "&HL70357");
    }
    absl::StrAppend(&ack, "\rERR|", err1, "|", erl, "|", numeric, "^", text, "^HL70357|E||||",
                    Field(issue.message));
  }
  ack.push_back('\r');
  return ack;
}

}  // namespace

std::string BuildAck(const Header& original, AckCode code, const std::vector<Issue>& issues,
                     absl::string_view control_id, absl::Time now, const AckOptions& options) {
  if (original.encoding_known && original.encoding != charset::Encoding::kUtf8) {
    const std::string utf8 = BuildAckIn(original, CharsetField(original), code, issues, control_id, now, options);
    auto encoded = charset::FromUtf8(utf8, original.encoding);
    // GB 18030, GBK and Big5 use bytes 0x40-0x7E as second bytes, among
    // them '|', '^', '~' and '\\': a character echoed from the sender's
    // header can come out holding a byte that any reader takes for a
    // delimiter (the MSH would then have more fields than it was built
    // with, and MSH-18 would not be where it is). UTF-8 never puts ASCII
    // bytes inside a character, so the delimiters of the UTF-8 form are the
    // true ones; an encoding with more is not sent.
    if (encoded.ok() && DelimiterBytes(*encoded) == DelimiterBytes(utf8)) return *encoded;
    // A reason quoting a character the sender's set cannot hold, or such a
    // byte: answer in UTF-8 (and say so in MSH-18) rather than send an ACK
    // the sender would misread.
    return BuildAckIn(original, "UNICODE UTF-8", code, issues, control_id, now, options);
  }
  return BuildAckIn(original, CharsetField(original), code, issues, control_id, now, options);
}

absl::StatusOr<ParsedAck> ReadAck(absl::string_view bytes) {
  ParseResult parsed = Parse(bytes);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("unparseable ACK: ", parsed.errors.front().message));
  }
  const Message& m = *parsed.message;
  const Segment* msa = m.Find("MSA");
  if (msa == nullptr) return absl::InvalidArgumentError("ACK without MSA segment");
  ParsedAck ack;
  ack.code = msa->Component(1, 1);
  ack.acked_control_id = msa->Component(2, 1);
  ack.text = msa->Component(3, 1);
  for (int i = 0; const Segment* err = m.Find("ERR", i); ++i) {
    Issue issue;
    issue.location.segment = err->Component(2, 1);
    int value = 0;
    if (absl::SimpleAtoi(err->Component(2, 2), &value)) issue.location.sequence = value;
    if (absl::SimpleAtoi(err->Component(2, 3), &value)) issue.location.field = value;
    if (absl::SimpleAtoi(err->Component(2, 5), &value)) issue.location.component = value;
    if (absl::SimpleAtoi(err->Component(3, 1), &value)) issue.code = static_cast<ErrorCode>(value);
    issue.message = err->Component(8, 1);
    ack.errors.push_back(std::move(issue));
  }
  return ack;
}

}  // namespace hisbridge::hl7
