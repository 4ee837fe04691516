#include "model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/files.h"
#include "base/json_file.h"
#include "model/float8.h"

namespace gt {

struct MappedFile {
  void* addr = nullptr;
  size_t size = 0;
  ~MappedFile() {
    if (addr && size) munmap(addr, size);
  }
};

namespace {

size_t dtype_bytes(const std::string& dt) {
  if (dt == "F32" || dt == "I32") return 4;
  if (dt == "BF16" || dt == "F16") return 2;
  if (dt == "F8_E4M3") return 1;
  if (dt == "I64") return 8;
  return 0;
}

const char* file_dtype(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::BF16: return "BF16";
    case DType::I32: return "I32";
    case DType::I64: return "I64";
  }
  return "?";
}

}  // namespace

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while (!(mant & 0x400u));
      bits = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

namespace {

// A header entry, checked as the safetensors format requires: non-negative integer dimensions, integer offsets, and
// exactly as many bytes as the shape and dtype need.
SafetensorsFile::Entry read_entry(const nlohmann::json& v, const std::string& name, const std::string& path) {
  auto bad = [&](const std::string& why) { fail(path, ": tensor '", name, "': ", why, " in ", v.dump()); };
  SafetensorsFile::Entry e;
  e.name = name;
  if (!v.is_object()) bad("the header entry is not an object");
  auto dtype = v.find("dtype"), shape = v.find("shape"), off = v.find("data_offsets");
  if (dtype == v.end() || !dtype->is_string()) bad("dtype is missing or not a string");
  e.dtype = dtype->get<std::string>();
  const size_t eb = dtype_bytes(e.dtype);
  GT_CHECK(eb, path, ": tensor '", name, "' has unsupported dtype ", e.dtype);
  if (shape == v.end() || !shape->is_array()) bad("shape is missing or not an array");
  for (const auto& d : *shape) {
    if (!d.is_number_unsigned() || d.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      bad("a dimension of the shape is not an integer from 0 to 2^63-1");
    e.shape.push_back(d.get<int64_t>());
  }
  if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
      !(*off)[1].is_number_unsigned())
    bad("data_offsets is not two non-negative integers");
  e.begin = (*off)[0].get<uint64_t>();
  e.end = (*off)[1].get<uint64_t>();
  int64_t numel = 1;
  uint64_t bytes = 0;
  for (int64_t d : e.shape)
    if (__builtin_mul_overflow(numel, d, &numel)) bad("the shape has more elements than fit in 64 bits");
  if (__builtin_mul_overflow(static_cast<uint64_t>(numel), eb, &bytes))
    bad("the shape has more bytes than fit in 64 bits");
  GT_CHECK(e.begin <= e.end && e.end - e.begin == bytes, path, ": tensor '", name, "' has data_offsets [", e.begin,
           ", ", e.end, "] for ", bytes, " bytes of ", e.dtype, shape_str(e.shape));
  return e;
}

// Two tensors may not share bytes: an update in place of one (see open) would change the other.
void check_no_overlap(std::vector<SafetensorsFile::Entry> entries, const std::string& path) {
  std::erase_if(entries, [](const auto& e) { return e.begin == e.end; });
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < entries.size(); ++i) {
    const auto &a = entries[i - 1], &b = entries[i];
    GT_CHECK(b.begin >= a.end, path, ": tensors '", a.name, "' (bytes ", a.begin, "-", a.end, ") and '", b.name,
             "' (bytes ", b.begin, "-", b.end, ") overlap");
  }
}

}  // namespace

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile f;
  f.path_ = path;
  const int fd = ::open(path.c_str(), O_RDONLY);
  GT_CHECK(fd >= 0, path, ": cannot open (", std::strerror(errno), ")");
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, ": not a regular file");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  auto map = std::make_shared<MappedFile>();
  if (size > 0) {
    // Private and writable: parameters that are views of the file can be updated in place (an optimizer step);
    // a written page becomes this process's copy and the file never changes. NORESERVE keeps a large checkpoint
    // from being charged as private memory up front.
    map->addr = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
    if (map->addr == MAP_FAILED) map->addr = nullptr;
  }
  ::close(fd);
  GT_CHECK(map->addr, path, ": cannot memory-map (", size, " bytes)");
  map->size = size;
  f.map_ = map;
  const char* base = static_cast<const char*>(map->addr);
  GT_CHECK(size >= 8, path, ": truncated safetensors file (", size, " bytes, no header length)");
  uint64_t header_len = 0;
  std::memcpy(&header_len, base, 8);
  GT_CHECK(header_len <= size - 8, path, ": truncated safetensors file (header of ", header_len,
           " bytes does not fit in ", size, ")");
  const nlohmann::json header =
      parse_json(std::string_view(base + 8, header_len), path + " (safetensors header)");
  GT_CHECK(header.is_object(), path, ": safetensors header is not a JSON object");
  f.data_ = base + 8 + header_len;
  const size_t data_size = size - 8 - header_len;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      GT_CHECK(it->is_object(), path, ": __metadata__ is not a JSON object");
      for (auto m = it->begin(); m != it->end(); ++m)
        if (m->is_string()) f.metadata_[m.key()] = m->get<std::string>();
      continue;
    }
    Entry e = read_entry(*it, it.key(), path);
    GT_CHECK(e.end <= data_size, path, ": truncated file: tensor '", e.name, "' ends at byte ", e.end,
             " of a data section of ", data_size, " bytes");
    f.index_[e.name] = f.entries_.size();
    f.entries_.push_back(std::move(e));
  }
  check_no_overlap(f.entries_, path);
  return f;
}

bool SafetensorsFile::contains(const std::string& name) const { return index_.count(name) > 0; }

const SafetensorsFile::Entry& SafetensorsFile::entry(const std::string& name) const {
  auto it = index_.find(name);
  GT_CHECK(it != index_.end(), path_, ": no tensor named '", name, "'");
  return entries_[it->second];
}

Tensor SafetensorsFile::get(const std::string& name) const {
  const Entry& e = entry(name);
  const char* p = data_ + e.begin;
  if (e.dtype == "F16") {
    Tensor t = Tensor::empty(e.shape);
    float* out = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      out[i] = half_to_float(h);
    }
    return t;
  }
  if (e.dtype == "F8_E4M3") {
    Tensor t = Tensor::empty(e.shape);
    float* out = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) out[i] = e4m3_to_float(static_cast<uint8_t>(p[i]));
    return t;
  }
  const DType dt = e.dtype == "F32" ? DType::F32 : e.dtype == "BF16" ? DType::BF16 : e.dtype == "I32" ? DType::I32
                                                                                                    : DType::I64;
  // Zero-copy when the data is aligned for its type (it is in files written by safetensors); copy otherwise.
  if (reinterpret_cast<uintptr_t>(p) % dtype_size(dt) == 0)
    return Tensor::from_blob(const_cast<char*>(p), e.shape, dt, map_);
  Tensor t = Tensor::empty(e.shape, dt);
  if (e.end > e.begin) std::memcpy(t.raw(), p, e.end - e.begin);  // an empty tensor has no buffer to copy into
  return t;
}

RawTensor raw_tensor(const std::string& name, const Tensor& t) {
  Tensor c = t.detach().contiguous();
  if (c.device() != Device::CPU) c = c.to(Device::CPU);
  const size_t nbytes = static_cast<size_t>(c.numel()) * dtype_size(c.dtype());
  auto owner = std::make_shared<Tensor>(c);
  return {name, file_dtype(c.dtype()), c.shape(), c.raw(), nbytes, std::shared_ptr<const void>(owner, owner.get())};
}

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::vector<RawTensor> raw;
  raw.reserve(tensors.size());
  for (const auto& [name, t] : tensors) raw.push_back(raw_tensor(name, t));
  save_safetensors(path, raw, metadata);
}

void save_safetensors(const std::string& path, const std::vector<RawTensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header;
  if (!metadata.empty()) header["__metadata__"] = metadata;
  size_t offset = 0;
  for (const RawTensor& t : tensors) {
    GT_CHECK(!header.contains(t.name), "save_safetensors(", path, "): duplicate tensor name '", t.name, "'");
    const size_t eb = dtype_bytes(t.dtype);
    GT_CHECK(eb && t.nbytes == static_cast<size_t>(shape_numel(t.shape)) * eb, "save_safetensors(", path,
             "): tensor '", t.name, "' has ", t.nbytes, " bytes for ", t.dtype, shape_str(t.shape));
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.nbytes}}};
    offset += t.nbytes;
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // keeps the data section 8-byte aligned
  write_file_atomically(path, [&](std::ostream& os) {
    const uint64_t len = h.size();
    os.write(reinterpret_cast<const char*>(&len), 8);
    os.write(h.data(), static_cast<std::streamsize>(h.size()));
    for (const RawTensor& t : tensors)
      os.write(static_cast<const char*>(t.data), static_cast<std::streamsize>(t.nbytes));
  });
}

}  // namespace gt
