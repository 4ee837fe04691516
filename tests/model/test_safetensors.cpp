#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <unistd.h>
#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "base/files.h"
#include "model/safetensors.h"
#include "support/expect_error.h"

using gt::testing::expect_error;
using namespace gt;
namespace fs = std::filesystem;

namespace {
std::string tmp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("gt_test_" + std::to_string(::getpid()) + "_" + name)).string();
}

// Writes a safetensors file by hand (header bytes chosen by the test), independent of save_safetensors.
void write_raw(const std::string& path, const std::string& header, const std::string& data) {
  std::ofstream os(path, std::ios::binary);
  const uint64_t n = header.size();
  os.write(reinterpret_cast<const char*>(&n), 8);
  os << header << data;
}
}  // namespace

TEST(Safetensors, RoundTripsEveryDtype) {
  const std::string p = tmp_path("rt.safetensors");
  Tensor f = Tensor::from_vector({1.5f, -2.f, 3.25f, 0.f, 7.f, -1e-3f}, {2, 3});
  Tensor b = f.to(DType::BF16);
  Tensor i = Tensor::from_ids({1, -2, 3}, {3}, DType::I32);
  Tensor l = Tensor::from_ids({int64_t{1} << 40, 5}, {2}, DType::I64);
  save_safetensors(p, {{"f", f.transpose(0, 1)}, {"b", b}, {"i", i}, {"l", l}}, {{"format", "pt"}});
  SafetensorsFile st = SafetensorsFile::open(p);
  EXPECT_EQ(st.metadata().at("format"), "pt");
  EXPECT_EQ(st.get("f").shape(), (Shape{3, 2}));
  EXPECT_EQ(st.get("f").to_floats(), f.transpose(0, 1).to_floats());
  EXPECT_EQ(st.get("b").dtype(), DType::BF16);
  EXPECT_EQ(st.get("b").to_floats(), b.to_floats());
  EXPECT_EQ(st.get("i").to_ids(), i.to_ids());
  EXPECT_EQ(st.get("l").to_ids(), l.to_ids());
  EXPECT_FALSE(st.contains("missing"));
  EXPECT_THROW(st.get("missing"), Error);
  std::remove(p.c_str());
}

TEST(Safetensors, ReadsHalfPrecision) {
  const std::string p = tmp_path("f16.safetensors");
  // 1.0 = 0x3C00, -2.5 = 0xC100, smallest subnormal 2^-24 = 0x0001, 65504 = 0x7BFF
  const uint16_t h[4] = {0x3C00, 0xC100, 0x0001, 0x7BFF};
  write_raw(p, R"({"x":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}})",
            std::string(reinterpret_cast<const char*>(h), 8));
  EXPECT_EQ(SafetensorsFile::open(p).get("x").to_floats(),
            (std::vector<float>{1.0f, -2.5f, std::ldexp(1.0f, -24), 65504.f}));
  std::remove(p.c_str());
}

// An empty tensor at an offset not aligned for its dtype (the header's length is chosen for that) takes the copying
// path with nothing to copy (found by fuzz_safetensors: memcpy into an empty tensor's null buffer is undefined).
TEST(Safetensors, ReadsAnEmptyTensorAtAnUnalignedOffset) {
  const std::string p = tmp_path("empty.safetensors");
  write_raw(p, R"({"b":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]},"e":{"dtype":"I32","shape":[0, 3],)"
               R"("data_offsets":[2,2]}})",
            std::string(2, '\0'));
  const Tensor e = SafetensorsFile::open(p).get("e");
  EXPECT_EQ(e.shape(), (Shape{0, 3}));
  EXPECT_EQ(e.dtype(), DType::I32);
  std::remove(p.c_str());
}

TEST(Safetensors, BadFilesNameTheFileAndTensor) {
  const std::string p = tmp_path("bad.safetensors");
  auto message = [&]() -> std::string {
    try {
      SafetensorsFile::open(p);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  write_raw(p, R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", std::string(8, '\0'));  // truncated
  EXPECT_NE(message().find("truncated"), std::string::npos) << message();
  EXPECT_NE(message().find("'w'"), std::string::npos) << message();
  EXPECT_NE(message().find(p), std::string::npos) << message();
  write_raw(p, R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", std::string(16, '\0'));  // size
  EXPECT_NE(message().find("'w'"), std::string::npos) << message();
  write_raw(p, R"({"w":{"dtype":"Q4","shape":[4],"data_offsets":[0,16]}})", std::string(16, '\0'));
  EXPECT_NE(message().find("unsupported dtype Q4"), std::string::npos) << message();
  write_raw(p, R"({"w": nonsense})", "");
  EXPECT_NE(message().find("safetensors header):1:8: invalid JSON"), std::string::npos) << message();
  { std::ofstream(p, std::ios::binary) << "abc"; }
  EXPECT_NE(message().find("truncated"), std::string::npos) << message();
  std::remove(p.c_str());
}

// Headers that safetensors itself refuses were read as something else (issue 19): a float in a shape truncated, two
// tensors on the same bytes, a shape whose element count wraps to the byte count.
TEST(Safetensors, RefusesMalformedShapesAndOffsets) {
  const std::string p = tmp_path("hostile.safetensors");
  auto expect = [&](const std::string& header, const std::string& part) {
    write_raw(p, header, std::string(32, '\0'));
    try {
      SafetensorsFile::open(p);
      ADD_FAILURE() << "accepted " << header;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    }
  };
  expect(R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", "tensor 'w': a dimension of the shape");
  expect(R"({"w":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", "tensor 'w': a dimension of the shape");
  expect(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0.0,16]}})", "data_offsets is not two");
  expect(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[16,0]}})", "tensor 'w' has data_offsets [16, 0]");
  expect(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
         R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
         "tensors 'a' (bytes 0-16) and 'b' (bytes 8-24) overlap");
  // 2^62 x 4 bytes wraps to 0 bytes in 64 bits.
  expect(R"({"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})", "more bytes than fit");
  expect(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", "more elements than fit");
  write_raw(p,
            R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},)"
            R"("b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
            std::string(16, '\0'));
  EXPECT_EQ(SafetensorsFile::open(p).get("b").numel(), 2);  // out of order but apart is fine
  std::remove(p.c_str());
  expect_error([] { SafetensorsFile::open(fs::temp_directory_path().string()); }, {"not a regular file"});
}

TEST(AtomicWrite, FailureLeavesThePreviousFile) {
  const std::string p = tmp_path("keep.safetensors");
  save_safetensors(p, {{"a", Tensor::ones({2})}});
  // A writer that dies halfway (as a killed process or a full disk would) must not replace the good file.
  EXPECT_THROW(write_file_atomically(p, [](std::ostream& os) {
                 os << "partial";
                 fail("simulated crash");
               }),
               Error);
  EXPECT_EQ(SafetensorsFile::open(p).get("a").to_floats(), (std::vector<float>{1, 1}));
  for (const auto& e : fs::directory_iterator(fs::path(p).parent_path()))
    EXPECT_EQ(e.path().string().find(p + ".tmp"), std::string::npos) << "temporary left behind: " << e.path();
  std::remove(p.c_str());
}
