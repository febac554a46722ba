#include "server/s3_object_lock.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/civil_time.h"
#include "core/clock.h"
#include "core/digest.h"
#include "core/random.h"
#include "core/testing/temp_dir.h"
#include "storage/local_store.h"

namespace thumbflow::server {
namespace {

std::string Conf(std::string_view rule) {
  return "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled>" +
         std::string(rule) + "</ObjectLockConfiguration>";
}

std::string CodeOf(const Status& s) { return s.error_code(); }

TEST(ObjectLockXmlTest, ConfigurationsAsS3ValidatesThem) {
  Result<ObjectLockConfiguration> bare = ParseObjectLockConfigurationXml(Conf(""));
  ASSERT_TRUE(bare.ok());
  EXPECT_FALSE(bare->rule);
  Result<ObjectLockConfiguration> days = ParseObjectLockConfigurationXml(
      Conf("<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>3</Days></DefaultRetention>"
           "</Rule>"));
  ASSERT_TRUE(days.ok());
  EXPECT_EQ(days->rule->mode, "GOVERNANCE");
  EXPECT_EQ(days->rule->days, 3);
  // What it writes, it reads back the same.
  Result<ObjectLockConfiguration> again =
      ParseObjectLockConfigurationXml(ObjectLockConfigurationXml(*days));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->rule->days, 3);
  struct Case {
    std::string body;
    std::string code;
  };
  for (const Case& c :
       {Case{"not xml", "MalformedXML"},
        Case{"<ObjectLockConfiguration><ObjectLockEnabled>Disabled</ObjectLockEnabled>"
             "</ObjectLockConfiguration>",
             "MalformedXML"},
        Case{Conf("<Rule><DefaultRetention><Mode>governance</Mode><Days>1</Days>"
                  "</DefaultRetention></Rule>"),
             "MalformedXML"},
        Case{Conf("<Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>1</Days><Years>1</Years>"
                  "</DefaultRetention></Rule>"),
             "MalformedXML"},
        Case{Conf("<Rule><DefaultRetention><Mode>COMPLIANCE</Mode></DefaultRetention></Rule>"),
             "MalformedXML"},
        Case{Conf("<Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>x</Days>"
                  "</DefaultRetention></Rule>"),
             "MalformedXML"},
        Case{Conf("<Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>0</Days>"
                  "</DefaultRetention></Rule>"),
             "InvalidRetentionPeriod"},
        Case{Conf("<Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Years>-1</Years>"
                  "</DefaultRetention></Rule>"),
             "InvalidRetentionPeriod"},
        Case{Conf("<Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Years>101</Years>"
                  "</DefaultRetention></Rule>"),
             "InvalidRetentionPeriod"}}) {
    Result<ObjectLockConfiguration> parsed = ParseObjectLockConfigurationXml(c.body);
    ASSERT_FALSE(parsed.ok()) << c.body;
    EXPECT_EQ(CodeOf(parsed.status()), c.code) << c.body;
  }
}

TEST(ObjectLockXmlTest, RetentionAndLegalHold) {
  Result<VersionLock> retention = ParseRetentionXml(
      "<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2030-01-01T00:00:00.123456Z"
      "</RetainUntilDate></Retention>");
  ASSERT_TRUE(retention.ok());
  EXPECT_EQ(retention->mode, "COMPLIANCE");
  EXPECT_EQ(retention->retain_until_ms, UtcMillis(2030, 1, 1, 0, 0, 0) + 123);
  EXPECT_EQ(RetentionXml(*retention),
            "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>COMPLIANCE</Mode>"
            "<RetainUntilDate>2030-01-01T00:00:00.123Z</RetainUntilDate></Retention>");
  for (const char* bad :
       {"<Retention><Mode>abc</Mode><RetainUntilDate>2030-01-01T00:00:00Z</RetainUntilDate>"
        "</Retention>",
        "<Retention><Mode>GOVERNANCE</Mode></Retention>",
        "<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>soon</RetainUntilDate></Retention>"}) {
    Result<VersionLock> parsed = ParseRetentionXml(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(CodeOf(parsed.status()), "MalformedXML") << bad;
  }
  EXPECT_TRUE(*ParseLegalHoldXml("<LegalHold><Status>ON</Status></LegalHold>"));
  EXPECT_FALSE(*ParseLegalHoldXml("<LegalHold><Status>OFF</Status></LegalHold>"));
  EXPECT_EQ(CodeOf(ParseLegalHoldXml("<LegalHold><Status>on</Status></LegalHold>").status()),
            "MalformedXML");
}

TEST(VersionLockTest, ProtectsUntilItsDateUnlessBypassedOrHeld) {
  const int64_t now = UtcMillis(2026, 1, 1, 0, 0, 0);
  VersionLock gov{kLockGovernance, now + 1000};
  EXPECT_TRUE(gov.Protects(now, false));
  EXPECT_FALSE(gov.Protects(now, true));
  EXPECT_FALSE(gov.Protects(now + 1000, false));  // expired
  VersionLock comp{kLockCompliance, now + 1000};
  EXPECT_TRUE(comp.Protects(now, true));
  EXPECT_FALSE(comp.Protects(now + 1001, false));
  VersionLock held;
  held.legal_hold = true;
  EXPECT_TRUE(held.Protects(now, true));
  EXPECT_FALSE(VersionLock{}.Protects(now, false));
}

TEST(LockFromHeadersTest, HeadersOrTheBucketsDefault) {
  const int64_t now = UtcMillis(2028, 2, 29, 12, 0, 0);
  ObjectLockConfiguration years{ObjectLockRule{kLockCompliance, 0, 1}};
  HttpRequestHead none;
  Result<std::optional<VersionLock>> by_default = LockFromHeaders(none, years, now);
  ASSERT_TRUE(by_default.ok());
  ASSERT_TRUE(*by_default);
  EXPECT_EQ((*by_default)->mode, "COMPLIANCE");
  // A calendar year later (2029 has no 29 February: 1 March).
  EXPECT_EQ((*by_default)->retain_until_ms, UtcMillis(2029, 3, 1, 12, 0, 0));
  EXPECT_FALSE(*LockFromHeaders(none, std::nullopt, now));

  HttpRequestHead head;
  head.headers = {{"x-amz-object-lock-mode", "GOVERNANCE"},
                  {"x-amz-object-lock-retain-until-date", "2030-01-01T00:00:00Z"},
                  {"x-amz-object-lock-legal-hold", "ON"}};
  Result<std::optional<VersionLock>> given = LockFromHeaders(head, years, now);
  ASSERT_TRUE(given.ok());
  EXPECT_EQ((*given)->mode, "GOVERNANCE");
  EXPECT_TRUE((*given)->legal_hold);
  HeaderList out;
  AddLockHeaders(out, **given);
  EXPECT_EQ(out, (HeaderList{{"x-amz-object-lock-mode", "GOVERNANCE"},
                             {"x-amz-object-lock-retain-until-date", "2030-01-01T00:00:00.000Z"},
                             {"x-amz-object-lock-legal-hold", "ON"}}));
  EXPECT_EQ(CodeOf(LockFromHeaders(head, std::nullopt, now).status()), "InvalidRequest");

  struct Case {
    HeaderList headers;
    std::string message;
  };
  for (const Case& c :
       {Case{{{"x-amz-object-lock-mode", "GOVERNANCE"}}, "must both be supplied"},
        Case{{{"x-amz-object-lock-mode", "KEEP"},
              {"x-amz-object-lock-retain-until-date", "2030-01-01T00:00:00Z"}},
             "Unknown wormMode directive."},
        Case{{{"x-amz-object-lock-mode", "GOVERNANCE"},
              {"x-amz-object-lock-retain-until-date", "2020-01-01T00:00:00Z"}},
             "The retain until date must be in the future!"},
        Case{{{"x-amz-object-lock-legal-hold", "on"}}, "Legal Hold must be either"}}) {
    HttpRequestHead bad;
    bad.headers = c.headers;
    Result<std::optional<VersionLock>> refused = LockFromHeaders(bad, years, now);
    ASSERT_FALSE(refused.ok()) << c.message;
    EXPECT_EQ(CodeOf(refused.status()), "InvalidArgument");
    EXPECT_NE(refused.status().message().find(c.message), std::string::npos)
        << refused.status().message();
  }
}

TEST(ObjectLockStoreTest, KeepsUploadLocksPerBucketCreation) {
  const std::string root = ::testing::TempDir() + "/object-lock-" + RandomHex(6);
  ObjectLockStore store(root);
  BucketInfo bucket{"b", 1000};
  BucketInfo again{"b", 2000};  // the name made again
  VersionLock lock{kLockCompliance, 12345, true, true};
  ASSERT_TRUE(store.PutUpload(bucket, "upload-1", lock).ok());
  EXPECT_EQ(*store.GetUpload(bucket, "upload-1"), lock);
  EXPECT_FALSE(*store.GetUpload(again, "upload-1"));
  ASSERT_TRUE(store.PutUpload(bucket, "upload-1", std::nullopt).ok());
  EXPECT_FALSE(*store.GetUpload(bucket, "upload-1"));
  // A legal hold turned OFF is kept as OFF.
  VersionLock off;
  off.legal_hold_set = true;
  ASSERT_TRUE(store.PutUpload(bucket, "upload-2", off).ok());
  EXPECT_EQ(*store.GetUpload(bucket, "upload-2"), off);
  ASSERT_TRUE(store.DeleteAll("b").ok());
  EXPECT_FALSE(*store.GetUpload(bucket, "upload-2"));
  std::filesystem::remove_all(root);
}

void WriteFile(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

// A data folder laid out by the release before the store kept object locks: configuration.xml
// and versions/<sha256(key)>.<versionId> ("<mode or ->\n<until ms>\n<0|1 ON|2 OFF>\n") under
// DATA/object-lock/<bucket>@<created_ms>. Its locks move into the store, then the files go.
TEST(ObjectLockStoreTest, MoveIntoStoreTakesTheFilesOfTheEarlierRelease) {
  thumbflow::testing::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  ManualClock clock;
  auto opened = LocalObjectStore::Open(dir.path(), LocalStoreOptions{}, clock);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  LocalObjectStore& store = **opened;
  ASSERT_TRUE(store.CreateBucket("locked", "").ok());
  ASSERT_TRUE(store.PutBucketVersioning("locked", kVersioningEnabled).ok());
  const std::string key = "a/key with spaces";
  auto v1 = store.Put("locked", key, "one");
  auto v2 = store.Put("locked", key, "two");
  auto other = store.Put("locked", "other", "x");
  auto gone = store.Put("locked", "gone", "x");
  ASSERT_TRUE(v1.ok() && v2.ok() && other.ok() && gone.ok());
  ASSERT_TRUE(store.DeleteVersion("locked", "gone", gone->version_id, {}).ok());
  auto bucket = store.GetBucket("locked");
  ASSERT_TRUE(bucket.ok());

  const std::string root = dir.path() + "/object-lock";
  const std::string folder = root + "/locked@" + std::to_string(bucket->created_ms);
  WriteFile(folder + "/configuration.xml",
            "<ObjectLockConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>"
            "<Mode>GOVERNANCE</Mode><Days>2</Days></DefaultRetention></Rule>"
            "</ObjectLockConfiguration>");
  WriteFile(folder + "/versions/" + Sha256Hex(key) + "." + v1->version_id,
            "COMPLIANCE\n4000000000000\n1\n");
  WriteFile(folder + "/versions/" + Sha256Hex(key) + "." + v2->version_id, "-\n0\n2\n");
  WriteFile(folder + "/versions/" + Sha256Hex("gone") + "." + gone->version_id,
            "COMPLIANCE\n4000000000000\n0\n");
  WriteFile(folder + "/uploads/" + Sha256Hex("upload-1"), "GOVERNANCE\n4000000000000\n0\n");
  // A bucket deleted and made again since: its old folder is never read.
  WriteFile(root + "/locked@1/versions/" + Sha256Hex("other") + "." + other->version_id,
            "-\n0\n1\n");

  ObjectLockStore files(root);
  ASSERT_TRUE(files.MoveIntoStore(store).ok());
  bucket = store.GetBucket("locked");
  ASSERT_TRUE(bucket.ok());
  auto configuration = BucketConfiguration(*bucket);
  ASSERT_TRUE(configuration.ok() && *configuration);
  ASSERT_TRUE((*configuration)->rule);
  EXPECT_EQ((*configuration)->rule->mode, kLockGovernance);
  EXPECT_EQ((*configuration)->rule->days, 2);
  EXPECT_EQ(store.HeadVersion("locked", key, v1->version_id)->lock,
            (VersionLock{kLockCompliance, 4'000'000'000'000, true, true}));
  EXPECT_EQ(store.HeadVersion("locked", key, v2->version_id)->lock,
            (VersionLock{"", 0, false, true}));
  EXPECT_TRUE(store.HeadVersion("locked", "other", other->version_id)->lock.empty());
  // The store protects what the files did.
  EXPECT_EQ(store.DeleteVersion("locked", key, v1->version_id, {}).status().reason(),
            Reason::kObjectLocked);
  // The moved files are gone; the upload's lock stays where CompleteMultipartUpload reads it.
  EXPECT_FALSE(std::filesystem::exists(folder + "/configuration.xml"));
  EXPECT_FALSE(std::filesystem::exists(folder + "/versions"));
  auto upload = files.GetUpload(*bucket, "upload-1");
  ASSERT_TRUE(upload.ok() && *upload);
  EXPECT_EQ((*upload)->mode, kLockGovernance);
  // Again (the next start): nothing left to move, nothing changed.
  ASSERT_TRUE(store
                  .UpdateVersionLock("locked", key, v2->version_id,
                                     [](ObjectLock& lock) {
                                       lock.legal_hold = true;
                                       return Status::Ok();
                                     })
                  .ok());
  ASSERT_TRUE(files.MoveIntoStore(store).ok());
  EXPECT_TRUE(store.HeadVersion("locked", key, v2->version_id)->lock.legal_hold);
  // No folder at all: nothing to do.
  EXPECT_TRUE(ObjectLockStore(dir.path() + "/none").MoveIntoStore(store).ok());
}

}  // namespace
}  // namespace thumbflow::server
