// HL7 v2 messages in the ER7 ("pipe") encoding.
//
// Parse() takes one message as it came off the wire (no MLLP framing) and
// gives a Message: its header, its segments in order, and unescaped access
// to every field, repetition, component and sub-component. It reads the
// encoding characters from MSH-1/MSH-2 (so "MSH^~|\&" works as well as
// "MSH|^~\&"), accepts CR, LF or CRLF between segments and a UTF-8 byte-order
// mark before MSH, and decodes the whole message to UTF-8 with the
// character set named by MSH-18 before splitting it, because a GB18030 or
// Big5 trail byte can equal '|', '^', '~' or '\'.
//
// A message that cannot be processed at all (no MSH first, unusable
// encoding characters, an unknown or wrong MSH-18 character set, a segment
// without an id) is not a Message: Parse() returns the issues instead,
// each with its HL7 location and table 0357 error code, and as much of the
// header as could be read so that the sender still gets an ACK that names
// its message.
//
// Limits: MSH-18 is located by splitting the raw MSH segment on the field
// separator before decoding, so a multi-byte MSH-3..17 value whose trail
// byte equals the field separator would misplace it; such a value has never
// been seen in practice.
//
// Ownership: a Message owns its decoded text; Segments refer into it and
// are valid while the Message lives (moving a Message keeps them valid).
// Thread safety: a parsed Message is immutable and safe to share.
#ifndef HISBRIDGE_LIBS_HL7_MESSAGE_H_
#define HISBRIDGE_LIBS_HL7_MESSAGE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "libs/charset/charset.h"

namespace hisbridge::hl7 {

// The encoding characters of one message. 0 means "not defined by MSH-2"
// (old senders give only "^~\" or even "^").
struct Delimiters {
  char field = '|';
  char component = '^';
  char repetition = '~';
  char escape = '\\';
  char subcomponent = '&';
};

// Where in a message something is: "PID-3[2].1.1" in text,
// "PID^1^3^2^1^1" as an HL7 ERL. Zero means "not narrowed down".
struct Location {
  std::string segment;
  int sequence = 0;     // 1-based occurrence of the segment
  int field = 0;
  int repetition = 0;   // 1-based
  int component = 0;
  int subcomponent = 0;
  // "PID-3", "PID-3.1", "MSH-18", "OBX[2]-5".
  std::string ToString() const;
};

// HL7 table 0357 (message error condition codes).
enum class ErrorCode {
  kSegmentSequence = 100,
  kRequiredFieldMissing = 101,
  kDataType = 102,
  kTableValueNotFound = 103,
  kUnsupportedMessageType = 200,
  kUnsupportedEventCode = 201,
  kUnsupportedProcessingId = 202,
  kUnsupportedVersionId = 203,
  kUnknownKeyIdentifier = 204,
  kDuplicateKeyIdentifier = 205,
  kApplicationRecordLocked = 206,
  kApplicationInternalError = 207,
};
// "Required field missing" etc.
absl::string_view ErrorCodeText(ErrorCode code);

// One thing wrong with a message, for the ACK's ERR segment and the logs.
struct Issue {
  Location location;
  ErrorCode code = ErrorCode::kApplicationInternalError;
  // Names the field and the rule: "PID-3: no identifier of type MR, PI or PT".
  std::string message;
};

// The parts of MSH an ACK and the mapping need. Composite fields (HD) keep
// their components, unescaped.
struct Header {
  Delimiters delimiters;
  std::vector<std::string> sending_application;  // MSH-3
  std::vector<std::string> sending_facility;     // MSH-4
  std::vector<std::string> receiving_application;  // MSH-5
  std::vector<std::string> receiving_facility;     // MSH-6
  std::string message_time;       // MSH-7.1
  std::string message_type;       // MSH-9.1, e.g. "ADT"
  std::string trigger_event;      // MSH-9.2, e.g. "A04"
  std::string message_structure;  // MSH-9.3
  std::string control_id;         // MSH-10
  std::string processing_id;      // MSH-11.1
  std::string version;            // MSH-12.1
  std::string character_set;      // MSH-18 as sent (first repetition)
  // The encoding the message was decoded with.
  charset::Encoding encoding = charset::Encoding::kUtf8;
  bool encoding_known = false;
};

// Unescapes one component or sub-component value: the escapes F S T R E P
// (\F\ ...) become the delimiters, \Xhh..\ the bytes hh.. (in `encoding`), \.br\ a
// newline; highlighting (\H\ \N\) and other formatting commands are dropped;
// an unterminated or unknown sequence is kept as it is.
std::string Unescape(absl::string_view raw, const Delimiters& delimiters,
                     charset::Encoding encoding = charset::Encoding::kUtf8);
// Escapes text so it can be written as one component value.
std::string Escape(absl::string_view text, const Delimiters& delimiters);

class Segment {
 public:
  absl::string_view id() const { return id_; }
  // 1-based occurrence of this segment id in the message.
  int sequence() const { return sequence_; }
  // The highest field number present.
  int field_count() const;
  // A field's raw text (still escaped, delimiters kept); empty when absent.
  // For MSH, field 1 is the field separator and field 2 the encoding
  // characters, as the standard numbers them.
  absl::string_view Raw(int field) const;
  // The raw repetitions of a field (none when the field is empty).
  std::vector<absl::string_view> Repetitions(int field) const;
  // One component (1-based) of one repetition (0-based index), unescaped;
  // the sub-components of that component are kept joined.
  std::string Component(int field, int component, int repetition = 0) const;
  // One sub-component, unescaped.
  std::string Sub(int field, int component, int subcomponent, int repetition = 0) const;
  // The components of one raw repetition value, each unescaped (sub-
  // components joined with '&' as sent).
  std::vector<std::string> Components(absl::string_view repetition) const;
  // Splits a raw component into its unescaped sub-components.
  std::vector<std::string> Subcomponents(absl::string_view component) const;
  // The raw components of one raw repetition value.
  std::vector<absl::string_view> RawComponents(absl::string_view repetition) const;
  std::string UnescapeValue(absl::string_view raw) const { return Unescape(raw, delimiters_, encoding_); }
  Location At(int field, int component = 0, int repetition = 0) const;

 private:
  friend class Message;
  friend struct Parser;
  absl::string_view id_;
  int sequence_ = 1;
  bool is_msh_ = false;
  std::vector<absl::string_view> parts_;  // split on the field separator; parts_[0] is the id
  Delimiters delimiters_;
  charset::Encoding encoding_ = charset::Encoding::kUtf8;
  absl::string_view field_separator_;
};

class Message {
 public:
  Message(Message&&) = default;
  Message& operator=(Message&&) = default;

  const Header& header() const { return header_; }
  const std::vector<Segment>& segments() const { return segments_; }
  // The n-th (0-based) segment with this id, or null.
  const Segment* Find(absl::string_view id, int nth = 0) const;
  // The decoded UTF-8 text, segments separated by CR.
  const std::string& text() const { return *text_; }

 private:
  friend struct Parser;
  Message() = default;
  std::unique_ptr<std::string> text_;
  Header header_;
  std::vector<Segment> segments_;
};

struct ParseOptions {
  // Used when MSH-18 is empty and the bytes are not valid UTF-8 (HIS systems
  // configured for GBK rarely fill MSH-18).
  charset::Encoding default_encoding = charset::Encoding::kGb18030;
  // Longest message accepted (bytes before decoding).
  size_t max_bytes = 4 << 20;
};

struct ParseResult {
  // Set when the message could be parsed.
  std::optional<Message> message;
  // Why it could not (non-empty exactly when `message` is empty).
  std::vector<Issue> errors;
  // As much of MSH as could be read (complete when `message` is set).
  Header header;
  bool ok() const { return message.has_value(); }
};

ParseResult Parse(absl::string_view bytes, const ParseOptions& options = {});

// Maps an MSH-18 value (HL7 table 0211, plus the names Chinese HIS products
// use: "UTF-8", "GB18030", "GBK", "GB2312") to an encoding. Empty means "not
// named". "~ISO IR87" style second repetitions select ISO 2022 (Japanese).
std::optional<charset::Encoding> EncodingForCharacterSet(absl::string_view msh18_first,
                                                         const std::vector<std::string>& other_repetitions);

}  // namespace hisbridge::hl7

#endif  // HISBRIDGE_LIBS_HL7_MESSAGE_H_
