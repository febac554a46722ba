#include "aws/checksums.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/strings.h"

namespace thumbflow::aws {
namespace {

TEST(Checksums, KnownDigests) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Md5("")), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(ContentMd5("hello"), "XUFAKrxLKna5cZ2REBfFkg==");
  EXPECT_EQ(Md5Hex("hello"), "5d41402abc4b2a76b9719d911017c592");
  EXPECT_EQ(HexEncode(Sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
  // RFC 4231 test case 2.
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Checksums, CrcCheckValues) {
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c("56789", Crc32c("1234")), Crc32c("123456789"));
  EXPECT_EQ(Crc32("56789", Crc32("1234")), Crc32("123456789"));
  EXPECT_EQ(Crc32c(""), 0u);
  // S3's x-amz-checksum-* values are base64 of the big-endian digest.
  EXPECT_EQ(ChecksumBase64(ChecksumAlgorithm::kCrc32, "123456789"), "y/Q5Jg==");
  EXPECT_EQ(ChecksumBase64(ChecksumAlgorithm::kCrc32c, "123456789"), "4waSgw==");
  // CRC-64/NVME's check value 0xAE8B14860A799888, and s3-tests' 1024 x 'A' as S3 answers it.
  EXPECT_EQ(Crc64Nvme("123456789"), 0xAE8B14860A799888ull);
  EXPECT_EQ(Crc64Nvme("6789", Crc64Nvme("12345")), 0xAE8B14860A799888ull);
  EXPECT_EQ(ChecksumBase64(ChecksumAlgorithm::kCrc64Nvme, std::string(1024, 'A')), "Qeh8oXvGiSo=");
  EXPECT_EQ(ChecksumBase64(ChecksumAlgorithm::kSha256, ""),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  EXPECT_EQ(ChecksumBase64(ChecksumAlgorithm::kSha1, ""), "2jmj7l5rSw0yVb/vlWAYkK/YBwk=");
}

TEST(Checksums, IncrementalEqualsOneShot) {
  for (ChecksumAlgorithm a : kChecksumAlgorithms) {
    auto c = NewChecksummer(a);
    c->Update("hello ");
    c->Update("world");
    EXPECT_EQ(c->FinishBase64(), ChecksumBase64(a, "hello world"));
    EXPECT_EQ(ChecksumAlgorithmFromHeader(ChecksumHeaderName(a)), a);
    EXPECT_EQ(Base64Decode(ChecksumBase64(a, "x"))->size(), ChecksumDigestBytes(a));
    EXPECT_EQ(ParseChecksumAlgorithm(ChecksumAlgorithmName(a)).value_or(ChecksumAlgorithm::kCrc32),
              a);
  }
  EXPECT_FALSE(ParseChecksumAlgorithm("md5").ok());
  EXPECT_EQ(ParseChecksumAlgorithm("crc32c").value_or(ChecksumAlgorithm::kCrc32),
            ChecksumAlgorithm::kCrc32c);
  Sha256Hasher h;
  h.Update("ab");
  h.Update("c");
  EXPECT_EQ(h.FinishHex(), Sha256Hex("abc"));
}

TEST(Checksums, Base64RoundTrip) {
  for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba",
                                                       "foobar", std::string("\0\xff", 2)}) {
    EXPECT_EQ(Base64Decode(Base64Encode(s)).value_or("x"), s);
  }
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_FALSE(Base64Decode("Zm9").ok());
  EXPECT_FALSE(Base64Decode("Zm=v").ok());
  EXPECT_FALSE(Base64Decode("Zm9*").ok());
}

}  // namespace
}  // namespace thumbflow::aws
