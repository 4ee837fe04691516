#pragma once
// The safetensors format: an 8-byte little-endian header length, a JSON header mapping tensor names to
// {dtype, shape, data_offsets}, then the raw little-endian data. Files are memory-mapped; F32, BF16, I32 and I64
// tensors are returned as zero-copy views of the mapping (copy-on-write: writing to one never touches the file),
// F16 and F8_E4M3 (FP8 exports, model/float8.h) ones are widened to F32 on read.
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace gt {

struct MappedFile;

class SafetensorsFile {
 public:
  struct Entry {
    std::string name;
    std::string dtype;  // as written in the file: "F32", "BF16", "F16", "F8_E4M3", "I32", "I64"
    Shape shape;
    size_t begin = 0, end = 0;  // byte range inside the data section
  };

  // Maps and validates the whole header: every entry's byte range must lie inside the file and match its
  // dtype and shape. Errors name the file (and the tensor).
  static SafetensorsFile open(const std::string& path);

  const std::string& path() const { return path_; }
  const std::vector<Entry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const;
  const Entry& entry(const std::string& name) const;
  Tensor get(const std::string& name) const;

 private:
  std::string path_;
  std::shared_ptr<MappedFile> map_;
  const char* data_ = nullptr;  // start of the data section
  std::vector<Entry> entries_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// Writes tensors (any float/int dtype of ours; stored as F32, BF16, I32 or I64) in the given order, to a temporary
// name first and then renamed, so a crash never leaves a half-written file under `path`.
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// A tensor's stored form, for dtypes the autograd core has no type for (F8_E4M3): `nbytes` bytes at `data`, kept
// alive by `owner`.
struct RawTensor {
  std::string name, dtype;
  Shape shape;
  const void* data = nullptr;
  size_t nbytes = 0;
  std::shared_ptr<const void> owner;
};
RawTensor raw_tensor(const std::string& name, const Tensor& t);  // an F32, BF16, I32 or I64 tensor as stored
// The same writer for stored forms; the byte count must match the dtype and shape.
void save_safetensors(const std::string& path, const std::vector<RawTensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// IEEE half to float (exact).
float half_to_float(uint16_t h);

}  // namespace gt
