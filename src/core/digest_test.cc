#include "core/digest.h"

#include <gtest/gtest.h>

#include "core/strings.h"

namespace thumbflow {
namespace {

// RFC 1321 and FIPS 180 test vectors.
TEST(Digest, KnownAnswers) {
  EXPECT_EQ(Md5Hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(Md5Hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(DigestHex(DigestAlgorithm::kSha1, "abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Digest(DigestAlgorithm::kSha256, "abc").size(), 32u);
  EXPECT_EQ(HexEncode(Digest(DigestAlgorithm::kMd5, "abc")), Md5Hex("abc"));
}

TEST(Digest, HasherOverPiecesEqualsOneShot) {
  std::string body(100000, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 31 + 7);
  for (DigestAlgorithm a :
       {DigestAlgorithm::kMd5, DigestAlgorithm::kSha1, DigestAlgorithm::kSha256}) {
    DigestHasher hasher(a);
    for (size_t at = 0; at < body.size(); at += 4093) hasher.Update(body.substr(at, 4093));
    EXPECT_EQ(hasher.FinishHex(), DigestHex(a, body));
  }
}

TEST(Digest, FinishedHasherIsSpentAndRepeatsItsDigest) {
  Md5Hasher hasher;
  hasher.Update("abc");
  std::string first = hasher.FinishHex();
  hasher.Update("more");
  EXPECT_EQ(hasher.FinishHex(), first);
  EXPECT_EQ(HexEncode(hasher.Finish()), first);
  Sha256Hasher moved_from;
  moved_from.Update("abc");
  Sha256Hasher moved = std::move(moved_from);
  EXPECT_EQ(moved.FinishHex(), Sha256Hex("abc"));
}

TEST(Strings, IsHexAndIsLowerHex) {
  EXPECT_TRUE(IsHex("09afAF"));
  EXPECT_FALSE(IsHex(""));
  EXPECT_FALSE(IsHex("0g"));
  EXPECT_TRUE(IsLowerHex("09af"));
  EXPECT_FALSE(IsLowerHex("09aF"));
  EXPECT_FALSE(IsLowerHex(""));
  EXPECT_FALSE(IsLowerHex("12 4"));
}

}  // namespace
}  // namespace thumbflow
