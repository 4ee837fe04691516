#pragma once
// A GGUF version 3 writer (the file format of llama.cpp; docs/export.md): the magic "GGUF", the version, the tensor
// and key counts, the metadata key/value pairs, the tensor infos (name, dimensions innermost first, ggml type,
// offset), then the tensor data, each tensor starting at a multiple of the alignment (32). Little-endian
// throughout, strings as a u64 byte count and the bytes.
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace gt::exporter {

enum class GgmlType : uint32_t { F32 = 0, F16 = 1, Q8_0 = 8, BF16 = 30 };
inline constexpr uint64_t kGgufAlignment = 32;
inline constexpr int64_t kQ8Block = 32;  // values per Q8_0 block: an f16 scale and 32 int8 (34 bytes)

// IEEE half from float, rounding to nearest even (overflow to infinity), as ggml's FP32_TO_FP16.
uint16_t float_to_half(float x);
// One Q8_0 block as ggml's reference quantizer makes it: d = absmax / 127 stored as f16, q_i = round(x_i / d)
// (halves away from zero), computed with the f32 d. Writes 34 bytes to `out`.
void quantize_q8_0_block(const float* x, uint8_t* out);
// Bytes a tensor of `numel` values takes in `type` (Q8_0: numel a multiple of 32).
uint64_t ggml_nbytes(GgmlType type, int64_t numel);

class GgufWriter {
 public:
  void add_u32(const std::string& key, uint32_t v);
  void add_f32(const std::string& key, float v);
  void add_bool(const std::string& key, bool v);
  void add_string(const std::string& key, const std::string& v);
  void add_i32_array(const std::string& key, const std::vector<int32_t>& v);
  void add_f32_array(const std::string& key, const std::vector<float>& v);
  void add_bool_array(const std::string& key, const std::vector<bool>& v);
  void add_string_array(const std::string& key, const std::vector<std::string>& v);

  // `t` (any float dtype, torch's row-major shape) stored as `type`; its GGUF dimensions are the shape reversed.
  // The data is converted when the file is written, one tensor at a time.
  void add_tensor(const std::string& name, const Tensor& t, GgmlType type);

  // Writes the file atomically (a temporary beside it, then renamed). Errors name the file.
  void write(const std::string& path) const;

 private:
  struct Tensor_ {
    std::string name;
    Tensor data;
    GgmlType type;
  };
  void key(const std::string& k, uint32_t value_type);
  std::string kv_;  // the encoded key/value pairs
  uint64_t kv_count_ = 0;
  std::vector<Tensor_> tensors_;
};

}  // namespace gt::exporter
