#include "export/gguf_writer.h"

#include <cmath>
#include <cstring>
#include <set>

#include "base/error.h"
#include "base/files.h"

namespace gt::exporter {

namespace {

// GGUF metadata value types.
enum : uint32_t { kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7, kString = 8, kArray = 9 };

template <class T>
void put(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}
void put_string(std::string& s, const std::string& v) {
  put<uint64_t>(s, v.size());
  s += v;
}

// One tensor's data in its GGUF type, row-major (the innermost GGUF dimension is the last torch dimension).
void write_tensor_data(std::ostream& os, const Tensor& t, GgmlType type) {
  const Tensor c = t.detach().to(Device::CPU);
  if (type == GgmlType::BF16 || type == GgmlType::F32) {
    const Tensor d = c.to(type == GgmlType::BF16 ? DType::BF16 : DType::F32).contiguous();
    os.write(static_cast<const char*>(d.raw()), static_cast<std::streamsize>(d.numel() * dtype_size(d.dtype())));
    return;
  }
  const std::vector<float> v = c.to_floats();
  std::vector<uint8_t> out(v.size() / kQ8Block * 34);
  for (size_t b = 0; b < v.size() / kQ8Block; ++b) quantize_q8_0_block(v.data() + b * kQ8Block, out.data() + b * 34);
  os.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
}

}  // namespace

uint16_t float_to_half(float x) {
  uint32_t f;
  std::memcpy(&f, &x, 4);
  const uint16_t sign = static_cast<uint16_t>((f >> 16) & 0x8000u);
  const uint32_t a = f & 0x7fffffffu;
  if (a >= 0x7f800000u) return sign | (a > 0x7f800000u ? 0x7e00 : 0x7c00);  // NaN, infinity
  if (a >= 0x477ff000u) return sign | 0x7c00;  // rounds to 65536 or more: infinity
  if (a < 0x38800000u) {  // below 2^-14: a half subnormal, in units of 2^-24
    const float q = std::nearbyint(std::fabs(x) * 0x1p24f);
    return sign | static_cast<uint16_t>(q);  // 1024 units is 2^-14, the smallest normal: the bits carry on
  }
  // Normal: drop 13 mantissa bits, rounding to nearest even; a carry moves into the exponent, as it should.
  const uint32_t rounded = a + 0xfffu + ((a >> 13) & 1u);
  return sign | static_cast<uint16_t>((rounded - (112u << 23)) >> 13);
}

void quantize_q8_0_block(const float* x, uint8_t* out) {
  float amax = 0.f;
  for (int64_t i = 0; i < kQ8Block; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float d = amax / 127.f;
  const float id = d != 0.f ? 1.f / d : 0.f;
  const uint16_t h = float_to_half(d);
  std::memcpy(out, &h, 2);
  for (int64_t i = 0; i < kQ8Block; ++i) out[2 + i] = static_cast<uint8_t>(static_cast<int8_t>(std::round(x[i] * id)));
}

uint64_t ggml_nbytes(GgmlType type, int64_t numel) {
  const auto n = static_cast<uint64_t>(numel);
  switch (type) {
    case GgmlType::F32: return n * 4;
    case GgmlType::F16:
    case GgmlType::BF16: return n * 2;
    case GgmlType::Q8_0: return n / kQ8Block * 34;
  }
  return 0;
}

void GgufWriter::key(const std::string& k, uint32_t value_type) {
  put_string(kv_, k);
  put(kv_, value_type);
  ++kv_count_;
}

void GgufWriter::add_u32(const std::string& k, uint32_t v) { key(k, kU32), put(kv_, v); }
void GgufWriter::add_f32(const std::string& k, float v) { key(k, kF32), put(kv_, v); }
void GgufWriter::add_bool(const std::string& k, bool v) { key(k, kBool), put<uint8_t>(kv_, v ? 1 : 0); }
void GgufWriter::add_string(const std::string& k, const std::string& v) { key(k, kString), put_string(kv_, v); }

void GgufWriter::add_i32_array(const std::string& k, const std::vector<int32_t>& v) {
  key(k, kArray), put(kv_, kI32), put<uint64_t>(kv_, v.size());
  for (int32_t x : v) put(kv_, x);
}
void GgufWriter::add_f32_array(const std::string& k, const std::vector<float>& v) {
  key(k, kArray), put(kv_, kF32), put<uint64_t>(kv_, v.size());
  for (float x : v) put(kv_, x);
}
void GgufWriter::add_bool_array(const std::string& k, const std::vector<bool>& v) {
  key(k, kArray), put(kv_, kBool), put<uint64_t>(kv_, v.size());
  for (bool x : v) put<uint8_t>(kv_, x ? 1 : 0);
}
void GgufWriter::add_string_array(const std::string& k, const std::vector<std::string>& v) {
  key(k, kArray), put(kv_, kString), put<uint64_t>(kv_, v.size());
  for (const std::string& x : v) put_string(kv_, x);
}

void GgufWriter::add_tensor(const std::string& name, const Tensor& t, GgmlType type) {
  GT_CHECK(type != GgmlType::Q8_0 || (t.dim() > 0 && t.shape().back() % kQ8Block == 0), "gguf: tensor '", name,
           "' ", t.str(), " cannot be Q8_0: its rows are not a multiple of ", kQ8Block);
  GT_CHECK(type != GgmlType::F16, "gguf: tensor '", name, "': F16 is not written");
  tensors_.push_back({name, t, type});
}

void GgufWriter::write(const std::string& path) const {
  std::string head = "GGUF";
  put<uint32_t>(head, 3);
  put<uint64_t>(head, tensors_.size());
  put<uint64_t>(head, kv_count_);
  head += kv_;
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const Tensor_& t : tensors_) {
    GT_CHECK(names.insert(t.name).second, path, ": duplicate tensor name '", t.name, "'");
    put_string(head, t.name);
    put<uint32_t>(head, static_cast<uint32_t>(t.data.dim()));
    for (auto d = t.data.shape().rbegin(); d != t.data.shape().rend(); ++d) put<uint64_t>(head, static_cast<uint64_t>(*d));
    put<uint32_t>(head, static_cast<uint32_t>(t.type));
    put<uint64_t>(head, offset);
    offset += (ggml_nbytes(t.type, t.data.numel()) + kGgufAlignment - 1) / kGgufAlignment * kGgufAlignment;
  }
  head.append((kGgufAlignment - head.size() % kGgufAlignment) % kGgufAlignment, '\0');
  write_file_atomically(path, [&](std::ostream& os) {
    os.write(head.data(), static_cast<std::streamsize>(head.size()));
    for (const Tensor_& t : tensors_) {
      write_tensor_data(os, t.data, t.type);
      const uint64_t n = ggml_nbytes(t.type, t.data.numel());
      const std::string pad((kGgufAlignment - n % kGgufAlignment) % kGgufAlignment, '\0');
      os.write(pad.data(), static_cast<std::streamsize>(pad.size()));
    }
  });
}

}  // namespace gt::exporter
