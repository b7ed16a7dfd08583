// hisbridge certs: a development CA, server and client certificates, a
// policy file matching them, and an at-rest key file (docs/security.md).
#include <iostream>

#include "absl/strings/str_split.h"
#include "libs/base/file_util.h"
#include "libs/records/facility_directory.h"
#include "libs/security/dev_certs.h"
#include "libs/security/key_ring.h"
#include "tools/hisbridge/commands.h"
#include "tools/hisbridge/common_flags.h"

namespace hisbridge::cli {

int CertsCommand(int argc, char** argv) {
  std::string out;
  std::vector<std::string> facilities;
  std::string facilities_file;
  std::vector<std::string> server_names;
  absl::Duration validity = absl::Hours(24 * 365);
  bool test_certs = false;
  bool keys = true;
  FlagSet flags("certs",
                "Create development certificates with OpenSSL: a CA (ca.crt), a server certificate (server.crt, "
                "SANs localhost, 127.0.0.1 and --server-name), one client certificate per facility (CN "
                "clinic:<facility>), gateway/reader/steward/admin client certificates, policy.txt naming them, and "
                "keys.conf (at-rest keys). For development and tests; production certificates come from the "
                "county's CA.");
  flags.String("out", &out, "directory to write into (created)", /*required=*/true);
  flags.StringList("facilities", &facilities, "facility ids that get a clinic certificate (comma-separated)");
  flags.String("facilities-file", &facilities_file, "also every facility of this directory CSV");
  flags.StringList("server-name", &server_names, "extra DNS names or IP addresses of the server certificate");
  flags.Duration("validity", &validity, "how long the certificates are valid");
  flags.Bool("test-certs", &test_certs, "also an expired client certificate and one from an unknown CA");
  flags.Bool("keys", &keys, "also write keys.conf, a new at-rest key file (not overwritten if present)");
  int exit_code = 0;
  if (!ParseOrExit(&flags, argc, argv, &exit_code)) return exit_code;
  if (!facilities_file.empty()) {
    // Validated by the directory's own parser; the ids are its first column.
    auto directory = records::FacilityDirectory::Load(facilities_file, "000000");
    auto text = ReadFileToString(facilities_file);
    if (!directory.ok() || !text.ok()) {
      std::cerr << "hisbridge certs: " << (directory.ok() ? text.status() : directory.status()).message() << "\n";
      return 2;
    }
    for (absl::string_view line : absl::StrSplit(*text, '\n')) {
      const absl::string_view id = line.substr(0, line.find(','));
      if (id.empty() || id[0] == '#' || id == "facility_id" || directory->Find(id) == nullptr) continue;
      facilities.emplace_back(id);
    }
  }
  security::DevCertOptions options;
  options.out_dir = out;
  options.facilities = facilities;
  options.server_names = server_names;
  options.validity = validity;
  options.test_certificates = test_certs;
  auto written = security::WriteDevCertificates(options);
  if (!written.ok()) {
    std::cerr << "hisbridge certs: " << written.status().message() << "\n";
    return 1;
  }
  if (keys && !PathExists(out + "/keys.conf")) {
    absl::Status s = security::KeyRing::Generate().Save(out + "/keys.conf");
    if (!s.ok()) {
      std::cerr << "hisbridge certs: " << s.message() << "\n";
      return 1;
    }
    written->push_back("keys.conf");
  }
  std::cout << "wrote " << written->size() << " files to " << out << ":";
  for (const std::string& f : *written) std::cout << " " << f;
  std::cout << "\n\nserve with:\n  hisbridge serve --tls-cert " << out << "/server.crt --tls-key " << out
            << "/server.key --tls-ca " << out << "/ca.crt --policy " << out << "/policy.txt"
            << (keys ? " --keys " + out + "/keys.conf" : "") << " ...\nload with:\n  hisbridge load --tls-ca " << out
            << "/ca.crt --tls-cert " << out << "/gateway.crt --tls-key " << out << "/gateway.key ...\n";
  return 0;
}

}  // namespace hisbridge::cli
