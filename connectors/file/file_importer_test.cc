#include "connectors/file/file_importer.h"

#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/file_util.h"
#include "libs/base/logging.h"

namespace hisbridge::connectors::file {
namespace {

using ::testing::HasSubstr;

// Accepts records until a quota runs out, then refuses the call (as an
// ingest that crashed mid-import would look to the importer).
class FakeIngest : public forward::IngestClient {
 public:
  absl::StatusOr<hisbridge::v1::SubmitResponse> Submit(const hisbridge::v1::SubmitRequest& request,
                                                       absl::Duration) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (quota_ >= 0 && static_cast<int>(records_.size()) + request.records_size() > quota_) {
      return absl::PermissionDeniedError("quota");
    }
    hisbridge::v1::SubmitResponse response;
    for (const auto& r : request.records()) {
      response.add_results()->set_outcome(hisbridge::v1::RECORD_OUTCOME_ACCEPTED);
      records_.push_back(r);
    }
    return response;
  }
  void SetQuota(int q) {
    std::lock_guard<std::mutex> lock(mu_);
    quota_ = q;
  }
  std::vector<hisbridge::v1::Record> records() {
    std::lock_guard<std::mutex> lock(mu_);
    return records_;
  }

 private:
  std::mutex mu_;
  int quota_ = -1;
  std::vector<hisbridge::v1::Record> records_;
};

std::string Testdata(const std::string& name) { return std::string(HISBRIDGE_FILE_TESTDATA) + "/" + name; }

class FileImporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::SetLevel(log::Level::kError);
    dir_ = MakeTempDirectory("file_importer_test").value();
    auto ingest = std::make_unique<FakeIngest>();
    ingest_ = ingest.get();
    forward::ForwarderOptions fo;
    fo.spool.dir = dir_ + "/spool";
    forwarder_ = forward::Forwarder::Start(fo, std::move(ingest)).value();
  }
  void TearDown() override {
    forwarder_->Stop();
    ASSERT_TRUE(RemoveRecursively(dir_).ok());
  }
  ImporterOptions Options(int batch_rows = 500) {
    ImporterOptions o;
    o.state_dir = dir_ + "/state";
    o.mapping = CsvMapping::Parse(ReadFileToString(Testdata("patients_zh.mapping")).value()).value();
    o.batch_rows = batch_rows;
    return o;
  }
  std::string dir_;
  FakeIngest* ingest_;
  std::unique_ptr<forward::Forwarder> forwarder_;
};

TEST_F(FileImporterTest, Gb18030CsvImportsWithCorrectNamesAndRejectsBadRows) {
  auto importer = FileImporter::Create(forwarder_.get(), Options());
  ASSERT_TRUE(importer.ok());
  auto report = (*importer)->ImportFile(Testdata("patients_zh_gb18030.csv"));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->encoding, "gb18030");
  EXPECT_EQ(report->rows, 6);
  EXPECT_EQ(report->sent, 4);
  EXPECT_EQ(report->rejected, 2);
  auto got = ingest_->records();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].name(), "王小明");
  EXPECT_EQ(got[0].sex(), "1");
  EXPECT_EQ(got[0].birth_date(), "1985-03-02");
  EXPECT_EQ(got[1].name(), "李桂英");
  EXPECT_EQ(got[1].address(), "阳朔县白沙镇遇龙村3组,老屋");
  EXPECT_EQ(got[2].name(), "欧阳娜娜");
  EXPECT_EQ(got[2].address(), "阳朔县兴坪镇\n渔村12号");
  EXPECT_EQ(got[3].address(), "阳朔县福利镇 \"新村\"");
  const std::string rejects = ReadFileToString(dir_ + "/state/rejects.jsonl").value();
  EXPECT_THAT(rejects, HasSubstr("\"line\":6"));
  EXPECT_THAT(rejects, HasSubstr("\"column\":\"\\\"档案号\\\" (column 1)\""));
  EXPECT_THAT(rejects, HasSubstr("\"rule\":\"required\""));
  EXPECT_THAT(rejects, HasSubstr("\"line\":7"));
  EXPECT_THAT(rejects, HasSubstr("\"field\":\"event_time\""));
  // Importing again does nothing: the state says it is done.
  auto again = (*importer)->ImportFile(Testdata("patients_zh_gb18030.csv"));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->already_done);
  EXPECT_EQ(ingest_->records().size(), 4u);
}

TEST_F(FileImporterTest, ResumesWhereTheLastDurableBatchEnded) {
  ingest_->SetQuota(2);
  {
    auto importer = FileImporter::Create(forwarder_.get(), Options(/*batch_rows=*/1));
    ASSERT_TRUE(importer.ok());
    auto report = (*importer)->ImportFile(Testdata("patients_zh.csv"));
    EXPECT_FALSE(report.ok());
    EXPECT_THAT(report.status().message(), HasSubstr("could not be stored"));
  }
  EXPECT_EQ(ingest_->records().size(), 2u);
  ingest_->SetQuota(-1);
  auto importer = FileImporter::Create(forwarder_.get(), Options(1));  // a new process, same state dir
  ASSERT_TRUE(importer.ok());
  auto report = (*importer)->ImportFile(Testdata("patients_zh.csv"));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_GT(report->resumed_at, 0);
  auto got = ingest_->records();
  ASSERT_EQ(got.size(), 4u);  // each exactly once
  EXPECT_EQ(got[0].record_id(), "DA0001");
  EXPECT_EQ(got[1].record_id(), "DA0002");
  EXPECT_EQ(got[2].record_id(), "DA0003");
  EXPECT_EQ(got[3].record_id(), "DA0006");
}

TEST_F(FileImporterTest, JsonLinesPassThroughTheSameValidation) {
  const std::string path = dir_ + "/export.jsonl";
  ASSERT_TRUE(WriteFileAtomically(
                  path,
                  "{\"kind\":\"patient\",\"facility_id\":\"F\",\"record_id\":\"R1\",\"event_time\":\"2026-03-01T08:00:00+08:00\",\"name\":\"王小明\"}\n"
                  "not json\n"
                  "{\"kind\":\"encounter\",\"facility_id\":\"F\",\"record_id\":\"R1\",\"encounter_id\":\"E1\",\"event_time\":\"2026-03-01T09:00:00+08:00\"}\n")
                  .ok());
  auto importer = FileImporter::Create(forwarder_.get(), Options());
  ASSERT_TRUE(importer.ok());
  auto report = (*importer)->ImportFile(path);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->sent, 2);
  EXPECT_EQ(report->rejected, 1);
  EXPECT_THAT(ReadFileToString(dir_ + "/state/rejects.jsonl").value(), HasSubstr("\"line\":2"));
}

TEST_F(FileImporterTest, WatchedFolderImportsAndMovesToDone) {
  const std::string drop = dir_ + "/drop";
  ASSERT_TRUE(MakeDirectories(drop).ok());
  ASSERT_TRUE(WriteFileAtomically(drop + "/a.csv", ReadFileToString(Testdata("patients_zh.csv")).value()).ok());
  auto importer = FileImporter::Create(forwarder_.get(), Options());
  ASSERT_TRUE(importer.ok());
  std::atomic<bool> stop{false};
  std::atomic<int> files{0};
  std::thread watcher([&] {
    EXPECT_TRUE((*importer)->Watch(drop, absl::Milliseconds(100), &stop, [&](const ImportReport&) { ++files; }).ok());
  });
  for (int i = 0; i < 100 && files.load() == 0; ++i) absl::SleepFor(absl::Milliseconds(50));
  stop = true;
  watcher.join();
  EXPECT_EQ(files.load(), 1);
  EXPECT_TRUE(PathExists(drop + "/done/a.csv"));
  EXPECT_FALSE(PathExists(drop + "/a.csv"));
  EXPECT_EQ(ingest_->records().size(), 4u);
}

}  // namespace
}  // namespace hisbridge::connectors::file
